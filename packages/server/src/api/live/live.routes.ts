/**
 * Live query routes (issue #4 "Live queries", seed 004). One service call per handler; shapes come
 * from `@mimir/api-contract` (live.ts); presenters turn rows into camelCase.
 */
import { Readable } from 'node:stream';
import {
  CreateLiveQueryRequest, ErrorBody, IdParams, LiveCancelResult, LiveHostList, LiveHostQuery, LiveQuery, LiveQueryList,
  LiveQueryListQuery, LiveResultExportQuery, LiveResultPage, LiveResultQuery,
} from '@mimir/api-contract';
import { UnauthorizedError } from '../../errors.js';
import type { TargetSpec } from '../../services/contracts.js';
import type { Actor, LiveQueryService } from '../../services/live/live-query.service.js';
import { decodeCursor, encodeCursor } from '../../storage/sql-helpers.js';
import type { ApiApp, CoreServices } from '../api.types.js';
import type { FastifyRequest } from 'fastify';
import type { LiveQueryPartRow } from '../../storage/repositories/live-queries.repository.js';
import { csvExport, ndjsonExport, type ExportFilter } from './live.export.js';
import { ecsContext, presentHost, presentLiveQuery, presentResult, presentSummary, type EcsContext } from './live.presenters.js';
import { streamLiveQuery, type StreamRegistry } from './live.stream.js';

const TAGS = ['live queries'];

function actorOf(req: FastifyRequest): Actor {
  if (req.principal === undefined) throw new UnauthorizedError('not signed in');
  return { userId: req.principal.userId, email: req.principal.email };
}

/** What the audit entry keeps of the targets: counts, not 100k host ids. */
function targetSummary(t: TargetSpec) {
  return {
    all: t.all === true,
    hostIds: t.hostIds?.length ?? 0,
    labelIds: t.labelIds ?? [],
    groupIds: t.groupIds ?? [],
    platforms: t.platforms ?? [],
  };
}

function afterNumber(cursor: string | undefined): number | undefined {
  const v = decodeCursor(cursor);
  return typeof v === 'number' ? v : undefined;
}

function afterPair(cursor: string | undefined): [number, number] | undefined {
  const v = decodeCursor(cursor);
  return Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number' ? [v[0], v[1]] : undefined;
}

