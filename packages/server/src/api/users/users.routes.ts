import Type from 'typebox';
import { CreateUserRequest, ErrorBody, IdParams, OkBody, PageQuery, UpdateUserRequest, User, UserList } from '@mimir/api-contract';
import { NotFoundError, UnauthorizedError } from '../../errors.js';
import { decodeCursor, encodeCursor } from '../../storage/sql-helpers.js';
import type { ApiApp, CoreServices } from '../api.types.js';
import { presentUser } from '../presenters.js';

/** Users and roles (admin only), plus "revoke all sessions" for a user. */
export function registerUserRoutes(app: ApiApp, core: CoreServices): void {
  app.get('/users', {
    config: { permission: 'users:read' },
    schema: { tags: ['users'], summary: 'List users', querystring: PageQuery, response: { 200: UserList } },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    const after = decodeCursor(req.query.cursor);
    const rows = await core.store.users.list(typeof after === 'number' ? after : 0, limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(presentUser), nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.id) : null };
  });

  app.post('/users', {
    config: { permission: 'users:write', audit: 'user.create', auditTarget: 'user' },
    schema: { tags: ['users'], summary: 'Create a user', body: CreateUserRequest, response: { 201: User, 409: ErrorBody } },
  }, async (req, reply) => {
    const id = await core.auth.createUser(req.body, core.now());
    req.auditTargetId = id;
    req.auditDetails = { email: req.body.email, role: req.body.role };
    const user = await core.store.users.findById(id);
    if (user === undefined) throw new NotFoundError('user not found');
    return reply.code(201).send(presentUser(user));
  });

  app.get('/users/:id', {
    config: { permission: 'users:read' },
    schema: { tags: ['users'], summary: 'Get a user', params: IdParams, response: { 200: User, 404: ErrorBody } },
  }, async (req) => {
    const user = await core.store.users.findById(req.params.id);
    if (user === undefined) throw new NotFoundError('user not found');
    return presentUser(user);
  });

  app.patch('/users/:id', {
    config: { permission: 'users:write', audit: 'user.update', auditTarget: 'user' },
    schema: { tags: ['users'], summary: 'Change name, role, password, or disable', params: IdParams, body: UpdateUserRequest, response: { 200: User, 404: ErrorBody, 422: ErrorBody } },
  }, async (req) => {
    if (req.principal === undefined) throw new UnauthorizedError('not signed in');
    const { password, ...rest } = req.body;
    req.auditDetails = { ...rest, passwordChanged: password !== undefined };
    return presentUser(await core.auth.updateUser(req.principal, req.params.id, req.body, core.now()));
  });

  app.delete('/users/:id', {
    config: { permission: 'users:write', audit: 'user.delete', auditTarget: 'user' },
    schema: { tags: ['users'], summary: 'Delete a user', params: IdParams, response: { 200: OkBody, 404: ErrorBody, 422: ErrorBody } },
  }, async (req) => {
    if (req.principal === undefined) throw new UnauthorizedError('not signed in');
    await core.auth.deleteUser(req.principal, req.params.id);
    return { ok: true as const };
  });

  app.post('/users/:id/revoke-sessions', {
    config: { permission: 'users:write', audit: 'user.revoke_sessions', auditTarget: 'user' },
    schema: { tags: ['users'], summary: 'Sign a user out everywhere', params: IdParams, response: { 200: Type.Object({ revoked: Type.Integer() }), 404: ErrorBody } },
  }, async (req) => {
    if ((await core.store.users.findById(req.params.id)) === undefined) throw new NotFoundError('user not found');
    return { revoked: await core.store.users.revokeAllSessions(req.params.id, core.now()) };
  });
}
