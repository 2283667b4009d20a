/**
 * Per-endpoint request counters and latency histograms for a simulated fleet, kept twice: for the
 * current summary interval (reset at each snapshot) and for the whole run.
 */
import { OSQUERY_ENDPOINTS } from '@mimir/osquery-protocol';
import { Histogram, type HistogramData } from './histogram.js';

export const ENDPOINTS = ['enroll', 'config', 'distributed/read', 'distributed/write', 'log', 'carve/begin', 'carve/block', 'other'] as const;
export type EndpointName = (typeof ENDPOINTS)[number];

const BY_PATH = new Map<string, EndpointName>([
  [OSQUERY_ENDPOINTS.enroll, 'enroll'],
  [OSQUERY_ENDPOINTS.config, 'config'],
  [OSQUERY_ENDPOINTS.distributedRead, 'distributed/read'],
  [OSQUERY_ENDPOINTS.distributedWrite, 'distributed/write'],
  [OSQUERY_ENDPOINTS.log, 'log'],
  [OSQUERY_ENDPOINTS.carveBegin, 'carve/begin'],
  [OSQUERY_ENDPOINTS.carveBlock, 'carve/block'],
]);

/** Which endpoint a request path (possibly with a query string) belongs to. */
export function endpointOf(path: string): EndpointName {
  const q = path.indexOf('?');
  return BY_PATH.get(q < 0 ? path : path.slice(0, q)) ?? 'other';
}

/**
 * ok: an HTTP response below 400. error: a response ≥ 400 (osquery ignores status codes, but Mimir
 * sets them, so they are the honest error signal). transport: no response at all (refused, reset,
 * the 16 s timeout).
 */
export type RequestOutcome = 'ok' | 'error' | 'transport';

/** `detail` describes a failure: `HTTP <status> <start of body>` or the transport error. */
export type RequestObserver = (endpoint: EndpointName, ms: number, outcome: RequestOutcome, detail?: string) => void;

export class EndpointStats {
  requests = 0;
  errors = 0;
  transport = 0;
  readonly latency = new Histogram();

  record(ms: number, outcome: RequestOutcome): void {
    this.requests++;
    if (outcome === 'error') this.errors++;
    else if (outcome === 'transport') this.transport++;
    // A transport failure's time is the timeout or the reset, not a server answer.
    if (outcome !== 'transport') this.latency.record(ms);
  }

  toJSON(): EndpointData {
    return { requests: this.requests, errors: this.errors, transport: this.transport, latency: this.latency.toJSON() };
  }
}

export interface EndpointData {
  requests: number;
  errors: number;
  transport: number;
  latency: HistogramData;
}

export type EndpointTable = Record<EndpointName, EndpointStats>;

export function newEndpointTable(): EndpointTable {
  const t: Partial<EndpointTable> = {};
  for (const e of ENDPOINTS) t[e] = new EndpointStats();
  return t as EndpointTable;
}

export function endpointTableData(t: EndpointTable): Record<EndpointName, EndpointData> {
  const out: Partial<Record<EndpointName, EndpointData>> = {};
  for (const e of ENDPOINTS) out[e] = t[e].toJSON();
  return out as Record<EndpointName, EndpointData>;
}

/** Two tables (interval, total) updated together. */
export class RequestStats {
  interval = newEndpointTable();
  readonly total = newEndpointTable();

  /** The last failure per endpoint in the current interval (what went wrong, not just how often). */
  lastErrors = new Map<EndpointName, string>();

  readonly observe: RequestObserver = (endpoint, ms, outcome, detail) => {
    this.interval[endpoint].record(ms, outcome);
    this.total[endpoint].record(ms, outcome);
    if (outcome !== 'ok' && detail !== undefined) this.lastErrors.set(endpoint, detail);
  };

  /** The finished interval (and its last errors); a fresh one starts. */
  rotate(): { table: EndpointTable; lastErrors: Map<EndpointName, string> } {
    const done = { table: this.interval, lastErrors: this.lastErrors };
    this.interval = newEndpointTable();
    this.lastErrors = new Map();
    return done;
  }
}
