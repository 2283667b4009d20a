/**
 * osquery's TLS transport (osquery-protocol.md §1), re-implemented on raw `node:tls` so every byte
 * on the wire matches osqueryd: header order, one kept-alive connection, a fixed 16 s timeout per
 * request, 3xx redirects, the hidden one-shot re-send after a transport failure, and status codes
 * that mean nothing. JSON interpretation of the body is left to the caller (see json.ts).
 */
import { isIP } from 'node:net';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { gunzipSync, gzipSync } from 'node:zlib';
import { OSQUERY_CLIENT_TIMEOUT_MS } from '../endpoints.js';
import { DEFAULT_OSQUERY_VERSION, versionFeatures, type VersionFeatures } from './version.js';

/** osquery's TLS 1.2 cipher string (O-tls/tls.h); effectively ECDHE + AES-GCM. */
export const OSQUERY_TLS_CIPHERS =
  'ECDH+AESGCM:DH+AESGCM:ECDH+AES256:DH+AES256:ECDH+AES128:DH+AES:ECDH+3DES:DH+3DES:' +
  'RSA+AESGCM:RSA+AES:RSA+3DES:!aNULL:!MD5:!CBC:!SHA:!DSS:!kDHE:!kRSA';

/** Redirect statuses osquery follows with the same method and body (O-http). */
export const OSQUERY_REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 304, 305, 307, 308]);
export const OSQUERY_MAX_REDIRECTS = 10;
/** Beast's default response body limit, which osquery does not override (§1.5). */
export const OSQUERY_MAX_RESPONSE_BODY = 8 * 1024 * 1024;
/** Beast's default response header limit. */
const MAX_RESPONSE_HEAD = 8 * 1024;
/** `--tls_session_timeout` default: the kept-alive connection is torn down after an hour. */
export const OSQUERY_TLS_SESSION_TIMEOUT_MS = 3_600_000;

export type TransportErrorKind = 'timeout' | 'connect' | 'closed' | 'io' | 'protocol' | 'redirect' | 'too-large';

/** A request that failed below the JSON level: no (usable) HTTP response was obtained. */
export class OsqueryTransportError extends Error {
  override readonly name = 'OsqueryTransportError';
  constructor(readonly kind: TransportErrorKind, message: string) {
    super(message);
  }
}

/** Where requests go: `--tls_hostname` split for connecting, SNI and the Host header. */
export interface TlsTarget {
  /** Host to connect to and to verify the certificate against (no brackets for IPv6). */
  host: string;
  port: number;
  /** `Host:` header value: host, plus `:port` unless the port is 443. */
  hostHeader: string;
}

/** Split `--tls_hostname` (`host`, `host:port`, `[v6]:port`); no scheme, no path (§1.1). */
export function parseTlsHostname(tlsHostname: string): TlsTarget {
  const s = tlsHostname.trim();
  let host = s;
  let port = 443;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracket?.[1] !== undefined) {
    host = bracket[1];
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon > 0 && s.indexOf(':') === colon) {
      host = s.slice(0, colon);
      port = Number(s.slice(colon + 1));
    }
  }
  if (host === '' || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`invalid tls_hostname: ${JSON.stringify(tlsHostname)}`);
  }
  const shown = host.includes(':') ? `[${host}]` : host;
  return { host, port, hostHeader: port === 443 ? shown : `${shown}:${port}` };
}

export interface HttpClientStats {
  /** Logical requests (one per `request()` call). */
  requests: number;
  /** HTTP messages written, counting redirects and hidden re-sends. */
  sent: number;
  bytesSent: number;
  bytesReceived: number;
  /** TLS connections established. */
  connects: number;
  /** Hidden re-sends after a transport failure (§1.5). */
  resends: number;
  redirects: number;
  timeouts: number;
  /** Logical requests that ended with an OsqueryTransportError. */
  failures: number;
}

export function newHttpClientStats(): HttpClientStats {
  return { requests: 0, sent: 0, bytesSent: 0, bytesReceived: 0, connects: 0, resends: 0, redirects: 0, timeouts: 0, failures: 0 };
}

