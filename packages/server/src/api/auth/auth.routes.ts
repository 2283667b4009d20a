import Type from 'typebox';
import { ErrorBody, LoginRequest, OkBody, SessionInfo, SessionList, SetupRequest, SetupStatus } from '@mimir/api-contract';
import { csrfTokenFor } from '../../auth/auth.service.js';
import { NotFoundError, UnauthorizedError, isDomainError } from '../../errors.js';
import { SESSION_COOKIE } from '../api.plugin.js';
import type { ApiApp, CoreServices } from '../api.types.js';
import { iso, presentUser } from '../presenters.js';

const cookieOptions = { path: '/', httpOnly: true, secure: true, sameSite: 'strict' as const };

/** First-run setup, sign-in/out, the current session, and the user's own sessions. */
export function registerAuthRoutes(app: ApiApp, core: CoreServices): void {
  app.get('/setup', {
    config: { permission: 'public' },
    schema: { tags: ['auth'], summary: 'Whether the first admin still has to be created', response: { 200: SetupStatus } },
  }, async () => ({ needsSetup: await core.auth.needsSetup() }));

  app.post('/setup', {
    config: { permission: 'public', audit: 'setup.complete', auditTarget: 'user' },
    schema: { tags: ['auth'], summary: 'Create the first admin (only while no user exists)', body: SetupRequest, response: { 201: Type.Object({ id: Type.Integer() }), 409: ErrorBody } },
  }, async (req, reply) => {
    const id = await core.auth.setup(req.body, core.now());
    req.auditTargetId = id;
    req.principal = { kind: 'session', userId: id, email: req.body.email.toLowerCase(), role: 'admin' };
    return reply.code(201).send({ id });
  });

  app.post('/session', {
    config: { permission: 'public' },
    schema: {
      tags: ['auth'], summary: 'Sign in: sets an httpOnly session cookie; returns the CSRF token for unsafe requests',
      body: LoginRequest, response: { 200: SessionInfo, 401: ErrorBody, 429: ErrorBody },
    },
  }, async (req, reply) => {
    const now = core.now();
    try {
      const { token, user, expiresAt } = await core.auth.login(req.body.email, req.body.password, { ip: req.ip, userAgent: req.headers['user-agent'] ?? '', now });
      await core.audit.record({ actorId: user.id, actorEmail: user.email, action: 'user.login', targetType: 'user', targetId: user.id, ip: req.ip });
      void reply.setCookie(SESSION_COOKIE, token, { ...cookieOptions, expires: new Date(expiresAt) });
      return { user: presentUser(user), csrfToken: csrfTokenFor(token), expiresAt: iso(expiresAt) };
    } catch (err) {
      if (isDomainError(err) && (err.status === 401 || err.status === 429)) {
        await core.audit.record({ actorId: null, actorEmail: req.body.email.trim().toLowerCase(), action: 'user.login_failed', ip: req.ip, details: { reason: err.message } });
      }
      throw err;
    }
  });

  app.get('/session', {
    config: { permission: 'authenticated' },
    schema: { tags: ['auth'], summary: 'The signed-in user (session or token)', response: { 200: SessionInfo, 401: ErrorBody } },
  }, async (req) => {
    const p = req.principal;
    if (p === undefined) throw new UnauthorizedError('not signed in');
    const user = await core.store.users.findById(p.userId);
    if (user === undefined) throw new UnauthorizedError('not signed in');
    const token = req.cookies[SESSION_COOKIE] ?? '';
    const session = p.sessionId !== undefined ? await core.store.users.findSession(p.sessionId) : undefined;
    return {
      user: { ...presentUser(user), role: p.role },
      csrfToken: p.kind === 'session' ? csrfTokenFor(token) : '',
      expiresAt: iso(session?.expires_at ?? core.now() + 86_400_000),
    };
  });

  app.delete('/session', {
    config: { permission: 'authenticated', audit: 'user.logout', auditTarget: 'user' },
    schema: { tags: ['auth'], summary: 'Sign out (revokes this session)', response: { 200: OkBody } },
  }, async (req, reply) => {
    const token = req.cookies[SESSION_COOKIE];
    if (token !== undefined) await core.auth.logout(token, core.now());
    req.auditTargetId = req.principal?.userId;
    void reply.clearCookie(SESSION_COOKIE, cookieOptions);
    return { ok: true as const };
  });

  app.get('/sessions', {
    config: { permission: 'authenticated' },
    schema: { tags: ['auth'], summary: 'Your active sessions', response: { 200: SessionList } },
  }, async (req) => {
    const p = req.principal;
    if (p === undefined) throw new UnauthorizedError('not signed in');
    const rows = await core.store.users.listSessions(p.userId, core.now());
    return {
      items: rows.map((s) => ({
        id: s.id.slice(0, 16), createdAt: iso(s.created_at), lastUsedAt: iso(s.last_used_at), expiresAt: iso(s.expires_at),
        ip: s.ip, userAgent: s.user_agent, current: s.id === p.sessionId,
      })),
    };
  });

  app.delete('/sessions/:sid', {
    config: { permission: 'authenticated', audit: 'session.revoke', auditTarget: 'session' },
    schema: { tags: ['auth'], summary: 'Revoke one of your sessions', params: Type.Object({ sid: Type.String({ minLength: 8, maxLength: 64 }) }), response: { 200: OkBody, 404: ErrorBody } },
  }, async (req) => {
    const p = req.principal;
    if (p === undefined) throw new UnauthorizedError('not signed in');
    const now = core.now();
    const match = (await core.store.users.listSessions(p.userId, now)).find((s) => s.id.startsWith(req.params.sid));
    if (match === undefined || !(await core.store.users.revokeSession(match.id, p.userId, now))) throw new NotFoundError('session not found');
    req.auditTargetId = req.params.sid;
    return { ok: true as const };
  });
}
