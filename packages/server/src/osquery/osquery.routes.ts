/**
 * The agent-facing osquery remote API (osquery-protocol.md §10, S1–S11), as one encapsulated
 * Fastify plugin with its own body parser, auth and error handler. It speaks only osquery's wire
 * shapes and calls services; it never touches storage.
 */
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  OSQUERY_API_PREFIX, OSQUERY_ENDPOINTS, checkCarveBegin, checkCarveBlock, parseDistributedWrite, parseEnrollRequest, parseLogRequest, toInteger,
} from '@mimir/osquery-protocol';
import { BadRequestError, InvalidNodeKeyError, isDomainError } from '../errors.js';
import type { HostState } from '../services/host-cache.js';
import type { OsqueryServices } from './osquery.types.js';
import { isNulFree, readOsqueryBody, type BodyLimits } from './body.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated osquery host (config, log, distributed, carve begin). */
    osqueryHost: HostState | undefined;
  }
  interface FastifyContextConfig {
    osqueryLimits?: BodyLimits;
  }
}

const JSON_TYPE = 'application/json; charset=utf-8';
const EMPTY = '{}';

function send(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).header('content-type', JSON_TYPE).send(body);
}

/** `Authorization: NodeKey <k>` (osquery ≥ 5.23.0, §1.2); undefined when absent. */
function headerNodeKey(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined) return undefined;
  const m = /^NodeKey\s+(.*)$/i.exec(h.trim());
  return m === null ? undefined : (m[1] ?? '').trim();
}

function bodyNodeKey(body: unknown): string | undefined {
  const v = (body as Record<string, unknown>)['node_key'];
  return typeof v === 'string' ? v : undefined;
}

/** Subject CN of a client certificate that verified against the configured client CA. */
export function verifiedClientIdentity(req: FastifyRequest): string | undefined {
  const socket = req.raw.socket as Partial<TLSSocket>;
  if (socket.authorized !== true || typeof socket.getPeerCertificate !== 'function') return undefined;
  const cert = socket.getPeerCertificate();
  const cn = cert.subject.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return name !== undefined && name !== '' ? name : cert.fingerprint256;
}