export interface OsqueryHttpClientOptions {
  /** `--tls_hostname`: `host` or `host:port`. */
  tlsHostname: string;
  /** `--tls_server_certs`: PEM CA bundle; Node's default roots when absent. */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** `--tls_client_cert` / `--tls_client_key` (PEM) for TLS client-auth. */
  clientCert?: string | Buffer;
  clientKey?: string | Buffer;
  /** Sent as `User-Agent: osquery/<version>`; also selects version-gated behaviour. */
  version?: string;
  /** `--tls_accept_gzip` (has an effect from 5.21.0). */
  acceptGzip?: boolean;
  /** Whole-request timeout; osquery's is a fixed 16 s. */
  timeoutMs?: number;
  /** `--tls_session_reuse` (default true): keep one connection alive between requests. */
  sessionReuse?: boolean;
  /** `--tls_session_timeout` in ms (default 1 h). */
  sessionTimeoutMs?: number;
  maxRedirects?: number;
  maxResponseBody?: number;
  /** Counters to update; pass one shared object to aggregate many clients (load simulator). */
  stats?: HttpClientStats;
}

export interface OsqueryHttpRequest {
  /** Endpoint path (with query string, if any), starting with `/`. */
  path: string;
  body: Buffer | string;
  /** Adds `Authorization: NodeKey <k>` when non-empty and the version is ≥ 5.23.0. Never pass it for enroll. */
  nodeKey?: string;
  /** gzip the body at level 9 and send `Content-Encoding: gzip` (TLS logger with `--logger_tls_compress`). */
  compress?: boolean;
}

export interface OsqueryHttpResponse {
  status: number;
  statusText: string;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Inflated only when Accept-Encoding: gzip was sent; otherwise the raw bytes. */
  body: Buffer;
  /** Redirects followed to obtain this response. */
  redirects: number;
  /** Whether the hidden re-send was used. */
  resent: boolean;
}

interface RawResponse {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  httpMinor: number;
  body: Buffer;
  untilClose: boolean;
}

const EMPTY = Buffer.alloc(0);

