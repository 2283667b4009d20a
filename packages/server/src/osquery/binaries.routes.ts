import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { UpdateKind } from '@mimir/api-contract';
import type { CoreServices } from '../api/api.types.js';
import { updatesServiceFor } from '../api/updates/updates.module.js';
import { BadRequestError, InvalidNodeKeyError, NotFoundError, isDomainError } from '../errors.js';
import { AgentsService } from '../services/agents/agents.service.js';
import type { HostState } from '../services/host-cache.js';
import { headerAgentKey, registerAgentRoutes } from './agent.routes.js';
import { readOsqueryBody, type BodyLimits } from './body.js';
import { headerNodeKey } from './osquery.handler.js';

/** An update check is a few short strings. */
const CHECK_LIMITS: BodyLimits = { raw: 64 * 1024, inflated: 64 * 1024 };
const JSON_TYPE = 'application/json; charset=utf-8';

interface BinaryParams {
  os: string;
  arch: string;
  version: string;
}

export type RangeAnswer =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

/**
 * One `Range: bytes=…` header against a file of `size` bytes (RFC 9110 §14): `a-b`, `a-` and the
 * suffix form `-n`. Several ranges, other units and malformed values are ignored (the whole file
 * is sent, which RFC 9110 allows); a range that starts at or past the end is unsatisfiable (416).
 */
export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'full' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (m === null) return { kind: 'full' };
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return { kind: 'full' };
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  const last = b === '' ? Number.MAX_SAFE_INTEGER : Number(b);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(last) || last < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(last, size - 1) };
}

function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('content-type', JSON_TYPE).send(JSON.stringify(body));
}


function str(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new BadRequestError(`${key} must be a string`);
  return v;
}

/**
 * Agent-facing update endpoints under /api/v1/osquery (seed 000): what to run, and the binaries.
 * Authenticated by the host's node key; an unknown key answers `{"node_invalid": true}` like the
 * osquery endpoints, so an agent knows to re-enroll.
 */
