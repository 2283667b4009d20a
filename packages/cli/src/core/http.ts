/**
 * The operator API client: `node:https` with an optional pinned CA (Mimir generates its own CA, so
 * a fresh install is never trusted by Node's default roots), bearer-token auth, JSON in and out,
 * Server-Sent Events and multipart uploads. No `fetch`: undici cannot take a CA without a custom
 * dispatcher, and node:https can.
 */
import { createReadStream, statSync } from 'node:fs';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiError, CliError, EXIT, UsageError } from './errors.js';

export const API_PREFIX = '/api/v1';
const REQUEST_TIMEOUT_MS = 60_000;

export type Query = Record<string, string | number | boolean | undefined>;

export interface ClientOptions {
  /** `https://host:port` (normalised by `normalizeServer`). */
  server: string;
  token?: string | undefined;
  /** PEM text of the CA that issued the server certificate. */
  ca?: string | undefined;
  userAgent?: string;
}

export interface RawAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** Accept `host:port`, `https://host:port` and a trailing slash; refuse plain http (Mimir is HTTPS only). */
export function normalizeServer(input: string): string {
  const text = input.trim();
  if (text === '') throw new UsageError('no server: pass --server https://host:port (or MIMIR_SERVER), or run `mimir-cli login --server …` first');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`--server: not a URL: ${JSON.stringify(input)}`);
  }
  if (url.protocol !== 'https:') throw new UsageError(`--server: Mimir only speaks HTTPS, not ${url.protocol.replace(':', '')} (${input})`);
  if (url.pathname !== '/' && url.pathname !== '' ) throw new UsageError(`--server: give only https://host:port, without a path (${input})`);
  if (url.search !== '' || url.username !== '' || url.password !== '') throw new UsageError(`--server: give only https://host:port (${input})`);
  return `https://${url.host}`;
}

export function queryString(q: Query | undefined): string {
  if (q === undefined) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE',
]);

/** Transport failures as messages people can act on. */
export function connectionError(server: string, err: unknown): CliError {
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? '';
  if (TLS_TRUST_CODES.has(code)) {
    return new CliError(
      `${server}: the server certificate is not trusted (${code}). Pass --ca <ca.pem> (or MIMIR_CA): Mimir's own CA is <data dir>/tls/ca.pem on the server, also at GET /api/v1/groups/<id>/ca.pem`,
      EXIT.connection,
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return new CliError(`${server}: the certificate does not name this host (${e.message}); use the name the certificate was made for (MIMIR_PUBLIC_HOSTNAME / MIMIR_TLS_HOSTNAMES)`, EXIT.connection);
  if (code === 'CERT_HAS_EXPIRED') return new CliError(`${server}: the server certificate has expired`, EXIT.connection);
  if (code === 'ECONNREFUSED') return new CliError(`${server}: connection refused (is Mimir running, and on this port?)`, EXIT.connection);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new CliError(`${server}: host not found`, EXIT.connection);
  if (code === 'ETIMEDOUT' || code === 'ECONNRESET' || code === 'EPIPE') return new CliError(`${server}: the connection failed (${code})`, EXIT.connection);
  if (code.startsWith('ERR_SSL') || code.startsWith('EPROTO')) return new CliError(`${server}: TLS failed (${e.message}); is this an HTTPS port?`, EXIT.connection);
  return new CliError(`${server}: request failed: ${e.message}`, EXIT.connection);
}

/** Turn a non-2xx answer into an ApiError with the server's message. */
export function apiErrorOf(method: string, path: string, a: RawAnswer): ApiError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(a.body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const err = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown }; requestId?: unknown } | undefined);
  const code = typeof err?.error?.code === 'string' ? err.error.code : `http_${a.status}`;
  const message = typeof err?.error?.message === 'string' ? err.error.message : `${method} ${path}: HTTP ${a.status}`;
  return new ApiError(a.status, code, message, err?.error?.details, typeof err?.requestId === 'string' ? err.requestId : undefined);
}

export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

export class ApiClient {
  private readonly host: string;
  private readonly port: number;

  constructor(readonly opts: ClientOptions) {
    const url = new URL(opts.server);
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = url.port === '' ? 443 : Number(url.port);
  }

  get server(): string {
    return this.opts.server;
  }

  private baseOptions(method: string, path: string, headers: Record<string, string>): RequestOptions {
    const h: Record<string, string> = { 'user-agent': this.opts.userAgent ?? 'mimir-cli', accept: 'application/json', ...headers };
    if (this.opts.token !== undefined && this.opts.token !== '') h['authorization'] = `Bearer ${this.opts.token}`;
    return {
      host: this.host, port: this.port, method, path, headers: h, agent: false,
      ...(this.opts.ca !== undefined ? { ca: this.opts.ca } : {}),
    };
  }

