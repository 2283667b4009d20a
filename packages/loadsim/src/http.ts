/**
 * The stand-in's osquery HTTP client, timed per endpoint, in two connection layouts:
 *
 * - `TimedHttpClient`: one kept-alive TLS connection per host, exactly as osqueryd.
 * - `PooledHttpClient`: every host shares a pool of kept-alive connections. The bytes of each request
 *   are the same (same client code, same node key per request); only the socket is shared. This
 *   exists because one process may hold 20 000 file descriptors here (`ulimit -Hn`), so neither the
 *   simulator nor the server can hold 50 000 connections; it also keeps TLS handshakes out of runs
 *   that measure request handling.
 */
import {
  OsqueryHttpClient, type OsqueryHttpClientOptions, type OsqueryHttpRequest, type OsqueryHttpResponse,
} from '@mimir/osquery-protocol/standin';
import { endpointOf, type RequestObserver } from './stats.js';

/** HTTP statuses at or above this count as errors in the statistics. */
const ERROR_STATUS = 400;

function describeFailure(res: OsqueryHttpResponse): string | undefined {
  if (res.status < ERROR_STATUS) return undefined;
  return `HTTP ${res.status} ${res.body.toString('utf8', 0, Math.min(res.body.length, 160))}`;
}

function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** One host's own connection, with every request timed. */
export class TimedHttpClient extends OsqueryHttpClient {
  constructor(options: OsqueryHttpClientOptions, private readonly observe: RequestObserver) {
    super(options);
  }

  override async request(req: OsqueryHttpRequest): Promise<OsqueryHttpResponse> {
    const endpoint = endpointOf(req.path);
    const started = performance.now();
    try {
      const res = await super.request(req);
      this.observe(endpoint, performance.now() - started, res.status >= ERROR_STATUS ? 'error' : 'ok', describeFailure(res));
      return res;
    } catch (e) {
      this.observe(endpoint, performance.now() - started, 'transport', describeError(e));
      throw e;
    }
  }
}

/** A FIFO of waiters without Array#shift's O(n) cost. */
class WaitQueue<T> {
  private items: Array<((v: T) => void) | undefined> = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(fn: (v: T) => void): void {
    this.items.push(fn);
  }

  shift(): ((v: T) => void) | undefined {
    if (this.head >= this.items.length) return undefined;
    const fn = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return fn;
  }
}

/**
 * Hosts share `size` kept-alive connections. A request waits for an idle connection (FIFO); its
 * latency is timed from the moment it is written, so queueing inside the simulator is not blamed on
 * the server (the wait is reported separately as `queueMs`).
 */
export class PooledHttpClient extends OsqueryHttpClient {
  private readonly idle: OsqueryHttpClient[] = [];
  private readonly all: OsqueryHttpClient[] = [];
  private readonly waiting = new WaitQueue<OsqueryHttpClient>();
  private closedPool = false;
  /** Total time requests spent waiting for a connection, in ms (for the simulator's own health). */
  queueMs = 0;

  constructor(options: OsqueryHttpClientOptions, size: number, private readonly observe: RequestObserver) {
    super(options);
    const n = Math.max(1, Math.floor(size));
    for (let i = 0; i < n; i++) {
      const c = new OsqueryHttpClient(options);
      this.all.push(c);
      this.idle.push(c);
    }
  }

  get size(): number {
    return this.all.length;
  }

  get waiters(): number {
    return this.waiting.length;
  }

  private acquire(): Promise<OsqueryHttpClient> | OsqueryHttpClient {
    const c = this.idle.pop();
    if (c !== undefined) return c;
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(c: OsqueryHttpClient): void {
    const next = this.waiting.shift();
    if (next !== undefined) next(c);
    else this.idle.push(c);
  }

  override async request(req: OsqueryHttpRequest): Promise<OsqueryHttpResponse> {
    const endpoint = endpointOf(req.path);
    const queued = performance.now();
    const c = await this.acquire();
    const started = performance.now();
    this.queueMs += started - queued;
    try {
      if (this.closedPool) throw new Error('connection pool closed');
      const res = await c.request(req);
      this.observe(endpoint, performance.now() - started, res.status >= ERROR_STATUS ? 'error' : 'ok', describeFailure(res));
      return res;
    } catch (e) {
      this.observe(endpoint, performance.now() - started, 'transport', describeError(e));
      throw e;
    } finally {
      this.release(c);
    }
  }

  override close(): void {
    this.closedPool = true;
    for (const c of this.all) c.close();
    super.close();
    // Wake every waiter: each sees the pool closed and fails instead of hanging a host task.
    const any = this.all[0];
    if (any !== undefined) for (let w = this.waiting.shift(); w !== undefined; w = this.waiting.shift()) w(any);
  }
}