export function osqueryRoutes(services: OsqueryServices) {
  // Fastify plugins may be async or not; this one registers synchronously.
  return function plugin(app: FastifyInstance, _opts: unknown, done: (err?: Error) => void): void {
    const { limits } = services;
    const small: BodyLimits = { raw: limits.otherBody, inflated: limits.otherBody };
    const logLimits: BodyLimits = { raw: limits.logBody, inflated: limits.logBody };
    const writeLimits: BodyLimits = { raw: limits.distributedWriteBody, inflated: limits.distributedWriteBody };
    // A block is base64 of ≤ block_size bytes plus a small JSON envelope (S2: ≥ block_size × 1.4 + 1 KiB).
    const carveCap = Math.ceil(limits.carveMaxBlockSize * 1.4) + 1024;
    const carveLimits: BodyLimits = { raw: carveCap, inflated: carveCap };

    app.decorateRequest('osqueryHost', undefined);
    // No pino child per check-in: building one (request-id binding, redaction setup) was ~3% of the
    // server's busy CPU samples on an empty distributed/read in the bench profile (docs/performance.md).
    // Check-ins log only failures, and those name the request id themselves.
    app.setChildLoggerFactory((logger) => logger);
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (req: FastifyRequest, payload, done) => {
      readOsqueryBody(payload, req.routeOptions.config.osqueryLimits ?? small).then(
        (v) => done(null, v),
        (e: unknown) => done(e instanceof Error ? e : new Error(String(e))),
      );
    });

    app.setErrorHandler((err: unknown, req, reply) => {
      if (err instanceof InvalidNodeKeyError) {
        return send(reply, 401, JSON.stringify({ node_invalid: true, error: err.message }));
      }
      if (isDomainError(err)) {
        // Enroll failures carry node_invalid too, as Fleet does; osquery ignores it on enroll (§2.2).
        const extra = err.code === 'enroll_failed' ? { node_invalid: true } : {};
        return send(reply, err.status, JSON.stringify({ ...extra, error: err.message }));
      }
      const fe = err as { statusCode?: unknown; message?: unknown };
      if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
        return send(reply, fe.statusCode, JSON.stringify({ error: String(fe.message) }));
      }
      req.log.error({ err, reqId: req.id, url: req.url }, 'osquery request failed');
      return send(reply, 500, JSON.stringify({ error: `internal error (request ${req.id})` }));
    });

    app.setNotFoundHandler((req, reply) => send(reply, 404, JSON.stringify({ error: `not found: ${req.method} ${req.url.split('?')[0] ?? ''}` })));

    /**
     * osquery keeps one connection per host (--tls_session_timeout=3600) and sends the same node key
     * on it every check-in: remember the last (key, host) per socket so a repeat check-in skips
     * hashing the key (SHA-256 was ~4% of the server's busy CPU samples on an empty distributed/read).
     * The remembered host must still be the cache's live entry for its id (re-enroll, delete and
     * changes from other instances replace or evict it), and the key must match exactly; anything
     * else takes the full lookup.
     */
    const lastAuth = new WeakMap<object, { key: string; host: HostState }>();
    const authenticate = async (req: FastifyRequest, key: string): Promise<HostState | undefined> => {
      const socket = req.raw.socket;
      const memo = lastAuth.get(socket);
      if (memo !== undefined && memo.key === key && services.cache.getById(memo.host.id) === memo.host) return memo.host;
      const host = await services.cache.authenticate(key);
      if (host !== undefined) lastAuth.set(socket, { key, host });
      return host;
    };

    /** Early auth from the header, before the body is read (S4, §9 item 16). */
    const authHeader = async (req: FastifyRequest): Promise<void> => {
      const key = headerNodeKey(req);
      if (key === undefined) return;
      const host = await authenticate(req, key);
      if (host === undefined) throw new InvalidNodeKeyError('invalid node key');
      req.osqueryHost = host;
    };

    /** Body auth for clients older than 5.23; header and body must agree when both are present. */
    const authBody = async (req: FastifyRequest): Promise<HostState> => {
      const fromBody = bodyNodeKey(req.body);
      // Keys we issue are base64url; certificate hosts are stored under a NUL-prefixed pseudo-key
      // (EnrollmentService.hostForCertificate). JSON can carry "\u0000", so a body key with a NUL
      // would let anyone who knows a certificate's CN pose as that host without the certificate.
      if (fromBody?.includes('\u0000') === true) throw new InvalidNodeKeyError('invalid node key');
      let host = req.osqueryHost;
      if (host === undefined) {
        if (fromBody !== undefined && fromBody !== '') host = await authenticate(req, fromBody);
        else {
          // --disable_enrollment with a TLS client certificate (seed 001): the certificate identifies the host.
          const identity = verifiedClientIdentity(req);
          if (identity !== undefined) host = await services.certificateHost(identity, req.ip);
        }
      } else if (fromBody !== undefined && fromBody !== '' && fromBody !== headerNodeKey(req)) {
        host = undefined;
      }
      if (host === undefined) throw new InvalidNodeKeyError('invalid node key');
      services.cache.touch(host, services.now());
      return host;
    };

    const post = (
      url: string,
      opts: { limits: BodyLimits; auth: boolean },
      handler: (req: FastifyRequest, host: HostState | undefined) => Promise<string>,
    ) => {
      // Routes are registered under the OSQUERY_API_PREFIX plugin prefix.
      const path = url.slice(OSQUERY_API_PREFIX.length);
      app.route({
        method: 'POST',
        url: path,
        bodyLimit: opts.limits.raw,
        config: { osqueryLimits: opts.limits },
        ...(opts.auth ? { onRequest: authHeader } : {}),
        handler: async (req, reply) => {
          if (req.body === undefined || req.body === null) throw new BadRequestError('empty request body: expected a JSON object');
          const host = opts.auth ? await authBody(req) : undefined;
          return send(reply, 200, await handler(req, host));
        },
      });
      app.route({
        method: ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
        url: path,
        handler: (_req, reply) => send(reply.header('allow', 'POST'), 405, JSON.stringify({ error: 'method not allowed: use POST' })),
      });
    };

    post(OSQUERY_ENDPOINTS.enroll, { limits: small, auth: false }, async (req) => {
      const parsed = parseEnrollRequest(req.body, services.enrollSecretKey);
      if (!parsed.ok) throw new BadRequestError(parsed.error);
      const out = await services.enrollment.enroll(parsed.value, {
        remoteIp: req.ip,
        clientCertIdentity: verifiedClientIdentity(req),
        now: services.now(),
      });
      return JSON.stringify({ node_key: out.nodeKey });
    });

    post(OSQUERY_ENDPOINTS.config, { limits: small, auth: true }, async (_req, host) => {
      if (host === undefined) throw new InvalidNodeKeyError('invalid node key');
      return services.config.configFor(host.groupId, host.platform);
    });

    post(OSQUERY_ENDPOINTS.log, { limits: logLimits, auth: true }, async (req, host) => {
      if (host === undefined) throw new InvalidNodeKeyError('invalid node key');
      const parsed = parseLogRequest(req.body, { nulFree: isNulFree(req.body) });
      if (!parsed.ok) throw new BadRequestError(parsed.error);
      await services.logs.ingest(host, parsed.value, services.now());
      return EMPTY;
    });

    post(OSQUERY_ENDPOINTS.distributedRead, { limits: small, auth: true }, async (_req, host) => {
      if (host === undefined) throw new InvalidNodeKeyError('invalid node key');
      return JSON.stringify(await services.distributed.read(host, services.now()));
    });

    post(OSQUERY_ENDPOINTS.distributedWrite, { limits: writeLimits, auth: true }, async (req, host) => {
      if (host === undefined) throw new InvalidNodeKeyError('invalid node key');
      const parsed = parseDistributedWrite(req.body);
      if (!parsed.ok) throw new BadRequestError(parsed.error);
      await services.distributed.write(host, parsed.value.results, services.now());
      return EMPTY;
    });

    post(OSQUERY_ENDPOINTS.carveBegin, { limits: small, auth: true }, async (req, host) => {
      if (host === undefined) throw new InvalidNodeKeyError('invalid node key');
      const parsed = checkCarveBegin(req.body);
      if (!parsed.ok) throw new BadRequestError(parsed.error);
      const b = parsed.value;
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
    });

    // Blocks have no node key in the body (§6.2); the header, when present, must be valid.
    post(OSQUERY_ENDPOINTS.carveBlock, { limits: carveLimits, auth: false }, async (req) => {
      const key = headerNodeKey(req);
      let headerHost: HostState | undefined;
      if (key !== undefined) {
        headerHost = await services.cache.authenticate(key);
        if (headerHost === undefined) throw new InvalidNodeKeyError('invalid node key');
      }
      const parsed = checkCarveBlock(req.body);
      if (!parsed.ok) throw new BadRequestError(parsed.error);
      const b = parsed.value;
      await services.carves.block(
        { blockId: toInteger(b.block_id) ?? -1, sessionId: b.session_id, requestId: b.request_id, data: b.data },
        headerHost,
        services.now(),
      );
      return JSON.stringify({ success: true });
    });
    done();
  };
}

