/**
 * Deterministic cohorts and the serving decision (seed 000 "What deterministic cohort assignment
 * means here"). Pure functions: the same inputs always give the same answer.
 */
import { createHash } from 'node:crypto';

/**
 * A host's cohort number 0–99 for one version: the first 4 bytes of SHA-256(`<hostId>:<version>`)
 * as an unsigned big-endian integer, mod 100. The version is part of the input, so a host in the
 * "fast 5%" of one version lands elsewhere for the next (seed 000). (2^32 mod 100 = 96, so the
 * bias of mod is below 3e-8 per number.)
 */
export function cohortOf(hostId: number, version: string): number {
  const h = createHash('sha256').update(`${hostId}:${version}`, 'utf8').digest();
  return h.readUInt32BE(0) % 100;
}

/**
 * In the cohort when the number is below the rollout: raising the rollout keeps everyone already
 * in (a threshold only grows), 0 keeps everyone out, 100 takes everyone.
 */
export function inCohort(hostId: number, version: string, rollout: number): boolean {
  return rollout > 0 && cohortOf(hostId, version) < rollout;
}

export interface ServingCandidate {
  version: string;
  rollout: number;
  /** When the row was (last) approved, ms. */
  approvedAt: number;
}

/**
 * What a host is told for one (kind, os, arch): the most recently approved row that is not paused
 * and whose cohort includes the host (seed 000 "The server then serves whichever approved,
 * non-paused row was approved most recently for that (os, arch), and each agent's cohort decides
 * whether it qualifies"); undefined = stay where you are.
 *
 * `rows` are the approved rows, most recently approved first. `currentApprovedAt` is when the
 * version the host runs was last approved for this platform (deleted rows included), or undefined
 * when it never was. Rows approved before that are older than what the host runs: the walk stops
 * there, so pausing, lowering or deleting a row never sends a host back ("Mimir doesn't push
 * downgrades"); an older version is served again only after an admin approves it anew (the
 * rollback path), which makes it the most recent approval.
 */
export function chooseTarget<T extends ServingCandidate>(rows: readonly T[], hostId: number, currentApprovedAt: number | undefined): T | undefined {
  for (const r of rows) {
    if (currentApprovedAt !== undefined && r.approvedAt < currentApprovedAt) return undefined;
    if (inCohort(hostId, r.version, r.rollout)) return r;
  }
  return undefined;
}
