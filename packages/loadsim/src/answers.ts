/**
 * How simulated hosts answer distributed queries: each query is classified (detail, label, live)
 * by its name, then failed or emptied at the configured rates (osquery-perf's live-query failure and
 * no-result probabilities, 0.0 / 0.2 by default). The draw is a hash of (host, query name), not a
 * random number: a host answers a given query the same way every time (a label stays a member, a
 * re-sent read gets the same answer) and runs are reproducible, while across a fleet the fractions
 * match the rates.
 */

export type QueryKind = 'detail' | 'label' | 'live';

export interface AnswerRate {
  /** Probability of status 1 with an error message. */
  fail: number;
  /** Probability of status 0 with no rows. */
  empty: number;
}

export interface AnswerRates {
  detail: AnswerRate;
  label: AnswerRate;
  live: AnswerRate;
}

export const DEFAULT_ANSWER_RATES: AnswerRates = {
  detail: { fail: 0, empty: 0 },
  // Half the hosts "match" a label query, like a typical platform or software label.
  label: { fail: 0, empty: 0.5 },
  live: { fail: 0, empty: 0.2 },
};

export interface QueryPrefixes {
  /** Mimir's vitals queries (services/vitals/vitals.types.ts VITALS_PREFIX). */
  detail: string;
  label: string;
}

export const DEFAULT_QUERY_PREFIXES: QueryPrefixes = { detail: 'mimir_detail_', label: 'mimir_label_' };

export function classifyQuery(name: string, prefixes: QueryPrefixes = DEFAULT_QUERY_PREFIXES): QueryKind {
  if (name.startsWith(prefixes.detail)) return 'detail';
  if (name.startsWith(prefixes.label)) return 'label';
  return 'live';
}

/** FNV-1a over UTF-16 code units, then a murmur3 finalizer: a uniform value in [0, 1). */
export function unitHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

export type AnswerDecision = 'fail' | 'empty' | 'answer';

/** The fate of query `name` on host `hostSeed`. */
export function decideAnswer(hostSeed: string, name: string, rate: AnswerRate): AnswerDecision {
  if (rate.fail <= 0 && rate.empty <= 0) return 'answer';
  const u = unitHash(`${hostSeed}\u0000${name}`);
  if (u < rate.fail) return 'fail';
  if (u < rate.fail + rate.empty) return 'empty';
  return 'answer';
}

/** Reject rates outside [0, 1] or summing past 1. */
export function validateRate(what: string, rate: AnswerRate): string | undefined {
  for (const [k, v] of [['fail', rate.fail], ['empty', rate.empty]] as const) {
    if (!Number.isFinite(v) || v < 0 || v > 1) return `${what} ${k} rate must be between 0 and 1 (got ${v})`;
  }
  if (rate.fail + rate.empty > 1) return `${what} fail + empty rates exceed 1`;
  return undefined;
}
