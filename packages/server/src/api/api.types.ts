import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AuthService, Principal } from '../auth/auth.service.js';
import type { Permission } from '../auth/permissions.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Logger } from '../logger.js';
import type { AuditService } from '../services/audit.service.js';
import type { CarveService } from '../services/carves/carve.service.js';
import type { ServiceHub } from '../services/contracts.js';
import type { DistributedService } from '../services/distributed.service.js';
import type { SecretResolver } from '../services/enroll-secrets.js';
import type { HostCache } from '../services/host-cache.js';
import type { OsqueryConfigService } from '../services/osquery-config.service.js';
import type { Store } from '../storage/store.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the caller must be allowed to do; `public` needs no sign-in, `authenticated` any role. */
    permission?: Permission | 'public' | 'authenticated';
    /** Audit action recorded after a successful request, e.g. `user.create`. */
    audit?: string;
    /** Audit target type (the `:id` param, or `req.auditTargetId`, is the target id). */
    auditTarget?: string;
  }
  interface FastifyRequest {
    principal: Principal | undefined;
    /** Extra audit details a handler wants recorded. */
    auditDetails: unknown;
    auditTargetId: string | number | undefined;
    /** Client address captured when the request arrived: after the reply the socket may be gone. */
    clientIp: string;
    /** The audit entry was written (once per request, before the response is sent). */
    auditRecorded: boolean;
  }
}

/** The Fastify instance operator routes are declared on (TypeBox types from route schemas). */
export type ApiApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/** Services every operator area can use; areas publish extra ones on `hub`. */
export interface CoreServices {
  store: Store;
  auth: AuthService;
  audit: AuditService;
  cache: HostCache;
  distributed: DistributedService;
  osqueryConfig: OsqueryConfigService;
  secrets: SecretResolver;
  carves: CarveService;
  hub: ServiceHub;
  log: Logger;
  now(): number;
  /** Scale-out bus and leader (issue #10); absent in tests that build services by hand. */
  cluster?: Cluster | undefined;
  /** Server settings the API reports or needs. */
  settings: {
    dataDir: string;
    /** Seconds. */
    distributedInterval: number;
    configRefresh: number;
    onlineBuffer: number;
    /** Live query history retention (days). */
    liveQueryHistoryDays: number;
    /** Rows stored per live query (MIMIR_LIVE_QUERY_MAX_ROWS). */
    liveQueryMaxRows: number;
    /** MIMIR_UPDATE_PUBLIC_KEYS: Ed25519 keys trusted for update manifests (PEM paths, or raw keys in hex/base64). */
    updatePublicKeys: readonly string[];
  };
}