export function binaryRoutes(core: CoreServices) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    await Promise.resolve();
    const svc = updatesServiceFor(core);
    const agents = new AgentsService({ store: core.store, secrets: core.secrets, cache: core.cache, updates: svc, now: () => core.now(), log: core.log });
    app.decorateRequest('updateHost', undefined);
    app.decorateRequest('agent', undefined);

    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req: FastifyRequest, payload, done) => {
      readOsqueryBody(payload, CHECK_LIMITS).then(
        (v) => done(null, v),
        (e: unknown) => done(e instanceof Error ? e : new Error(String(e))),
      );
    });

    app.setErrorHandler((err: unknown, req, reply) => {
      if (err instanceof InvalidNodeKeyError) return sendJson(reply, 401, { node_invalid: true, error: err.message });
      if (isDomainError(err)) return sendJson(reply, err.status, { error: err.message });
      const fe = err as { statusCode?: unknown; message?: unknown };
      if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return sendJson(reply, fe.statusCode, { error: String(fe.message) });
      req.log.error({ err }, 'update request failed');
      return sendJson(reply, 500, { error: `internal error (request ${req.id})` });
    });

    /** Header auth before the body is read; downloads accept nothing else. */
    const authHeader = async (req: FastifyRequest): Promise<void> => {
      const key = headerNodeKey(req.headers);
      if (key === undefined) return;
      const host = await core.cache.authenticate(key);
      if (host === undefined) throw new InvalidNodeKeyError('invalid node key');
      req.updateHost = host;
    };

    /** Downloads: an osquery host (`NodeKey`) or a Mimir agent (`AgentKey`, docs/agent.md). */
    const requireHeaderAuth = async (req: FastifyRequest): Promise<void> => {
      const agentKey = headerAgentKey(req);
      if (agentKey !== undefined) {
        req.agent = await agents.authenticate(agentKey);
        return;
      }
      await authHeader(req);
      if (req.updateHost === undefined) throw new InvalidNodeKeyError('send the node key as Authorization: NodeKey <key>');
    };

    const tags = ['agent updates'];
    registerAgentRoutes(app, agents);
    app.post('/updates', {
      onRequest: authHeader,
      bodyLimit: CHECK_LIMITS.raw,
      schema: { tags, summary: 'What an agent should run (node key)', description: 'Body {os, arch, osqueryVersion, agentVersion, autoUpdate}; answers {osquery, agent}, each a signed target or null (docs/updates.md).' },
    }, async (req, reply) => {
      if (typeof req.body !== 'object' || req.body === null) throw new BadRequestError('empty request body: expected a JSON object');
      const body = req.body as Record<string, unknown>;
      const fromBody = typeof body['node_key'] === 'string' ? body['node_key'] : undefined;
      // Same rule as the osquery endpoints: a NUL-prefixed key is a certificate host's pseudo-key.
      if (fromBody?.includes('\u0000') === true) throw new InvalidNodeKeyError('invalid node key');
      let host: HostState | undefined = req.updateHost;
      if (host === undefined) host = fromBody !== undefined && fromBody !== '' ? await core.cache.authenticate(fromBody) : undefined;
      else if (fromBody !== undefined && fromBody !== '' && fromBody !== headerNodeKey(req.headers)) host = undefined;
      if (host === undefined) throw new InvalidNodeKeyError('invalid node key');
      // No cache.touch: "last seen" (online status) stays osquery's own check-ins; the check is recorded with its time.
      const autoUpdate = body['autoUpdate'];
      if (autoUpdate !== undefined && typeof autoUpdate !== 'boolean') throw new BadRequestError('autoUpdate must be true or false');
      const answer = await svc.check(host.id, {
        os: str(body, 'os'),
        arch: str(body, 'arch'),
        osqueryVersion: str(body, 'osqueryVersion'),
        agentVersion: str(body, 'agentVersion'),
        autoUpdate: autoUpdate ?? true,
      });
      return sendJson(reply, 200, answer);
    });
    app.route({
      method: ['GET', 'PUT', 'DELETE', 'PATCH'],
      url: '/updates',
      handler: (_req, reply) => sendJson(reply.header('allow', 'POST'), 405, { error: 'method not allowed: use POST' }),
    });

    const download = (kind: UpdateKind) => async (req: FastifyRequest<{ Params: BinaryParams }>, reply: FastifyReply) => {
      const { os, arch, version } = req.params;
      const bin = await svc.openBinary(kind, os, arch, version);
      const info = bin === undefined ? undefined : await stat(bin.path).catch(() => undefined);
      if (bin === undefined || info === undefined) throw new NotFoundError(`no ${kind} binary stored for ${os}/${arch} ${version}`);
      const size = info.size;
      const etag = `"${bin.sha256}"`;
      void reply
        .header('accept-ranges', 'bytes')
        .header('etag', etag)
        .header('last-modified', new Date(bin.uploadedAt).toUTCString())
        // RFC 9530: the SHA-256 of the whole binary, whatever part is sent.
        .header('repr-digest', `sha-256=:${Buffer.from(bin.sha256, 'hex').toString('base64')}:`)
        .header('cache-control', 'private, no-transform')
        .header('content-type', 'application/octet-stream');
      // A resumed download whose file changed meanwhile gets the whole new file (If-Range, RFC 9110 §13.1.5).
      const ifRange = req.headers['if-range'];
      const range = ifRange !== undefined && ifRange !== etag ? { kind: 'full' as const } : parseRange(req.headers.range, size);
      if (range.kind === 'unsatisfiable') {
        return sendJson(reply.header('content-range', `bytes */${size}`), 416, { error: `range not satisfiable: the binary has ${size} bytes` });
      }
      const { start, end } = range.kind === 'partial' ? range : { start: 0, end: size - 1 };
      if (range.kind === 'partial') void reply.code(206).header('content-range', `bytes ${start}-${end}/${size}`);
      void reply.header('content-length', String(end - start + 1));
      if (req.method === 'HEAD') return reply.send();
      return reply.send(createReadStream(bin.path, { start, end }));
    };

    const params = { os: { type: 'string' }, arch: { type: 'string' }, version: { type: 'string' } };
    for (const [kind, url] of [['osquery', '/binary/:os/:arch/:version/osqueryd'], ['agent', '/agent-binary/:os/:arch/:version/mimir-agent']] as const) {
      const schema = {
        tags, summary: `Download a stored ${kind} binary (node key; Range supported)`,
        params: { type: 'object', properties: params, required: ['os', 'arch', 'version'] },
      };
      // HEAD is declared itself: Fastify's automatic HEAD would read the whole file and report length 0.
      app.route<{ Params: BinaryParams }>({ method: ['GET', 'HEAD'], url, exposeHeadRoute: false, onRequest: requireHeaderAuth, schema, handler: download(kind) });
    }
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The host an update request authenticated as (header node key). */
    updateHost: HostState | undefined;
  }
}
