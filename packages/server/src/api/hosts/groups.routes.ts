import {
  CreateGroupRequest, CreateSecretRequest, DeleteGroupQuery, DeleteGroupResult, EnrollSecret, EnrollSecretList, ErrorBody, Flagfile,
  FlagfileQuery, Group, GroupList, IdParams, MoveHostsRequest, MoveHostsResult, RotateSecretRequest, RotateSecretResult, SecretParams,
  UpdateGroupRequest,
} from '@mimir/api-contract';
import Type from 'typebox';
import { NotFoundError } from '../../errors.js';
import type { ApiApp, CoreServices } from '../api.types.js';
import type { HostsArea } from './hosts.module.js';
import { presentGroup, presentSecret } from './hosts.presenters.js';

const tags = ['groups'];
const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody };

/**
 * Groups and their enroll secrets. Groups are visible to every role; secret values (and the
 * flagfile that embeds one) only to `groups:write` (admins), as Fleet keeps secrets from observers.
 */
export function registerGroupRoutes(app: ApiApp, core: CoreServices, area: HostsArea): void {
  const { groups } = area;

  app.get('/groups', {
    config: { permission: 'groups:read' },
    schema: { tags, summary: 'List groups with host counts', response: { 200: GroupList } },
  }, async () => ({ items: (await groups.list()).map(presentGroup) }));

  app.get('/groups/:id', {
    config: { permission: 'groups:read' },
    schema: { tags, summary: 'Get a group', params: IdParams, response: { 200: Group, ...errors } },
  }, async (req) => presentGroup(await groups.get(req.params.id)));

  app.post('/groups', {
    config: { permission: 'groups:write', audit: 'group.create', auditTarget: 'group' },
    schema: { tags, summary: 'Create a group (with a first enroll secret unless createSecret is false)', body: CreateGroupRequest, response: { 201: Group, ...errors } },
  }, async (req, reply) => {
    const { id } = await groups.create(req.body, core.now());
    req.auditTargetId = id;
    req.auditDetails = { name: req.body.name, options: req.body.options ?? {} };
    return reply.code(201).send(presentGroup(await groups.get(id)));
  });

  app.patch('/groups/:id', {
    config: { permission: 'groups:write', audit: 'group.update', auditTarget: 'group' },
    schema: { tags, summary: 'Rename, describe, or set the group\'s osquery options', params: IdParams, body: UpdateGroupRequest, response: { 200: Group, ...errors } },
  }, async (req) => {
    const { before, changed } = await groups.update(req.params.id, req.body, core.now());
    req.auditDetails = { changed, before: { name: before.name, options: before.options }, after: req.body };
    return presentGroup(await groups.get(req.params.id));
  });

  app.delete('/groups/:id', {
    config: { permission: 'groups:write', audit: 'group.delete', auditTarget: 'group' },
    schema: {
      tags, summary: 'Delete a group; its hosts must move elsewhere (moveHostsTo). The default group stays.', params: IdParams, querystring: DeleteGroupQuery,
      response: { 200: DeleteGroupResult, ...errors },
    },
  }, async (req) => {
    const r = await groups.delete(req.params.id, req.query.moveHostsTo, core.now());
    area.labels.invalidateCounts();
    req.auditDetails = { name: r.name, movedHosts: r.movedHosts, moveHostsTo: req.query.moveHostsTo ?? null };
    return { ok: true as const, movedHosts: r.movedHosts };
  });

  app.post('/groups/:id/hosts', {
    config: { permission: 'hosts:write', audit: 'group.move_hosts', auditTarget: 'group' },
    schema: { tags, summary: 'Move hosts into this group (they get its config on their next poll)', params: IdParams, body: MoveHostsRequest, response: { 200: MoveHostsResult, ...errors } },
  }, async (req) => {
    const moved = await groups.moveHosts(req.params.id, req.body.hostIds, core.now());
    req.auditDetails = { hostIds: req.body.hostIds.slice(0, 1000), count: req.body.hostIds.length };
    return { moved };
  });

  // --- enroll secrets (admin only: reading one is enough to enroll a host)

  app.get('/groups/:id/secrets', {
    config: { permission: 'groups:write' },
    schema: { tags, summary: 'Enroll secrets of a group (newest first, revoked included)', params: IdParams, response: { 200: EnrollSecretList, ...errors } },
  }, async (req) => ({ items: (await groups.listSecrets(req.params.id)).map(presentSecret) }));

  app.post('/groups/:id/secrets', {
    config: { permission: 'groups:write', audit: 'enroll_secret.create', auditTarget: 'group' },
    schema: { tags, summary: 'Add an enroll secret (generated unless given; at least 16 characters)', params: IdParams, body: CreateSecretRequest, response: { 201: EnrollSecret, ...errors } },
  }, async (req, reply) => {
    const s = await groups.createSecret(req.params.id, req.body, core.now());
    // Never the value: the audit log is readable by more people than the secret should be.
    req.auditDetails = { secretId: s.id, name: s.name, generated: req.body.secret === undefined };
    return reply.code(201).send(presentSecret(s));
  });

  app.post('/groups/:id/secrets/rotate', {
    config: { permission: 'groups:write', audit: 'enroll_secret.rotate', auditTarget: 'group' },
    schema: {
      tags, summary: 'Add a new enroll secret and optionally revoke the others (enrolled hosts keep working)', params: IdParams, body: RotateSecretRequest,
      response: { 200: RotateSecretResult, ...errors },
    },
  }, async (req) => {
    const r = await groups.rotateSecret(req.params.id, req.body, core.now());
    req.auditDetails = { created: r.created.id, revoked: r.revoked.map((s) => s.id) };
    return { created: presentSecret(r.created), revoked: r.revoked.map(presentSecret) };
  });

  app.delete('/groups/:id/secrets/:secretId', {
    config: { permission: 'groups:write', audit: 'enroll_secret.revoke', auditTarget: 'group' },
    schema: { tags, summary: 'Revoke an enroll secret (new enrollments with it are refused; enrolled hosts stay)', params: SecretParams, response: { 200: EnrollSecret, ...errors } },
  }, async (req) => {
    const s = await groups.revokeSecret(req.params.id, req.params.secretId, core.now());
    req.auditDetails = { secretId: s.id, name: s.name };
    return presentSecret(s);
  });

  // --- agent files for the console's download buttons

  app.get('/groups/:id/flagfile', {
    config: { permission: 'groups:write' },
    schema: {
      tags, summary: 'The osqueryd flagfile and enroll secret for this group', params: IdParams, querystring: FlagfileQuery,
      response: { 200: Flagfile, ...errors },
    },
  }, async (req) => groups.flagfile(req.params.id, { ...req.query, requestHost: req.host }));

  app.get('/groups/:id/ca.pem', {
    config: { permission: 'groups:read' },
    schema: { tags, summary: 'The CA certificate agents pin with --tls_server_certs', params: IdParams, produces: ['application/x-pem-file'], response: { 200: Type.String(), 404: ErrorBody } },
  }, async (req, reply) => {
    const pem = await groups.caPem(req.params.id);
    if (pem === undefined) throw new NotFoundError('this server uses an operator-supplied certificate: give agents the CA that issued it');
    return reply.type('application/x-pem-file').header('content-disposition', 'attachment; filename="ca.pem"').send(pem);
  });
}
