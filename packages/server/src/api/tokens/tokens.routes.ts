import { CreateTokenRequest, CreatedToken, ErrorBody, IdParams, OkBody, TokenList } from '@mimir/api-contract';
import { UnauthorizedError } from '../../errors.js';
import type { ApiApp, CoreServices } from '../api.types.js';
import { presentToken } from '../presenters.js';

/** API tokens for automation: named, optional expiry, revocable, shown once. */
export function registerTokenRoutes(app: ApiApp, core: CoreServices): void {
  app.get('/tokens', {
    config: { permission: 'authenticated' },
    schema: { tags: ['tokens'], summary: 'Your API tokens (admins see everyone\'s)', response: { 200: TokenList } },
  }, async (req) => {
    const p = req.principal;
    if (p === undefined) throw new UnauthorizedError('not signed in');
    const rows = await core.store.users.listTokens(p.role === 'admin' ? undefined : p.userId);
    return { items: rows.map(presentToken) };
  });

  app.post('/tokens', {
    config: { permission: 'authenticated', audit: 'token.create', auditTarget: 'token' },
    schema: { tags: ['tokens'], summary: 'Create an API token (the token is returned once)', body: CreateTokenRequest, response: { 201: CreatedToken, 403: ErrorBody } },
  }, async (req, reply) => {
    const p = req.principal;
    if (p === undefined) throw new UnauthorizedError('not signed in');
    const { token, row } = await core.auth.createToken(p, req.body, core.now());
    req.auditTargetId = row.id;
    req.auditDetails = { name: row.name, role: row.role, expiresAt: row.expires_at };
    return reply.code(201).send({ token, apiToken: presentToken(row) });
  });

  app.delete('/tokens/:id', {
    config: { permission: 'authenticated', audit: 'token.revoke', auditTarget: 'token' },
    schema: { tags: ['tokens'], summary: 'Revoke an API token', params: IdParams, response: { 200: OkBody, 404: ErrorBody } },
  }, async (req) => {
    const p = req.principal;
    if (p === undefined) throw new UnauthorizedError('not signed in');
    await core.auth.revokeToken(p, req.params.id, core.now());
    return { ok: true as const };
  });
}
