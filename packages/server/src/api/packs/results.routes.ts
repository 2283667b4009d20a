import type { FastifyReply } from 'fastify';
import Type from 'typebox';
import { ErrorBody, ScheduledResultList, ScheduledResultsExportQuery, ScheduledResultsQuery } from '@mimir/api-contract';
import type { ResultQuery, ResultsService } from '../../services/results/results.service.js';
import type { ApiApp } from '../api.types.js';
import { csvStream, ndjsonStream } from './export-format.js';
import { presentResult } from './packs.presenters.js';

const tags = ['results'];

type Filters = Omit<ScheduledResultsQuery, 'limit' | 'cursor'>;

function queryOf(q: Filters): ResultQuery {
  return {
    packId: q.packId,
    pack: q.pack,
    query: q.query,
    name: q.name,
    hostId: q.hostId,
    action: q.action,
    sinceMs: q.since !== undefined ? Date.parse(q.since) : undefined,
    untilMs: q.until !== undefined ? Date.parse(q.until) : undefined,
    q: q.q,
  };
}

function attachment(reply: FastifyReply, type: string, ext: string): void {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  void reply
    .header('content-type', type)
    .header('content-disposition', `attachment; filename="mimir-results-${stamp}.${ext}"`)
    .header('cache-control', 'no-store');
}

/** Scheduled results: browse newest first, or export everything matching as CSV / NDJSON. */
export function registerResultRoutes(app: ApiApp, results: ResultsService): void {
  app.get('/results', {
    config: { permission: 'results:read' },
    schema: {
      tags, summary: 'Browse scheduled query results, newest first',
      description: 'Filter by pack, query, host, osquery time (since/until), action and free text over column values. Rows of pack queries with an ECS mapping carry the mapped document in `ecs`.',
      querystring: ScheduledResultsQuery, response: { 200: ScheduledResultList, 400: ErrorBody, 404: ErrorBody, 422: ErrorBody },
    },
  }, async (req) => {
    const { limit, cursor, ...filters } = req.query;
    const page = await results.page(queryOf(filters), cursor, limit ?? 50);
    return { items: page.items.map(presentResult), nextCursor: page.nextCursor };
  });

  app.get('/results.csv', {
    config: { permission: 'results:read', audit: 'results.export', auditTarget: 'results' },
    schema: {
      tags, summary: 'Export matching results as CSV (streamed)',
      description: 'Same filters as GET /results. One row per result; `columns` and `ecs` are JSON. Cells that would start a spreadsheet formula are prefixed with an apostrophe.',
      querystring: ScheduledResultsExportQuery, produces: ['text/csv'], response: { 200: Type.Unknown({ description: 'CSV text' }), 400: ErrorBody, 404: ErrorBody, 422: ErrorBody },
    },
  }, async (req, reply) => {
    const { limit, ...filters } = req.query;
    const rows = await results.export(queryOf(filters), limit);
    req.auditDetails = { format: 'csv', filters };
    attachment(reply, 'text/csv; charset=utf-8', 'csv');
    return reply.send(csvStream(rows));
  });

  app.get('/results.ndjson', {
    config: { permission: 'results:read', audit: 'results.export', auditTarget: 'results' },
    schema: {
      tags, summary: 'Export matching results as NDJSON (streamed)',
      description: 'Same filters as GET /results; each line is one item as GET /results returns it.',
      querystring: ScheduledResultsExportQuery, produces: ['application/x-ndjson'], response: { 200: Type.Unknown({ description: 'One JSON result per line' }), 400: ErrorBody, 404: ErrorBody, 422: ErrorBody },
    },
  }, async (req, reply) => {
    const { limit, ...filters } = req.query;
    const rows = await results.export(queryOf(filters), limit);
    req.auditDetails = { format: 'ndjson', filters };
    attachment(reply, 'application/x-ndjson; charset=utf-8', 'ndjson');
    return reply.send(ndjsonStream(rows));
  });
}
