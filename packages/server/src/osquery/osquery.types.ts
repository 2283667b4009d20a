import type { CarveReceiver } from '../services/carves/carve.types.js';
import type { DistributedService } from '../services/distributed.service.js';
import type { EnrollmentService } from '../services/enrollment.service.js';
import type { HostCache, HostState } from '../services/host-cache.js';
import type { LogIngestService } from '../services/log-ingest.service.js';
import type { OsqueryConfigService } from '../services/osquery-config.service.js';

/** What the osquery surface needs; app.ts wires it. */
export interface OsqueryServices {
  cache: HostCache;
  enrollment: EnrollmentService;
  config: OsqueryConfigService;
  logs: LogIngestService;
  distributed: DistributedService;
  carves: CarveReceiver;
  /** Host for a verified client certificate when osquery runs with --disable_enrollment. */
  certificateHost(identity: string, remoteIp: string): Promise<HostState | undefined>;
  enrollSecretKey: string;
  limits: { logBody: number; distributedWriteBody: number; otherBody: number; carveMaxBlockSize: number };
  now(): number;
}
