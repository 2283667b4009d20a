/**
 * The operator REST API under /api/v1 (everything but /api/v1/osquery): one encapsulated plugin
 * with its own auth hook, RBAC by route config, CSRF protection for cookie sessions, an audit
 * hook, and one error shape `{error: {code, message, details?}, requestId}`.
 */
import cookie from '@fastify/cookie';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { csrfMatches } from '../auth/auth.service.js';
import { can } from '../auth/permissions.js';
import { ForbiddenError, UnauthorizedError, isDomainError } from '../errors.js';
import type { ApiApp, CoreServices } from './api.types.js';
import { apiValidatorCompiler, fieldProblems } from './validation.js';
import { registerAuthRoutes } from './auth/auth.routes.js';
import { registerUserRoutes } from './users/users.routes.js';
import { registerTokenRoutes } from './tokens/tokens.routes.js';
import { registerAuditRoutes } from './audit/audit.routes.js';
import { registerHostsArea } from './hosts/hosts.module.js';
import { registerQueriesArea } from './queries/queries.module.js';
import { registerLiveArea } from './live/live.module.js';
import { registerPacksArea } from './packs/packs.module.js';
import { registerUpdatesArea } from './updates/updates.module.js';

export const SESSION_COOKIE = 'mimir_session';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(h.trim());
  return m?.[1];
}

export function apiPlugin(core: CoreServices) {
  return async function plugin(app: ApiApp): Promise<void> {
    await app.register(cookie);
    // Bodies strict (no coercion, no stripping), wire strings coerced: see validation.ts.
    app.setValidatorCompiler(apiValidatorCompiler);
    app.decorateRequest('principal', undefined);
    app.decorateRequest('auditDetails', undefined);
    app.decorateRequest('auditTargetId', undefined);
    app.decorateRequest('clientIp', '');
    app.decorateRequest('auditRecorded', false);

    // Authentication and authorization before the body is read.
    app.addHook('onRequest', async (req) => {
      req.clientIp = req.ip;
      const permission = req.routeOptions.config.permission;
      if (permission === undefined) {
        // Unknown routes fall through to the 404 handler; a declared route without a permission is a bug.
        if (req.routeOptions.url === undefined) return;
        throw new ForbiddenError('route has no permission declared');
      }
      const now = core.now();
      const token = bearer(req);
      if (token !== undefined) {
        req.principal = await core.auth.resolveToken(token, now);
        if (req.principal === undefined) throw new UnauthorizedError('invalid or expired API token');
      } else {
        const sessionToken = req.cookies[SESSION_COOKIE];
        if (sessionToken !== undefined && sessionToken !== '') {
          req.principal = await core.auth.resolveSession(sessionToken, now);
          // Cookies ride along automatically: unsafe requests must prove they come from our console.
          if (req.principal !== undefined && UNSAFE.has(req.method)) {
            const given = req.headers['x-csrf-token'];
            if (typeof given !== 'string' || !csrfMatches(sessionToken, given)) throw new ForbiddenError('missing or invalid X-CSRF-Token header');
          }
        }
      }
      if (permission === 'public') return;
      if (req.principal === undefined) throw new UnauthorizedError('sign in or send an API token (Authorization: Bearer …)');
      if (permission !== 'authenticated' && !can(req.principal.role, permission)) {
        throw new ForbiddenError(`your role (${req.principal.role}) may not do this (${permission})`);
      }
    });

    const recordAudit = (req: FastifyRequest, action: string) => {
      const params = req.params as Record<string, unknown> | undefined;
      return core.audit.record({
        actorId: req.principal?.userId ?? null,
        actorEmail: req.principal?.email ?? '',
        action,
        targetType: req.routeOptions.config.auditTarget,
        targetId: req.auditTargetId ?? (params?.['id'] as string | number | undefined),
        ip: req.clientIp,
        details: req.auditDetails,
      });
    };

    // Audit every successful request that declares an action, before the response leaves: a
    // client that sees success can read the entry at once, and a streamed download (CSV/NDJSON
    // export) is recorded before its first byte (`onResponse` runs only when a response finishes,
    // so a client closing the connection mid-download would leave no entry). A change is already
    // committed here, so a failed audit write is logged; a download is refused instead (500 before
    // any data leaves).
    app.addHook('onSend', async (req, reply, payload) => {
      const action = req.routeOptions.config.audit;
      if (action === undefined || reply.statusCode >= 400 || req.auditRecorded) return payload;
      req.auditRecorded = true;
      if (payload instanceof Readable) {
        await recordAudit(req, action);
        return payload;
      }
      try {
        await recordAudit(req, action);
      } catch (err) {
        req.log.error({ err, action }, 'audit write failed');
      }
      return payload;
    });

    app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
      if (isDomainError(err)) {
        const details = err.details as { retryAfter?: number } | undefined;
        if (err.status === 429 && details?.retryAfter !== undefined) void reply.header('retry-after', String(details.retryAfter));
        const exposeDetails = err.status !== 401 && err.details !== undefined;
        return reply.code(err.status).send({ error: { code: err.code, message: err.message, ...(exposeDetails ? { details: err.details } : {}) }, requestId: req.id });
      }
      if (err.validation !== undefined) {
        const details = fieldProblems(err.validation);
        const first = details[0];
        const message = first !== undefined ? `${err.validationContext ?? 'request'} ${first.path}: ${first.message}` : `${err.validationContext ?? 'request'}: ${err.message}`;
        return reply.code(400).send({ error: { code: 'validation_failed', message, details }, requestId: req.id });
      }
      if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
        return reply.code(err.statusCode).send({ error: { code: err.code || 'bad_request', message: err.message }, requestId: req.id });
      }
      req.log.error({ err }, 'operator API request failed');
      return reply.code(500).send({ error: { code: 'internal', message: 'internal error' }, requestId: req.id });
    });

    app.setNotFoundHandler((req, reply) =>
      reply.code(404).send({ error: { code: 'not_found', message: `no such API route: ${req.method} ${req.url.split('?')[0] ?? ''}` }, requestId: req.id }),
    );

    registerAuthRoutes(app, core);
    registerUserRoutes(app, core);
    registerTokenRoutes(app, core);
    registerAuditRoutes(app, core);
    // Areas built separately (see docs/architecture.md); each may publish services on core.hub.
    await registerHostsArea(app, core);
    await registerQueriesArea(app, core);
    await registerLiveArea(app, core);
    await registerPacksArea(app, core);
    await registerUpdatesArea(app, core);
  };
}