export function registerLiveRoutes(app: ApiApp, core: CoreServices, svc: LiveQueryService, streams: StreamRegistry): void {
  const detail = async (id: number) => presentLiveQuery(await svc.get(id), svc);

  app.post('/live-queries', {
    config: { permission: 'live:run', audit: 'live_query.run', auditTarget: 'live_query' },
    schema: {
      tags: TAGS,
      summary: 'Run a live query (SQL, or several queries like a pack) on targeted hosts',
      description: 'Offline hosts stay queued until the timeout and answer when they come back. Exactly one of sql, savedQueryId, packId, queries.',
      body: CreateLiveQueryRequest,
      response: { 201: LiveQuery, 422: ErrorBody },
    },
  }, async (req, reply) => {
    const id = await svc.create(req.body, actorOf(req));
    const out = await detail(id);
    req.auditTargetId = id;
    req.auditDetails = {
      sql: out.queries.length === 1 ? out.queries[0]?.sql : out.queries.map((q) => ({ name: q.name, sql: q.sql })),
      targets: targetSummary(req.body.targets),
      targeted: out.counts.targeted,
      timeoutSeconds: out.timeoutSeconds,
    };
    return reply.code(201).send(out);
  });

  app.get('/live-queries', {
    config: { permission: 'live:read' },
    schema: { tags: TAGS, summary: 'Live query history, newest first (last 30 days by default)', querystring: LiveQueryListQuery, response: { 200: LiveQueryList } },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    const rows = await svc.list({ beforeId: afterNumber(req.query.cursor), days: req.query.days, q: req.query.q, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map((r) => presentSummary(r.row, r.parts)), nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.row.id) : null };
  });

  app.get('/live-queries/:id', {
    config: { permission: 'live:read' },
    schema: { tags: TAGS, summary: 'A live query: SQL, targets, counts, rows, truncation', params: IdParams, response: { 200: LiveQuery, 404: ErrorBody } },
  }, async (req) => detail(req.params.id));

  app.get('/live-queries/:id/hosts', {
    config: { permission: 'live:read' },
    schema: {
      tags: TAGS,
      summary: 'Per-host status: successful, failed (with the osquery error), pending (delivered or not), expired, cancelled',
      params: IdParams,
      querystring: LiveHostQuery,
      response: { 200: LiveHostList, 404: ErrorBody },
    },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    const rows = await svc.hosts(req.params.id, { status: req.query.status, queryIdx: req.query.queryIndex, after: afterPair(req.query.cursor), limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(presentHost), nextCursor: rows.length > limit && last !== undefined ? encodeCursor([last.query_idx, last.host_id]) : null };
  });

  app.get('/live-queries/:id/results', {
    config: { permission: 'live:read' },
    schema: {
      tags: TAGS,
      summary: 'Result rows, filtered by host and free text; ECS fields next to the osquery columns when mapped',
      params: IdParams,
      querystring: LiveResultQuery,
      response: { 200: LiveResultPage, 404: ErrorBody },
    },
  }, async (req) => {
    const limit = req.query.limit ?? 100;
    const q = req.query;
    const { row, rows } = await svc.results(req.params.id, { afterId: afterNumber(q.cursor), hostId: q.hostId, queryIdx: q.queryIndex, q: q.q, limit: limit + 1 });
    const ctx = ecsContext(await svc.parts(req.params.id), core.hub);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => presentResult(r, ctx)),
      nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.id) : null,
      truncated: row.truncated === 1,
      notice: svc.notice(row),
    };
  });

  // Both exports stream page by page with the same filters; only the line format differs.
  const exports = [
    { ext: 'csv', type: 'text/csv', summary: 'Export results as CSV (streamed; spreadsheet formulas neutralised)', lines: csvExport },
    {
      ext: 'ndjson', type: 'application/x-ndjson', summary: 'Export results as NDJSON (streamed; one result row per line)',
      lines: (s: LiveQueryService, id: number, _parts: readonly LiveQueryPartRow[], ctx: EcsContext, f: ExportFilter) => ndjsonExport(s, id, ctx, f),
    },
  ] as const;
  for (const e of exports) {
    app.get(`/live-queries/:id/results.${e.ext}`, {
      config: { permission: 'live:read' },
      schema: { tags: TAGS, summary: e.summary, params: IdParams, querystring: LiveResultExportQuery, produces: [e.type] },
    }, async (req, reply) => {
      const id = req.params.id;
      const parts = (await svc.get(id)).parts;
      const f = { hostId: req.query.hostId, queryIdx: req.query.queryIndex, q: req.query.q };
      void reply
        .header('content-type', `${e.type}; charset=utf-8`)
        .header('content-disposition', `attachment; filename="live-query-${id}.${e.ext}"`)
        .header('x-content-type-options', 'nosniff');
      return reply.send(Readable.from(e.lines(svc, id, parts, ecsContext(parts, core.hub), f)));
    });
  }

  app.get('/live-queries/:id/stream', {
    config: { permission: 'live:read' },
    schema: {
      tags: TAGS,
      summary: 'Follow a live query as Server-Sent Events: status (≤ 1/s), result (batched rows), done',
      description: 'Starts with the current counts. Send Last-Event-ID to resume after the last complete answer. Single instance: cross-instance fan-out comes with scale-out.',
      params: IdParams,
      produces: ['text/event-stream'],
      response: { 404: ErrorBody },
    },
  }, async (req, reply) => {
    const id = req.params.id;
    await streamLiveQuery(req, reply, svc, id, ecsContext(await svc.parts(id), core.hub), streams, core.log);
  });

  app.post('/live-queries/:id/cancel', {
    config: { permission: 'live:run', audit: 'live_query.cancel', auditTarget: 'live_query' },
    schema: {
      tags: TAGS,
      summary: 'Cancel: undelivered queue items are removed, pending hosts become cancelled',
      params: IdParams,
      response: { 200: LiveCancelResult, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req) => {
    const r = await svc.cancel(req.params.id);
    req.auditDetails = r;
    return { ...r, liveQuery: await detail(req.params.id) };
  });

  app.post('/live-queries/:id/rerun', {
    config: { permission: 'live:run', audit: 'live_query.rerun', auditTarget: 'live_query' },
    schema: {
      tags: TAGS,
      summary: 'Run again with the same SQL, targets (resolved again) and timeout: a new live query',
      params: IdParams,
      response: { 201: LiveQuery, 404: ErrorBody, 422: ErrorBody },
    },
  }, async (req, reply) => {
    const id = await svc.rerun(req.params.id, actorOf(req));
    const out = await detail(id);
    req.auditTargetId = id;
    req.auditDetails = { rerunOf: req.params.id, targeted: out.counts.targeted };
    return reply.code(201).send(out);
  });
}
