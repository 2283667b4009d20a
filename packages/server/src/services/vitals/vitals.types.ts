import type { DistributedResult } from '@mimir/osquery-protocol';
import type { Repositories } from '../../storage/store.js';
import type { HostState } from '../host-cache.js';

/** Query names of host-vitals (detail) queries start with this prefix. */
export const VITALS_PREFIX = 'mimir_detail_';

/**
 * Host vitals ("detail queries", Fleet §1.16) ride on distributed reads: the distributed service
 * asks which are due and hands back their results.
 */
export interface VitalsSource {
  /** Detail queries due for this host now (name → SQL), or undefined when none are due. */
  dueQueries(host: HostState, now: number): Record<string, string> | undefined;
  /** Store the answers to detail queries (names starting with VITALS_PREFIX) in the caller's transaction. */
  ingest(tx: Repositories, host: HostState, results: readonly DistributedResult[], now: number): Promise<void>;
}
