import type { FastifyRequest } from 'fastify';
import {
  CopyPackRequest, CreatePackRequest, ErrorBody, IdParams, ImportExampleRequest, ImportPackRequest, OkBody, Pack, PackExampleList,
  PackExampleParams, PackList, PackListQuery, PackSaved, PackStatus, PackStatusQuery, PrebuiltLoadResult, UpdatePackRequest,
} from '@mimir/api-contract';
import { BadRequestError } from '../../errors.js';
import type { PacksService, SavedPack } from '../../services/packs/packs.service.js';
import { decodeCursor, encodeCursor } from '../../storage/sql-helpers.js';
import type { ApiApp } from '../api.types.js';
import { presentPack, presentPackStatus, presentPackSummary, presentWarnings } from './packs.presenters.js';

const tags = ['packs'];

/** Routes whose body is optional: no body (and no content-type) means "all defaults". */
async function defaultBody(req: FastifyRequest): Promise<void> {
  req.body ??= {};
  await Promise.resolve();
}
const saved = (s: SavedPack) => ({ pack: presentPack(s.record), warnings: presentWarnings(s.warnings) });

/** Packs (seed 004): CRUD, .conf import, prebuilt and example packs, copies, per-query status. */
export function registerPackRoutes(app: ApiApp, packs: PacksService): void {
  app.get('/packs', {
    config: { permission: 'packs:read' },
    schema: { tags, summary: 'List packs by name', querystring: PackListQuery, response: { 200: PackList, 400: ErrorBody } },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    const after = decodeCursor(req.query.cursor);
    if (after !== undefined && typeof after !== 'string') throw new BadRequestError('cursor is not one this API returned');
    const { items, hasMore } = await packs.list({ limit, afterName: after, q: req.query.q, enabled: req.query.enabled });
    const last = items[items.length - 1];
    return { items: items.map(presentPackSummary), nextCursor: hasMore && last !== undefined ? encodeCursor(last.pack.name) : null };
  });

  app.post('/packs', {
    config: { permission: 'packs:write', audit: 'pack.create', auditTarget: 'pack' },
    schema: {
      tags, summary: 'Create a pack', description: 'Ranges and rules are checked together: 422 lists every problem, per query.',
      body: CreatePackRequest, response: { 201: PackSaved, 409: ErrorBody, 422: ErrorBody },
    },
  }, async (req, reply) => {
    const s = await packs.create(req.body);
    req.auditTargetId = s.record.pack.id;
    req.auditDetails = { name: s.record.pack.name, queries: s.record.queryCount };
    return reply.code(201).send(saved(s));
  });

  app.post('/packs/import', {
    config: { permission: 'packs:write', audit: 'pack.import', auditTarget: 'pack' },
    schema: {
      tags, summary: 'Import an osquery .conf pack as it is',
      description: 'Backslash-newline continuations and whole-line # and // comments are removed exactly as osquery does; queries on tables the osquery schema does not know are imported and reported as warnings.',
      body: ImportPackRequest, response: { 201: PackSaved, 409: ErrorBody, 422: ErrorBody },
    },
  }, async (req, reply) => {
    const s = await packs.importConf(req.body);
    req.auditTargetId = s.record.pack.id;
    req.auditDetails = { name: s.record.pack.name, fileName: req.body.fileName, queries: s.record.queryCount, warnings: s.warnings.length };
    return reply.code(201).send(saved(s));
  });

  app.get('/packs/examples', {
    config: { permission: 'packs:read' },
    schema: { tags, summary: "osquery's example packs, importable as they are (license noted)", response: { 200: PackExampleList } },
  }, async () => ({ items: await packs.listExamples() }));

  app.post('/packs/examples/:name/import', {
    config: { permission: 'packs:write', audit: 'pack.import_example', auditTarget: 'pack' },
    preValidation: defaultBody,
    schema: { tags, summary: 'Import one of osquery\'s example packs', params: PackExampleParams, body: ImportExampleRequest, response: { 201: PackSaved, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody } },
  }, async (req, reply) => {
    const s = await packs.importExample(req.params.name, req.body);
    req.auditTargetId = s.record.pack.id;
    req.auditDetails = { example: req.params.name, name: s.record.pack.name, queries: s.record.queryCount };
    return reply.code(201).send(saved(s));
  });

  app.post('/packs/prebuilt/load', {
    config: { permission: 'packs:write', audit: 'pack.prebuilt_load', auditTarget: 'pack' },
    schema: {
      tags, summary: 'Load or update Mimir\'s prebuilt packs',
      description: 'New prebuilt packs arrive inactive and undeployed; reloading updates their queries and keeps their Active toggle and groups.',
      response: { 200: PrebuiltLoadResult },
    },
  }, async (req) => {
    const items = await packs.loadPrebuilt();
    req.auditDetails = { items: items.map((i) => ({ prebuiltId: i.prebuiltId, outcome: i.outcome })) };
    return { items: items.map(({ message, ...i }) => ({ ...i, ...(message !== undefined ? { message } : {}) })) };
  });

  app.get('/packs/:id', {
    config: { permission: 'packs:read' },
    schema: { tags, summary: 'Get a pack with its queries', params: IdParams, response: { 200: Pack, 404: ErrorBody } },
  }, async (req) => presentPack(await packs.get(req.params.id)));

  app.patch('/packs/:id', {
    config: { permission: 'packs:write', audit: 'pack.update', auditTarget: 'pack' },
    schema: {
      tags, summary: 'Change a pack', description: '`queries`, when sent, is the whole new list (matched by name). Prebuilt packs accept only enabled, global, globalShard and targets.',
      params: IdParams, body: UpdatePackRequest, response: { 200: PackSaved, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
    },
  }, async (req) => {
    const s = await packs.update(req.params.id, req.body);
    req.auditDetails = { name: s.record.pack.name, changed: Object.keys(req.body) };
    return saved(s);
  });

  app.delete('/packs/:id', {
    config: { permission: 'packs:write', audit: 'pack.delete', auditTarget: 'pack' },
    schema: { tags, summary: 'Delete a pack (hosts drop it at their next config fetch)', params: IdParams, response: { 200: OkBody, 404: ErrorBody } },
  }, async (req) => {
    const p = await packs.delete(req.params.id);
    req.auditDetails = { name: p.name };
    return { ok: true as const };
  });

  app.post('/packs/:id/copy', {
    config: { permission: 'packs:write', audit: 'pack.copy', auditTarget: 'pack' },
    preValidation: defaultBody,
    schema: { tags, summary: 'Make an editable, inactive copy (e.g. of a prebuilt pack)', params: IdParams, body: CopyPackRequest, response: { 201: Pack, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody } },
  }, async (req, reply) => {
    const r = await packs.copy(req.params.id, req.body.name);
    req.auditTargetId = r.pack.id;
    req.auditDetails = { from: req.params.id, name: r.pack.name };
    return reply.code(201).send(presentPack(r));
  });

  app.get('/packs/:id/status', {
    config: { permission: 'packs:read' },
    schema: {
      tags, summary: 'Per-query status: last run, result rows, hosts that ran it, errors, watchdog denylisting',
      params: IdParams, querystring: PackStatusQuery, response: { 200: PackStatus, 404: ErrorBody },
    },
  }, async (req) => presentPackStatus(await packs.status(req.params.id, req.query.errorWindowHours ?? 24 * 7)));
}
