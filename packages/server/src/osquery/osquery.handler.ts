/**
 * The agent-facing osquery remote API (osquery-protocol.md §10, S1–S11): a plain `node:http`
 * request handler that runs in front of Fastify (app.ts passes it through `serverFactory`). It
 * speaks only osquery's wire shapes and calls services; it never touches storage.
 *
 * Why not Fastify routes: these seven endpoints are the fleet's traffic (every host polls
 * `distributed/read` every 10 s), and on an empty check-in Fastify's per-request work (request and
 * reply objects, routing, hooks, content-type parsing, serialization) cost as much CPU as the rest
 * of Mimir's handling together (docs/performance.md, hot path). Everything else — the operator
 * API, the agent and binary routes under the same prefix, the console — stays on Fastify.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import {
  OSQUERY_ENDPOINTS, checkCarveBegin, checkCarveBlock, parseDistributedWrite, parseEnrollRequest, parseLogRequest, toInteger, type Parsed,
} from '@mimir/osquery-protocol';
import { BadRequestError, InvalidNodeKeyError, isDomainError } from '../errors.js';
import type { HostState } from '../services/host-cache.js';
import type { OsqueryServices } from './osquery.types.js';
import { isNulFree, readOsqueryBody, type BodyLimits } from './body.js';

const JSON_TYPE = 'application/json; charset=utf-8';
const EMPTY = '{}';
/** Methods that name an osquery endpoint but are not POST get 405 (osquery only POSTs, §1.1). */
const OTHER_KNOWN_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/** `Authorization: NodeKey <k>` (osquery ≥ 5.23.0, §1.2; the Mimir agent always sends it); undefined when absent. */
export function headerNodeKey(headers: IncomingHttpHeaders): string | undefined {
  const h = headers.authorization;
  if (h === undefined) return undefined;
  const m = /^NodeKey\s+(.*)$/i.exec(h.trim());
  return m === null ? undefined : (m[1] ?? '').trim();
}

function bodyNodeKey(body: unknown): string | undefined {
  const v = (body as Record<string, unknown>)['node_key'];
  return typeof v === 'string' ? v : undefined;
}

/** Subject CN of a client certificate that verified against the configured client CA. */
export function verifiedClientIdentity(req: IncomingMessage): string | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (socket.authorized !== true || typeof socket.getPeerCertificate !== 'function') return undefined;
  const cert = socket.getPeerCertificate();
  const cn = cert.subject.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return name !== undefined && name !== '' ? name : cert.fingerprint256;
}

function send(res: ServerResponse, status: number, body: string, extra?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  const headers = { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) };
  res.writeHead(status, extra === undefined ? headers : { ...headers, ...extra });
  res.end(body);
}

/** A wire shape osquery-protocol accepted, or the 400 that names what it refused. */
function valid<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) throw new BadRequestError(parsed.error);
  return parsed.value;
}

/** Endpoints with node-key authentication (header first, then body) get the host; the others do not. */
type Endpoint =
  | { limits: BodyLimits; auth: true; handle(req: IncomingMessage, body: object, host: HostState): Promise<string> }
  | { limits: BodyLimits; auth: false; handle(req: IncomingMessage, body: object): Promise<string> };

export interface OsqueryHandler {
  /** Answers `req` when its path is an osquery endpoint and returns true; false leaves it to Fastify. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** From now on answer 503 and close the connection: the server is shutting down (Fastify's return503OnClosing). */
  close(): void;
}