  /** One request; resolves with whatever status came back. */
  raw(method: string, path: string, opts: { body?: Buffer | undefined; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<RawAnswer> {
    const headers = { ...opts.headers };
    if (opts.body !== undefined) headers['content-length'] = String(opts.body.length);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(this.baseOptions(method, path, headers), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (e) => reject(connectionError(this.server, e)));
      });
      req.setTimeout(opts.timeoutMs ?? REQUEST_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (e) => reject(connectionError(this.server, e)));
      req.end(opts.body);
    });
  }

  /** JSON request under /api/v1; non-2xx becomes an ApiError. */
  async request<T>(method: string, path: string, opts: { query?: Query; body?: unknown; headers?: Record<string, string> } = {}): Promise<T> {
    const full = `${API_PREFIX}${path}${queryString(opts.query)}`;
    const body = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body), 'utf8');
    const headers: Record<string, string> = { ...opts.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const a = await this.raw(method, full, { body, headers });
    if (a.status < 200 || a.status >= 300) throw apiErrorOf(method, full, a);
    const text = a.body.toString('utf8');
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(`${method} ${full}: the server answered something that is not JSON`, EXIT.error);
    }
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, query !== undefined ? { query } : {});
  }

  /** Every page of a `{items, nextCursor}` listing, up to `max` items (0 = all). */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the contract type of the items
  async all<T>(path: string, query: Query = {}, max = 0): Promise<{ items: T[]; more: boolean }> {
    const items: T[] = [];
    let cursor: string | undefined;
    // Bounded: a page never repeats its cursor, and `max` caps the total when given.
    for (let page = 0; page < 100_000; page++) {
      const want = max > 0 ? Math.min(1000, max - items.length) : 1000;
      const r = await this.get<{ items: T[]; nextCursor?: string | null }>(path, { ...query, limit: want, cursor });
      items.push(...r.items);
      const next = r.nextCursor ?? null;
      if (next === null || next === cursor) return { items, more: false };
      if (max > 0 && items.length >= max) return { items, more: true };
      cursor = next;
    }
    return { items, more: true };
  }

  /**
   * Follow a Server-Sent Events stream until `onEvent` returns `'stop'`, the server closes it, or
   * `signal` aborts. Resolves with the last event id seen (for resuming with Last-Event-ID).
   */
  stream(path: string, onEvent: (e: SseEvent) => 'stop' | undefined, opts: { lastEventId?: string | undefined; signal?: AbortSignal } = {}): Promise<{ lastEventId: string | undefined; stopped: boolean }> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (opts.lastEventId !== undefined) headers['last-event-id'] = opts.lastEventId;
    return new Promise((resolve, reject) => {
      let lastEventId = opts.lastEventId;
      let settled = false;
      const finish = (stopped: boolean) => {
        if (settled) return;
        settled = true;
        resolve({ lastEventId, stopped });
      };
      const req = httpsRequest(this.baseOptions('GET', `${API_PREFIX}${path}`, headers), (res) => {
        if ((res.statusCode ?? 0) !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            settled = true;
            reject(apiErrorOf('GET', path, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          });
          return;
        }
        res.setEncoding('utf8');
        let buf = '';
        let ev = { event: 'message', data: [] as string[], id: undefined as string | undefined };
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).replace(/\r$/, '');
            buf = buf.slice(nl + 1);
            if (line === '') {
              if (ev.data.length > 0) {
                if (ev.id !== undefined) lastEventId = ev.id;
                const verdict = onEvent({ event: ev.event, data: ev.data.join('\n'), id: ev.id });
                if (verdict === 'stop') {
                  finish(true);
                  req.destroy();
                  return;
                }
              }
              ev = { event: 'message', data: [], id: undefined };
              continue;
            }
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') ev.event = value;
            else if (field === 'data') ev.data.push(value);
            else if (field === 'id') ev.id = value;
          }
        });
        res.on('end', () => finish(false));
        res.on('error', () => finish(false));
        res.on('close', () => finish(false));
      });
      req.on('error', (e) => {
        if (settled) return;
        // A stream cut after it began is resumable; a failure to connect is not.
        if (lastEventId !== opts.lastEventId || (e as NodeJS.ErrnoException).code === 'ECONNRESET') finish(false);
        else {
          settled = true;
          reject(connectionError(this.server, e));
        }
      });
      opts.signal?.addEventListener('abort', () => {
        finish(true);
        req.destroy();
      }, { once: true });
      req.end();
    });
  }

  /**
   * `multipart/form-data` upload: text fields first, then the file part streamed from disk (the
   * server hashes it on the way, docs/updates.md "Binaries").
   */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the contract type of the JSON answer
  upload<T>(path: string, fields: Record<string, string>, fileField: string, filePath: string): Promise<{ status: number; body: T }> {
    let size: number;
    try {
      const st = statSync(filePath);
      if (!st.isFile()) throw new UsageError(`${filePath}: not a regular file`);
      size = st.size;
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new UsageError(`${filePath}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const boundary = `----mimir-cli-${randomBytes(12).toString('hex')}`;
    const quote = (s: string) => s.replace(/["\r\n\\]/g, '_');
    const head = Buffer.from(
      Object.entries(fields).map(([k, v]) => `--${boundary}\r\ncontent-disposition: form-data; name="${quote(k)}"\r\n\r\n${v}\r\n`).join('') +
      `--${boundary}\r\ncontent-disposition: form-data; name="${quote(fileField)}"; filename="${quote(basename(filePath))}"\r\ncontent-type: application/octet-stream\r\n\r\n`,
      'utf8',
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
    const full = `${API_PREFIX}${path}`;
    return new Promise((resolve, reject) => {
      const req = httpsRequest(this.baseOptions('POST', full, {
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(head.length + size + tail.length),
      }), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const a: RawAnswer = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
          if (a.status < 200 || a.status >= 300) return reject(apiErrorOf('POST', full, a));
          try {
            resolve({ status: a.status, body: JSON.parse(a.body.toString('utf8')) as T });
          } catch {
            reject(new CliError(`POST ${full}: the server answered something that is not JSON`));
          }
        });
      });
      req.on('error', (e) => reject(connectionError(this.server, e)));
      req.write(head);
      const file = createReadStream(filePath);
      file.on('error', (e) => {
        req.destroy();
        reject(new UsageError(`${filePath}: read failed (${e.message})`));
      });
      file.on('end', () => req.end(tail));
      file.pipe(req, { end: false });
    });
  }
}
