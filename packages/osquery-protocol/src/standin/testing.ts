/**
 * Test support for the stand-in: a throwaway self-signed certificate (via the `openssl` CLI) and a
 * raw `node:tls` HTTP/1.1 server that records the exact request bytes and lets a test script each
 * answer (status, headers, body, chunked, gzip, or dropping the connection).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { gunzipSync, gzipSync } from 'node:zlib';

export interface TestCertificate {
  cert: string;
  key: string;
}

/** A P-256 self-signed certificate for `localhost` and 127.0.0.1, valid one day. */
export async function makeTestCertificate(commonName = 'localhost'): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'mimir-standin-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    await new Promise<void>((resolve, reject) => {
      execFile('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', keyPath, '-out', certPath, '-subj', `/CN=${commonName}`,
        '-addext', `subjectAltName=DNS:${commonName},IP:127.0.0.1`, '-days', '1',
      ], (err) => {
        if (err) reject(new Error(`openssl failed: ${err.message}`));
        else resolve();
      });
    });
    return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface RecordedRequest {
  /** Exact bytes received (head + body). */
  raw: Buffer;
  /** Request head text (request line + header lines, no trailing blank line). */
  head: string;
  method: string;
  path: string;
  /** Header [name, value] pairs in received order and spelling. */
  headers: Array<[string, string]>;
  /** Raw body bytes (gzip-compressed when Content-Encoding: gzip). */
  body: Buffer;
  /** Which server-side connection carried it (1, 2, …). */
  connection: number;
  /** Negotiated TLS protocol and cipher of that connection. */
  tlsProtocol: string | null;
  cipher: string;
  /** Whether the client presented a certificate the server's `ca` verifies. */
  clientAuthorized: boolean;
}

/** Helpers over a RecordedRequest. */
export function headerOf(req: RecordedRequest, name: string): string | undefined {
  const lower = name.toLowerCase();
  return req.headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

/** The body text, inflated when the request was gzip-encoded. */
export function bodyText(req: RecordedRequest): string {
  const gz = headerOf(req, 'content-encoding')?.toLowerCase() === 'gzip';
  return (gz ? gunzipSync(req.body) : req.body).toString('utf8');
}

export function bodyJson(req: RecordedRequest): unknown {
  return JSON.parse(bodyText(req)) as unknown;
}

export interface ReplyOptions {
  headers?: Record<string, string>;
  /** Send the body with Transfer-Encoding: chunked (split into pieces of this size). */
  chunked?: number;
  /** gzip the body and send Content-Encoding: gzip. */
  gzip?: boolean;
  /** Add Connection: close and close after answering. */
  close?: boolean;
}

export interface Reply {
  /** Answer with a status and a body (objects are JSON-encoded). */
  send(status: number, body?: string | Buffer | object, options?: ReplyOptions): void;
  /** Write arbitrary bytes. */
  raw(bytes: string | Buffer): void;
  /** Close the connection gracefully (FIN) after what was written. */
  end(): void;
  /** Destroy the connection without answering. */
  destroy(): void;
  /** Do nothing (the client will time out). */
  hang(): void;
}

export type Handler = (req: RecordedRequest, reply: Reply) => void | Promise<void>;

const REASONS: Record<number, string> = {
  200: 'OK', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 307: 'Temporary Redirect',
  308: 'Permanent Redirect', 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 500: 'Internal Server Error',
};

/** A raw HTTP/1.1-over-TLS server that records every request. Default answer: 200 `{}`. */
export class RecordingServer {
  readonly requests: RecordedRequest[] = [];
  handler: Handler = (_req, reply) => {
    reply.send(200, {});
  };
  private connections = 0;
  private readonly sockets = new Set<TLSSocket>();

  private constructor(private readonly server: Server) {}

  static async start(
    cert: TestCertificate,
    options: { requestCert?: boolean; ca?: string; maxVersion?: 'TLSv1.2' | 'TLSv1.3'; ciphers?: string } = {},
  ): Promise<RecordingServer> {
    const server = createServer({
      cert: cert.cert,
      key: cert.key,
      requestCert: options.requestCert ?? false,
      rejectUnauthorized: false,
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
      ...(options.maxVersion !== undefined ? { maxVersion: options.maxVersion } : {}),
      ...(options.ciphers !== undefined ? { ciphers: options.ciphers } : {}),
    });
    const rs = new RecordingServer(server);
    server.on('secureConnection', (socket) => {
      rs.accept(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return rs;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `--tls_hostname` for this server. */
  get tlsHostname(): string {
    return `localhost:${this.port}`;
  }

  /** TLS connections accepted so far. */
  get connectionCount(): number {
    return this.connections;
  }

  /** Answer the next requests with these handlers in turn, then fall back to `fallback`. */
  script(handlers: Handler[], fallback?: Handler): void {
    const queue = [...handlers];
    const last = fallback ?? this.handler;
    this.handler = (req, reply) => (queue.shift() ?? last)(req, reply);
  }

  /** Close every client connection (idle kept-alive sockets included). */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => { resolve(); }));
  }

  private accept(socket: TLSSocket): void {
    const id = ++this.connections;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let busy = false;
    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buf.toString('latin1', 0, end);
          const lines = head.split('\r\n');
          const [method = '', path = ''] = (lines[0] ?? '').split(' ');
          const headers = lines.slice(1).map((l): [string, string] => {
            const i = l.indexOf(':');
            return [l.slice(0, i), l.slice(i + 1).trim()];
          });
          const len = Number(headers.find(([n]) => n.toLowerCase() === 'content-length')?.[1] ?? '0');
          if (buf.length < end + 4 + len) return;
          const raw = buf.subarray(0, end + 4 + len);
          buf = buf.subarray(end + 4 + len);
          const req: RecordedRequest = {
            raw, head, method, path, headers, body: raw.subarray(end + 4), connection: id,
            tlsProtocol: socket.getProtocol(), cipher: socket.getCipher().name, clientAuthorized: socket.authorized,
          };
          this.requests.push(req);
          await this.handler(req, this.reply(socket));
        }
      } finally {
        busy = false;
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      void pump();
    });
  }

  private reply(socket: TLSSocket): Reply {
    return {
      send: (status, body = '', options = {}) => {
        let payload = typeof body === 'string' ? Buffer.from(body) : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
        const headers: Record<string, string> = { 'Content-Type': 'application/json', ...options.headers };
        if (options.gzip === true) {
          payload = gzipSync(payload);
          headers['Content-Encoding'] = 'gzip';
        }
        if (options.close === true) headers['Connection'] = 'close';
        let bodyBytes: Buffer;
        if (options.chunked !== undefined) {
          headers['Transfer-Encoding'] = 'chunked';
          const parts: Buffer[] = [];
          for (let i = 0; i < payload.length; i += options.chunked) {
            const piece = payload.subarray(i, i + options.chunked);
            parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
          }
          parts.push(Buffer.from('0\r\n\r\n'));
          bodyBytes = Buffer.concat(parts);
        } else {
          headers['Content-Length'] = String(payload.length);
          bodyBytes = payload;
        }
        const head = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Status'}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
        socket.write(Buffer.concat([Buffer.from(head, 'latin1'), bodyBytes]));
        if (options.close === true) socket.end();
      },
      raw: (bytes) => {
        socket.write(bytes);
      },
      end: () => {
        socket.end();
      },
      destroy: () => {
        socket.destroy();
      },
      hang: () => undefined,
    };
  }
}
