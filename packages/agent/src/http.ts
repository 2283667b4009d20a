/**
 * HTTPS to the Mimir server with the pinned CA only (Node's built-in roots are not trusted: `ca`
 * replaces them), JSON requests and resumable binary downloads. Node built-ins only.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat, truncate } from 'node:fs/promises';
import { request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** An HTTP answer other than success; `nodeInvalid` means the key is unknown (enroll again). */
export class ServerError extends Error {
  constructor(message: string, readonly status: number, readonly nodeInvalid: boolean) {
    super(message);
    this.name = 'ServerError';
  }
}

export interface HttpClientOptions {
  serverUrl: string;
  ca: string;
  timeoutMs?: number;
}

const JSON_LIMIT = 1024 * 1024;

export class AgentHttp {
  private readonly base: URL;
  private readonly ca: string;
  private readonly timeoutMs: number;

  constructor(opts: HttpClientOptions) {
    this.base = new URL(opts.serverUrl);
    this.ca = opts.ca;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  private options(path: string, method: string, headers: Record<string, string>): RequestOptions {
    if (!path.startsWith('/')) throw new Error(`not a server path: ${path}`);
    const host = this.base.hostname.replace(/^\[|\]$/g, '');
    // The pinned CA is the only trust anchor; the certificate must name the host as well. SNI
    // carries names only (RFC 6066), so an IP address is checked against the IP SANs instead.
    return {
      host, port: this.base.port === '' ? 443 : Number(this.base.port), path, method, headers, ca: this.ca, timeout: this.timeoutMs, agent: false,
      ...(isIP(host) === 0 ? { servername: host } : {}),
    };
  }

  private send(path: string, method: string, headers: Record<string, string>, body?: Buffer): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request(this.options(path, method, headers), resolve);
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out after ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** POST JSON, answer parsed JSON; non-2xx throws ServerError with the server's `error`. */
  async postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<unknown> {
    const data = Buffer.from(JSON.stringify(body));
    const res = await this.send(path, 'POST', { 'content-type': 'application/json', 'content-length': String(data.length), ...headers }, data);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > JSON_LIMIT) {
        res.destroy();
        throw new Error(`${path}: answer larger than ${JSON_LIMIT} bytes`);
      }
      chunks.push(c);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new ServerError(`${path}: answer is not JSON (HTTP ${res.statusCode ?? 0})`, res.statusCode ?? 0, false);
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      const o = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
      const msg = typeof o['error'] === 'string' ? o['error'] : `HTTP ${status}`;
      throw new ServerError(`${path}: ${msg}`, status, o['node_invalid'] === true);
    }
    return json;
  }

  /**
   * Download `path` into `file`, resuming a partial file with `Range` (and `If-Range` on the
   * expected SHA-256, which the server sends as ETag, so a changed binary restarts from zero).
   * Returns the SHA-256 of the whole file. Bounded by `maxBytes`.
   */
  async download(path: string, file: string, opts: { headers: Record<string, string>; expectedSha256: string; maxBytes: number }): Promise<{ sha256: string; size: number; resumedFrom: number }> {
    const have = (await stat(file).catch(() => undefined))?.size ?? 0;
    const headers: Record<string, string> = { ...opts.headers };
    if (have > 0) {
      headers['range'] = `bytes=${have}-`;
      headers['if-range'] = `"${opts.expectedSha256.toLowerCase()}"`;
    }
    const res = await this.send(path, 'GET', headers);
    const status = res.statusCode ?? 0;
    let start = 0;
    if (status === 206) start = have;
    else if (status === 416 && have > 0) {
      // Already complete (or the file shrank): restart from zero next time if the hash is wrong.
      res.resume();
      return { ...(await hashFile(file)), resumedFrom: have };
    } else if (status !== 200) {
      res.resume();
      throw new ServerError(`GET ${path}: HTTP ${status}`, status, status === 401);
    }
    if (start === 0) await truncate(file, 0).catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(file, { flags: start === 0 ? 'w' : 'a', mode: 0o600 });
      let size = start;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > opts.maxBytes) res.destroy(new Error(`download larger than ${opts.maxBytes} bytes`));
      });
      res.on('error', (e) => {
        out.destroy();
        reject(e);
      });
      out.on('error', reject);
      out.on('finish', () => resolve());
      res.pipe(out);
    });
    return { ...(await hashFile(file)), resumedFrom: start };
  }
}

export async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of createReadStream(file) as AsyncIterable<Buffer>) {
    h.update(c);
    size += c.length;
  }
  return { sha256: h.digest('hex'), size };
}