export function createOsqueryHandler(services: OsqueryServices, log: Logger): OsqueryHandler {
  const { limits } = services;
  const small: BodyLimits = { raw: limits.otherBody, inflated: limits.otherBody };
  const logLimits: BodyLimits = { raw: limits.logBody, inflated: limits.logBody };
  const writeLimits: BodyLimits = { raw: limits.distributedWriteBody, inflated: limits.distributedWriteBody };
  // A block is base64 of ≤ block_size bytes plus a small JSON envelope (S2: ≥ block_size × 1.4 + 1 KiB).
  const carveCap = Math.ceil(limits.carveMaxBlockSize * 1.4) + 1024;
  const carveLimits: BodyLimits = { raw: carveCap, inflated: carveCap };
  let closing = false;
  let requests = 0;

  /**
   * osquery keeps one connection per host (--tls_session_timeout=3600) and sends the same node key
   * on it every check-in: remember the last (key, host) per socket so a repeat check-in skips
   * hashing the key (SHA-256 was ~4% of the server's busy CPU samples on an empty distributed/read).
   * The remembered host must still be the cache's live entry for its id (re-enroll, delete and
   * changes from other instances replace or evict it), and the key must match exactly; anything
   * else takes the full lookup.
   */
  const lastAuth = new WeakMap<object, { key: string; host: HostState }>();
  const authenticate = async (req: IncomingMessage, key: string): Promise<HostState | undefined> => {
    const memo = lastAuth.get(req.socket);
    if (memo !== undefined && memo.key === key && services.cache.getById(memo.host.id) === memo.host) return memo.host;
    const host = await services.cache.authenticate(key);
    if (host !== undefined) lastAuth.set(req.socket, { key, host });
    return host;
  };

  /**
   * Body auth for clients older than 5.23; header and body must agree when both are present.
   * `headerKey` and `fromHeader` are the header's key and the host it named, if any.
   */
  const authBody = async (req: IncomingMessage, body: object, headerKey: string | undefined, fromHeader: HostState | undefined): Promise<HostState> => {
    const fromBody = bodyNodeKey(body);
    // Keys we issue are base64url; certificate hosts are stored under a NUL-prefixed pseudo-key
    // (EnrollmentService.hostForCertificate). JSON can carry "\u0000", so a body key with a NUL
    // would let anyone who knows a certificate's CN pose as that host without the certificate.
    if (fromBody?.includes('\u0000') === true) throw new InvalidNodeKeyError('invalid node key');
    let host = fromHeader;
    if (host === undefined) {
      if (fromBody !== undefined && fromBody !== '') host = await authenticate(req, fromBody);
      else {
        // --disable_enrollment with a TLS client certificate (seed 001): the certificate identifies the host.
        const identity = verifiedClientIdentity(req);
        if (identity !== undefined) host = await services.certificateHost(identity, req.socket.remoteAddress ?? '');
      }
    } else if (fromBody !== undefined && fromBody !== '' && fromBody !== headerKey) {
      host = undefined;
    }
    if (host === undefined) throw new InvalidNodeKeyError('invalid node key');
    services.cache.touch(host, services.now());
    return host;
  };

  const endpoints = new Map<string, Endpoint>([
    [OSQUERY_ENDPOINTS.enroll, {
      limits: small,
      auth: false,
      async handle(req, body) {
        const out = await services.enrollment.enroll(valid(parseEnrollRequest(body, services.enrollSecretKey)), {
          remoteIp: req.socket.remoteAddress ?? '',
          clientCertIdentity: verifiedClientIdentity(req),
          now: services.now(),
        });
        return JSON.stringify({ node_key: out.nodeKey });
      },
    }],
    [OSQUERY_ENDPOINTS.config, {
      limits: small,
      auth: true,
      handle: (_req, _body, host) => services.config.configFor(host.groupId, host.platform),
    }],
    [OSQUERY_ENDPOINTS.log, {
      limits: logLimits,
      auth: true,
      async handle(_req, body, host) {
        await services.logs.ingest(host, valid(parseLogRequest(body, { nulFree: isNulFree(body) })), services.now());
        return EMPTY;
      },
    }],
    [OSQUERY_ENDPOINTS.distributedRead, {
      limits: small,
      auth: true,
      handle: async (_req, _body, host) => JSON.stringify(await services.distributed.read(host, services.now())),
    }],
    [OSQUERY_ENDPOINTS.distributedWrite, {
      limits: writeLimits,
      auth: true,
      async handle(_req, body, host) {
        await services.distributed.write(host, valid(parseDistributedWrite(body)).results, services.now());
        return EMPTY;
      },
    }],
    [OSQUERY_ENDPOINTS.carveBegin, {
      limits: small,
      auth: true,
      async handle(_req, body, host) {
        const b = valid(checkCarveBegin(body));
        const out = await services.carves.begin(
          host,
          {
            blockCount: toInteger(b.block_count) ?? -1,
            blockSize: toInteger(b.block_size) ?? -1,
            carveSize: toInteger(b.carve_size) ?? -1,
            carveGuid: b.carve_id,
            requestId: b.request_id,
          },
          services.now(),
        );
        return JSON.stringify({ session_id: out.sessionId, success: true });
      },
    }],
    // Blocks have no node key in the body (§6.2); the header, when present, must be valid.
    [OSQUERY_ENDPOINTS.carveBlock, {
      limits: carveLimits,
      auth: false,
      async handle(req, body) {
        const key = headerNodeKey(req.headers);
        let headerHost: HostState | undefined;
        if (key !== undefined) {
          headerHost = await services.cache.authenticate(key);
          if (headerHost === undefined) throw new InvalidNodeKeyError('invalid node key');
        }
        const b = valid(checkCarveBlock(body));
        await services.carves.block(
          { blockId: toInteger(b.block_id) ?? -1, sessionId: b.session_id, requestId: b.request_id, data: b.data },
          headerHost,
          services.now(),
        );
        return JSON.stringify({ success: true });
      },
    }],
  ]);

  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown): void => {
    if (err instanceof InvalidNodeKeyError) return send(res, 401, JSON.stringify({ node_invalid: true, error: err.message }));
    if (isDomainError(err)) {
      // Enroll failures carry node_invalid too, as Fleet does; osquery ignores it on enroll (§2.2).
      const extra = err.code === 'enroll_failed' ? { node_invalid: true } : {};
      return send(res, err.status, JSON.stringify({ ...extra, error: err.message }));
    }
    const id = `osquery-${(++requests).toString(36)}`;
    log.error({ err, reqId: id, url: req.url }, 'osquery request failed');
    return send(res, 500, JSON.stringify({ error: `internal error (request ${id})` }));
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, endpoint: Endpoint): Promise<void> => {
    if (!endpoint.auth) {
      send(res, 200, await endpoint.handle(req, await readOsqueryBody(req, endpoint.limits)));
      return;
    }
    // Early auth from the header, before the body is read (S4, §9 item 16): a wrong key costs no body.
    const key = headerNodeKey(req.headers);
    let fromHeader: HostState | undefined;
    if (key !== undefined) {
      fromHeader = await authenticate(req, key);
      if (fromHeader === undefined) throw new InvalidNodeKeyError('invalid node key');
    }
    const body = await readOsqueryBody(req, endpoint.limits);
    send(res, 200, await endpoint.handle(req, body, await authBody(req, body, key, fromHeader)));
  };

  return {
    handle(req, res) {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      const endpoint = endpoints.get(path);
      if (endpoint === undefined) return false;
      if (closing) {
        send(res, 503, JSON.stringify({ error: 'the server is shutting down: retry later' }), { connection: 'close' });
      } else if (req.method !== 'POST') {
        if (OTHER_KNOWN_METHODS.has(req.method ?? '')) send(res, 405, JSON.stringify({ error: 'method not allowed: use POST' }), { allow: 'POST' });
        else send(res, 404, JSON.stringify({ error: `not found: ${req.method ?? ''} ${path}` }));
      } else {
        serve(req, res, endpoint).catch((err: unknown) => fail(req, res, err));
      }
      return true;
    },
    close() {
      closing = true;
    },
  };
}

/**
 * Other paths under the osquery prefix that no route claims (the agent and binary routes are
 * Fastify's) get osquery's error shape, `{"error": "…"}`, like the endpoints (S11).
 */
export function osqueryNotFound(app: FastifyInstance, _opts: unknown, done: (err?: Error) => void): void {
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).header('content-type', JSON_TYPE).send(JSON.stringify({ error: `not found: ${req.method} ${req.url.split('?')[0] ?? ''}` })),
  );
  done();
}
