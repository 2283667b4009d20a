/** Messages between the benchmark and its child processes (server under test, bare server). */

export interface ChildRequest {
  id: number;
  cmd: 'usage' | 'gc' | 'enqueue' | 'watch' | 'watch-status' | 'token' | 'counts' | 'profile-start' | 'profile-stop' | 'stop';
  args?: unknown;
}

export type ChildResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export interface ServerReady {
  type: 'ready';
  port: number;
  pid: number;
  /** PEM CA the clients pin. */
  ca: string;
  secret: string;
  /** The server's certificate and key (the bare server serves the same pair, for a fair handshake). */
  cert: string;
  key: string;
}

export interface Usage {
  at: number;
  cpu: NodeJS.CpuUsage;
  memory: NodeJS.MemoryUsage;
  /** Event-loop utilization since the previous `usage` call (0–1). */
  elu: number;
  /** Event-loop delay since the previous `usage` call (server under test only). */
  loopDelay?: { p99Ms: number; maxMs: number };
  /** Cumulative time the event-loop thread waited for a CPU (Linux schedstat), ms. */
  runQueueWaitMs?: number;
  /** Synchronous SQLite calls and GC pauses ≥ 20 ms since the previous `usage` (when tracing). */
  stalls?: Array<{ what: string; count: number; totalMs: number; maxMs: number }>;
  /**
   * Server-side time per osquery request since the previous `usage` (when tracing), by endpoint:
   * from the request's arrival to its last byte handed to the socket. Against the simulator's own
   * figures it tells whether latency was spent in the server or on the way.
   */
  serverLatency?: Record<string, { count: number; p50Ms: number; p99Ms: number }>;
  cachedHosts: number;
}
