import {
  CopySavedQueryRequest, CreateSavedQueryRequest, ErrorBody, IdParams, OkBody, SavedQuery, SavedQueryList, SavedQueryListQuery,
  SqlValidationResult, UpdateSavedQueryRequest, ValidateSqlRequest,
} from '@mimir/api-contract';
import type { SavedQueryService } from '../../services/queries/saved-query.service.js';
import { decodeCursor, encodeCursor } from '../../storage/sql-helpers.js';
import type { ApiApp, CoreServices } from '../api.types.js';
import { presentIssue, presentSavedQuery } from './queries.presenters.js';

const TAGS = ['queries'];

/** Saved queries (seed 004 "Save queries") and the console's inline SQL validation. */
export function registerSavedQueryRoutes(app: ApiApp, core: CoreServices, queries: SavedQueryService): void {
  app.get('/queries', {
    config: { permission: 'queries:read' },
    schema: { tags: TAGS, summary: 'List saved queries (by name; search with q)', querystring: SavedQueryListQuery, response: { 200: SavedQueryList } },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    const after = decodeCursor(req.query.cursor);
    const { items, more } = await queries.list({ limit, afterName: typeof after === 'string' ? after : undefined, q: req.query.q, prebuilt: req.query.prebuilt });
    const last = items[items.length - 1];
    return { items: items.map(presentSavedQuery), nextCursor: more && last !== undefined ? encodeCursor(last.row.name) : null };
  });

  app.post('/queries', {
    config: { permission: 'queries:write', audit: 'saved_query.create', auditTarget: 'saved_query' },
    schema: {
      tags: TAGS, summary: 'Save a query (SQL is checked against the osquery schema; warnings come back with it)',
      body: CreateSavedQueryRequest, response: { 201: SavedQuery, 409: ErrorBody, 422: ErrorBody },
    },
  }, async (req, reply) => {
    const saved = await queries.create(req.body, req.principal?.email ?? '', core.now());
    req.auditTargetId = saved.row.id;
    req.auditDetails = { name: saved.row.name };
    return reply.code(201).send(presentSavedQuery(saved));
  });

  app.post('/queries/validate', {
    config: { permission: 'queries:read' },
    schema: {
      tags: TAGS, summary: 'Check SQL against the osquery schema (and an ECS mapping) without saving',
      body: ValidateSqlRequest, response: { 200: SqlValidationResult },
    },
  }, (req) => {
    const v = queries.validate(req.body.sql, req.body.platforms, req.body.ecsMapping);
    return { ...v, errors: v.errors.map(presentIssue), warnings: v.warnings.map(presentIssue) };
  });

  app.get('/queries/:id', {
    config: { permission: 'queries:read' },
    schema: { tags: TAGS, summary: 'Get a saved query', params: IdParams, response: { 200: SavedQuery, 404: ErrorBody } },
  }, async (req) => presentSavedQuery(await queries.get(req.params.id)));

  app.patch('/queries/:id', {
    config: { permission: 'queries:write', audit: 'saved_query.update', auditTarget: 'saved_query' },
    schema: {
      tags: TAGS, summary: 'Change a saved query (an ecsMapping sent replaces the whole mapping; prebuilt queries are read-only)',
      params: IdParams, body: UpdateSavedQueryRequest, response: { 200: SavedQuery, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
    },
  }, async (req) => {
    const saved = await queries.update(req.params.id, req.body, req.principal?.email ?? '', core.now());
    req.auditDetails = { name: saved.row.name, changed: Object.keys(req.body) };
    return presentSavedQuery(saved);
  });

  app.delete('/queries/:id', {
    config: { permission: 'queries:write', audit: 'saved_query.delete', auditTarget: 'saved_query' },
    schema: { tags: TAGS, summary: 'Delete a saved query (not a prebuilt one)', params: IdParams, response: { 200: OkBody, 404: ErrorBody, 409: ErrorBody } },
  }, async (req) => {
    const row = await queries.delete(req.params.id);
    req.auditDetails = { name: row.name };
    return { ok: true as const };
  });

  app.post('/queries/:id/copy', {
    config: { permission: 'queries:write', audit: 'saved_query.copy', auditTarget: 'saved_query' },
    schema: {
      tags: TAGS, summary: 'Copy a saved query (how a prebuilt query is changed)',
      params: IdParams, body: CopySavedQueryRequest, response: { 201: SavedQuery, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
    },
  }, async (req, reply) => {
    const saved = await queries.copy(req.params.id, req.body.name, req.principal?.email ?? '', core.now());
    req.auditTargetId = saved.row.id;
    req.auditDetails = { name: saved.row.name, copiedFrom: req.params.id };
    return reply.code(201).send(presentSavedQuery(saved));
  });
}