/** Received bytes, concatenated lazily. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.length += b.length;
  }

  private collapse(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.length)];
    return this.chunks[0] ?? EMPTY;
  }

  indexOf(needle: string): number {
    return this.collapse().indexOf(needle, 0, 'latin1');
  }

  take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.chunks[0];
    if (first && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.length -= n;
      return out;
    }
    const all = this.collapse();
    const out = all.subarray(0, n);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.length -= n;
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.length = 0;
  }
}

type ParserState = 'head' | 'fixed' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailer' | 'until-close';

/** Incremental HTTP/1.x response parser (status line, headers, Content-Length / chunked / close-delimited). */
class ResponseParser {
  private state: ParserState = 'head';
  private status = 0;
  private statusText = '';
  private httpMinor = 1;
  private headers: Record<string, string> = {};
  private remaining = 0;
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly bodyLimit: number) {}

  private addBody(b: Buffer): void {
    this.size += b.length;
    if (this.size > this.bodyLimit) throw new OsqueryTransportError('too-large', 'body limit exceeded');
    this.parts.push(b);
  }

  private result(untilClose: boolean): RawResponse {
    return {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
      httpMinor: this.httpMinor,
      body: this.parts.length === 1 ? (this.parts[0] ?? EMPTY) : Buffer.concat(this.parts, this.size),
      untilClose,
    };
  }

  private parseHead(head: string): void {
    const lines = head.split('\r\n');
    const m = /^HTTP\/1\.(\d) (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
    if (!m?.[1] || !m[2]) throw new OsqueryTransportError('protocol', `bad status line: ${JSON.stringify(lines[0] ?? '')}`);
    this.httpMinor = Number(m[1]);
    this.status = Number(m[2]);
    this.statusText = m[3] ?? '';
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new OsqueryTransportError('protocol', `bad header line: ${JSON.stringify(line)}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const prev = headers[name];
      headers[name] = prev === undefined ? value : `${prev}, ${value}`;
    }
    this.headers = headers;
  }

  /** Advance over queued bytes; the finished response, or null when more bytes are needed. */
  advance(q: ByteQueue, ended: boolean): RawResponse | null {
    for (;;) {
      switch (this.state) {
        case 'head': {
          const end = q.indexOf('\r\n\r\n');
          if (end < 0) {
            if (q.length > MAX_RESPONSE_HEAD) throw new OsqueryTransportError('protocol', 'header limit exceeded');
            return null;
          }
          if (end > MAX_RESPONSE_HEAD) throw new OsqueryTransportError('protocol', 'header limit exceeded');
          this.parseHead(q.take(end + 4).toString('latin1', 0, end));
          if (this.status >= 100 && this.status < 200) {
            if (this.status === 101) throw new OsqueryTransportError('protocol', 'unexpected 101 Switching Protocols');
            continue; // interim response: the real one follows
          }
          const te = this.headers['transfer-encoding'];
          const cl = this.headers['content-length'];
          if (this.status === 204 || this.status === 304) return this.result(false);
          if (te !== undefined && /(?:^|,)\s*chunked\s*$/i.test(te)) {
            this.state = 'chunk-size';
          } else if (cl !== undefined) {
            if (!/^\d+$/.test(cl)) throw new OsqueryTransportError('protocol', `bad Content-Length: ${cl}`);
            this.remaining = Number(cl);
            if (this.remaining > this.bodyLimit) throw new OsqueryTransportError('too-large', 'body limit exceeded');
            this.state = 'fixed';
          } else {
            this.state = 'until-close';
          }
          continue;
        }
        case 'fixed':
          if (q.length < this.remaining) return null;
          this.addBody(q.take(this.remaining));
          return this.result(false);
        case 'chunk-size': {
          const eol = q.indexOf('\r\n');
          if (eol < 0) {
            if (q.length > 1024) throw new OsqueryTransportError('protocol', 'chunk header too long');
            return null;
          }
          const line = q.take(eol + 2).toString('latin1', 0, eol);
          const hex = (line.split(';')[0] ?? '').trim();
          if (!/^[0-9a-fA-F]{1,8}$/.test(hex)) throw new OsqueryTransportError('protocol', `bad chunk size: ${JSON.stringify(line)}`);
          this.remaining = parseInt(hex, 16);
          this.state = this.remaining === 0 ? 'trailer' : 'chunk-data';
          continue;
        }
        case 'chunk-data':
          if (q.length < this.remaining) return null;
          this.addBody(q.take(this.remaining));
          this.state = 'chunk-crlf';
          continue;
        case 'chunk-crlf':
          if (q.length < 2) return null;
          if (q.take(2).toString('latin1') !== '\r\n') throw new OsqueryTransportError('protocol', 'missing CRLF after chunk');
          this.state = 'chunk-size';
          continue;
        case 'trailer': {
          const eol = q.indexOf('\r\n');
          if (eol < 0) return null;
          q.take(eol + 2);
          if (eol === 0) return this.result(false);
          continue;
        }
        case 'until-close':
          if (q.length > 0) this.addBody(q.take(q.length));
          return ended ? this.result(true) : null;
      }
    }
  }
}

interface Pending {
  parser: ResponseParser;
  resolve: (r: RawResponse) => void;
  reject: (e: Error) => void;
}

function asTransportError(e: unknown, kind: TransportErrorKind): OsqueryTransportError {
  if (e instanceof OsqueryTransportError) return e;
  return new OsqueryTransportError(kind, e instanceof Error ? e.message : String(e));
}

/** One TLS connection carrying one request at a time. */
class Connection {
  private readonly q = new ByteQueue();
  private pending: Pending | null = null;
  private ended = false;
  dead = false;

  constructor(
    readonly socket: TLSSocket,
    readonly key: string,
    readonly openedAt: number,
    private readonly stats: HttpClientStats,
  ) {
    socket.on('data', (b: Buffer) => {
      this.stats.bytesReceived += b.length;
      this.q.push(b);
      this.pump();
    });
    socket.on('end', () => {
      this.ended = true;
      this.pump();
    });
    socket.on('error', (e: Error) => {
      this.dead = true;
      this.fail(asTransportError(e, 'io'));
    });
    socket.on('close', () => {
      this.dead = true;
      this.fail(new OsqueryTransportError('closed', 'connection closed by peer'));
    });
  }

  /** Usable for a new request: the peer has not closed it while idle. */
  get open(): boolean {
    return !this.dead && !this.ended && !this.socket.destroyed;
  }

  private pump(): void {
    const p = this.pending;
    if (!p) {
      // Bytes nobody asked for: the connection is no longer in a known state.
      if (this.q.length > 0) {
        this.q.clear();
        this.destroy();
      }
      return;
    }
    let done: RawResponse | null;
    try {
      done = p.parser.advance(this.q, this.ended);
    } catch (e) {
      this.destroy(asTransportError(e, 'protocol'));
      return;
    }
    if (done) {
      this.pending = null;
      p.resolve(done);
    } else if (this.ended) {
      this.destroy(new OsqueryTransportError('closed', 'connection closed before the response was complete'));
    }
  }

  private fail(e: Error): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    p.reject(e);
  }

  exchange(bytes: Buffer, bodyLimit: number): Promise<RawResponse> {
    if (!this.open) return Promise.reject(new OsqueryTransportError('closed', 'connection closed by peer'));
    return new Promise<RawResponse>((resolve, reject) => {
      this.pending = { parser: new ResponseParser(bodyLimit), resolve, reject };
      this.socket.write(bytes, (err) => {
        if (err) this.destroy(asTransportError(err, 'io'));
      });
    });
  }

  /** Tear down; a pending exchange fails with `err` (or "closed"). */
  destroy(err?: Error): void {
    this.dead = true;
    if (err) this.fail(err);
    this.socket.destroy();
  }
}

/** The 16 s budget of one logical request. */
class Deadline {
  expired = false;
  private readonly timer: NodeJS.Timeout;
  private onExpire: (() => void) | null = null;
  readonly promise: Promise<never>;

  constructor(ms: number) {
    let rejectFn: (e: Error) => void = () => undefined;
    this.promise = new Promise<never>((_resolve, reject) => {
      rejectFn = reject;
    });
    this.promise.catch(() => undefined);
    this.timer = setTimeout(() => {
      this.expired = true;
      this.onExpire?.();
      rejectFn(new OsqueryTransportError('timeout', `request timed out after ${ms} ms`));
    }, ms);
  }

  whenExpired(fn: () => void): void {
    this.onExpire = fn;
  }

  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.promise]);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

interface Target extends TlsTarget {
  path: string;
}

function targetKey(t: TlsTarget): string {
  return `${t.host}|${t.port}`;
}

function resolveRedirect(from: Target, location: string): Target {
  let url: URL;
  try {
    url = new URL(location, `https://${from.hostHeader}${from.path}`);
  } catch {
    throw new OsqueryTransportError('redirect', `bad redirect Location: ${location}`);
  }
  if (url.protocol !== 'https:') throw new OsqueryTransportError('redirect', `redirect to a non-https URL: ${location}`);
  const t = parseTlsHostname(url.host);
  return { ...t, path: `${url.pathname}${url.search}` };
}

/** Does the response leave the connection reusable (HTTP/1.1 keep-alive, no `Connection: close`)? */
function keepsAlive(r: RawResponse): boolean {
  if (r.untilClose) return false;
  const tokens = (r.headers['connection'] ?? '').toLowerCase().split(',').map((t) => t.trim());
  if (tokens.includes('close')) return false;
  return r.httpMinor >= 1 || tokens.includes('keep-alive');
}

/**
 * osquery's HTTP client: POST only, one kept-alive TLS connection, requests serialized (osquery uses
 * one connection per thread; a stand-in instance funnels all its plugins through this one).
 */
export class OsqueryHttpClient {
  readonly stats: HttpClientStats;
  readonly version: string;
  readonly features: VersionFeatures;
  private readonly base: TlsTarget;
  private readonly tlsOptions: ConnectionOptions;
  private readonly acceptGzip: boolean;
  private readonly timeoutMs: number;
  private readonly sessionReuse: boolean;
  private readonly sessionTimeoutMs: number;
  private readonly maxRedirects: number;
  private readonly maxResponseBody: number;
  private conn: Connection | null = null;
  private connecting: TLSSocket | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: OsqueryHttpClientOptions) {
    this.base = parseTlsHostname(options.tlsHostname);
    this.version = options.version ?? DEFAULT_OSQUERY_VERSION;
    this.features = versionFeatures(this.version);
    this.stats = options.stats ?? newHttpClientStats();
    this.acceptGzip = (options.acceptGzip ?? false) && this.features.acceptGzip;
    this.timeoutMs = options.timeoutMs ?? OSQUERY_CLIENT_TIMEOUT_MS;
    this.sessionReuse = options.sessionReuse ?? true;
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? OSQUERY_TLS_SESSION_TIMEOUT_MS;
    this.maxRedirects = options.maxRedirects ?? OSQUERY_MAX_REDIRECTS;
    this.maxResponseBody = options.maxResponseBody ?? OSQUERY_MAX_RESPONSE_BODY;
    const tlsOptions: ConnectionOptions = {
      minVersion: 'TLSv1.2',
      ciphers: OSQUERY_TLS_CIPHERS,
      rejectUnauthorized: true,
    };
    if (options.ca !== undefined) tlsOptions.ca = typeof options.ca === 'string' || Buffer.isBuffer(options.ca) ? options.ca : [...options.ca];
    if (options.clientCert !== undefined) tlsOptions.cert = options.clientCert;
    if (options.clientKey !== undefined) tlsOptions.key = options.clientKey;
    this.tlsOptions = tlsOptions;
  }

  /** The `Host:` header value for the configured `--tls_hostname`. */
  get hostHeader(): string {
    return this.base.hostHeader;
  }

  /**
   * Send one POST the way osquery does. Resolves with whatever HTTP response arrived (any status);
   * rejects with OsqueryTransportError when none could be obtained.
   */
  request(req: OsqueryHttpRequest): Promise<OsqueryHttpResponse> {
    const run = this.tail.then(() => this.perform(req));
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Destroy the kept-alive connection; later requests fail. */
  close(): void {
    this.closed = true;
    this.dropConnection();
    this.connecting?.destroy();
    this.connecting = null;
  }

  private isClosed(): boolean {
    return this.closed;
  }

  /** Exact request head (request line + headers + blank line) for a target. */
  private head(target: Target, req: OsqueryHttpRequest, length: number): Buffer {
    const lines = [
      `POST ${target.path} HTTP/1.1`,
      'Content-Type: application/json',
      'Accept: application/json',
      `User-Agent: osquery/${this.version}`,
    ];
    if (req.nodeKey !== undefined && req.nodeKey !== '' && this.features.authorizationHeader) {
      lines.push(`Authorization: NodeKey ${req.nodeKey}`);
    }
    if (req.compress === true) lines.push('Content-Encoding: gzip');
    lines.push(`Host: ${target.hostHeader}`);
    if (this.acceptGzip) lines.push('Accept-Encoding: gzip');
    lines.push(`Content-Length: ${length}`);
    return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
  }

  private dropConnection(): void {
    this.conn?.destroy();
    this.conn = null;
  }

  private openSocket(target: TlsTarget): Promise<TLSSocket> {
    return new Promise<TLSSocket>((resolve, reject) => {
      const options: ConnectionOptions = { ...this.tlsOptions, host: target.host, port: target.port };
      // SNI = host part of --tls_hostname (Node refuses IP addresses as SNI; they are verified via the IP SAN).
      if (isIP(target.host) === 0) options.servername = target.host;
      const socket = connect(options);
      this.connecting = socket;
      const cleanup = (): void => {
        socket.off('secureConnect', onConnect);
        socket.off('error', onError);
        socket.off('close', onClose);
        if (this.connecting === socket) this.connecting = null;
      };
      const onConnect = (): void => {
        cleanup();
        resolve(socket);
      };
      const onError = (e: Error): void => {
        cleanup();
        socket.destroy();
        reject(new OsqueryTransportError('connect', e.message));
      };
      const onClose = (): void => {
        cleanup();
        reject(new OsqueryTransportError('connect', 'connection closed during the TLS handshake'));
      };
      socket.once('secureConnect', onConnect);
      socket.once('error', onError);
      socket.once('close', onClose);
    });
  }

  private async connection(target: Target, deadline: Deadline): Promise<Connection> {
    const key = targetKey(target);
    const current = this.conn;
    if (current) {
      const expired = Date.now() - current.openedAt > this.sessionTimeoutMs;
      // A connection the peer closed while idle is *not* silently replaced: like osquery, the
      // request is written/read on it, fails, and the hidden re-send reconnects (§1.5).
      if (current.key === key && !expired) return current;
      this.dropConnection();
    }
    const socket = await deadline.race(this.openSocket(target));
    this.stats.connects++;
    const conn = new Connection(socket, key, Date.now(), this.stats);
    this.conn = conn;
    return conn;
  }

  private async exchangeOnce(target: Target, bytes: Buffer, deadline: Deadline): Promise<RawResponse> {
    const conn = await this.connection(target, deadline);
    this.stats.sent++;
    this.stats.bytesSent += bytes.length;
    const raw = await deadline.race(conn.exchange(bytes, this.maxResponseBody));
    if (!this.sessionReuse || !keepsAlive(raw)) {
      conn.destroy();
      if (this.conn === conn) this.conn = null;
    }
    return raw;
  }

  private async perform(req: OsqueryHttpRequest): Promise<OsqueryHttpResponse> {
    this.stats.requests++;
    if (this.closed) {
      this.stats.failures++;
      throw new OsqueryTransportError('closed', 'client closed');
    }
    const raw = typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : req.body;
    const body = req.compress === true ? gzipSync(raw, { level: 9 }) : raw;
    const deadline = new Deadline(this.timeoutMs);
    deadline.whenExpired(() => {
      this.connecting?.destroy();
      this.connecting = null;
      this.conn?.destroy(new OsqueryTransportError('timeout', `request timed out after ${this.timeoutMs} ms`));
      this.conn = null;
    });
    let target: Target = { ...this.base, path: req.path };
    let redirects = 0;
    let resent = false;
    try {
      for (;;) {
        let res: RawResponse;
        try {
          res = await this.exchangeOnce(target, Buffer.concat([this.head(target, req, body.length), body]), deadline);
        } catch (e) {
          if (deadline.expired) throw new OsqueryTransportError('timeout', `request timed out after ${this.timeoutMs} ms`);
          this.dropConnection();
          if (!resent && !this.isClosed()) {
            // §1.5: the first non-timeout transport failure reconnects and re-sends once, at once.
            resent = true;
            this.stats.resends++;
            continue;
          }
          throw asTransportError(e, 'io');
        }
        if (OSQUERY_REDIRECT_STATUSES.has(res.status)) {
          const location = res.headers['location'];
          if (location === undefined || location === '') {
            throw new OsqueryTransportError('redirect', `HTTP ${res.status} without a Location header`);
          }
          if (redirects >= this.maxRedirects) throw new OsqueryTransportError('redirect', 'too many redirects');
          redirects++;
          this.stats.redirects++;
          target = resolveRedirect(target, location);
          continue;
        }
        let resBody = res.body;
        if (this.acceptGzip && (res.headers['content-encoding'] ?? '').trim().toLowerCase() === 'gzip') {
          try {
            resBody = gunzipSync(resBody);
          } catch {
            // osquery keeps the raw body when inflating fails (→ JSON parse failure) (O-http).
          }
        }
        return { status: res.status, statusText: res.statusText, headers: res.headers, body: resBody, redirects, resent };
      }
    } catch (e) {
      this.stats.failures++;
      const err = asTransportError(e, 'io');
      if (err.kind === 'timeout') this.stats.timeouts++;
      throw err;
    } finally {
      deadline.clear();
    }
  }
}
