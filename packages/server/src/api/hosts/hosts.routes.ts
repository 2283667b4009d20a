import { Readable } from 'node:stream';
import {
  ErrorBody, Host, HostCount, HostDetail, HostExportQuery, HostFilterQuery, HostList, HostListQuery, HostSummary, HostSummaryQuery,
  IdParams, OkBody, SoftwareList, SoftwareQuery, TargetCount, TargetSearchQuery, TargetSearchResult, TargetSpec,
} from '@mimir/api-contract';
import { csvLine } from '../csv.js';
import { SUMMARY_TTL_MS } from '../../services/hosts/hosts.service.js';
import type { ApiApp, CoreServices } from '../api.types.js';
import { iso } from '../presenters.js';
import type { HostsArea } from './hosts.module.js';
import { HOST_CSV_COLUMNS, presentHost, presentHostDetail, presentSummary } from './hosts.presenters.js';

const tags = ['hosts'];
const errors = { 400: ErrorBody, 404: ErrorBody, 422: ErrorBody };

/** Hosts: inventory, counts, dashboard summary, CSV export, details, refetch, delete; the target picker. */
export function registerHostRoutes(app: ApiApp, core: CoreServices, area: HostsArea): void {
  app.get('/hosts', {
    config: { permission: 'hosts:read' },
    schema: {
      tags, summary: 'List hosts (filters, sort, keyset cursor)', querystring: HostListQuery,
      response: { 200: HostList, 400: ErrorBody, 422: ErrorBody },
    },
  }, async (req) => {
    const page = await area.hosts.list(req.query, core.now());
    return { items: page.items.map(presentHost), nextCursor: page.nextCursor };
  });

  app.get('/hosts/count', {
    config: { permission: 'hosts:read' },
    schema: { tags, summary: 'Count hosts matching the list filters', querystring: HostFilterQuery, response: { 200: HostCount, 400: ErrorBody, 422: ErrorBody } },
  }, async (req) => ({ count: await area.hosts.count(req.query, core.now()) }));

  app.get('/hosts/summary', {
    config: { permission: 'hosts:read' },
    schema: {
      tags, summary: 'Dashboard counts by status, platform and osquery version (cached a few seconds)', querystring: HostSummaryQuery,
      response: { 200: HostSummary, 422: ErrorBody },
    },
  }, async (req) => {
    return presentSummary(await area.hosts.summary(core.now(), req.query.groupId), SUMMARY_TTL_MS / 1000);
  });

  app.get('/hosts.csv', {
    config: { permission: 'hosts:read', audit: 'host.export', auditTarget: 'host' },
    schema: {
      tags, summary: 'Export hosts as CSV (same filters and sort as the list), streamed', querystring: HostExportQuery,
      // No response schema: the body is a stream; errors before the first byte are the usual JSON.
      produces: ['text/csv'],
    },
  }, async (req, reply) => {
    const now = core.now();
    const pages = area.hosts.exportRecords(req.query, now);
    // Resolve the filters before the first byte: bad input still gets a JSON error and a 4xx.
    const first = await pages.next();
    req.auditDetails = { filters: req.query };
    async function* lines(): AsyncGenerator<string> {
      yield csvLine(HOST_CSV_COLUMNS.map(([name]) => name));
      if (first.done === true) return;
      const render = (page: Parameters<typeof presentHost>[0][]) => page.map((h) => csvLine(HOST_CSV_COLUMNS.map(([, value]) => value(h)))).join('');
      yield render(first.value);
      for await (const page of pages) yield render(page);
    }
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="hosts-${iso(now).slice(0, 10)}.csv"`)
      .header('cache-control', 'no-store')
      .send(Readable.from(lines(), { objectMode: false }));
  });

  app.get('/hosts/:id', {
    config: { permission: 'hosts:read' },
    schema: { tags, summary: 'Host details: vitals, labels, packs with query stats, errors, users', params: IdParams, response: { 200: HostDetail, ...errors } },
  }, async (req) => presentHostDetail(await area.hosts.detail(req.params.id, core.now())));

  app.get('/hosts/:id/software', {
    config: { permission: 'hosts:read' },
    schema: { tags, summary: 'A host\'s software inventory', params: IdParams, querystring: SoftwareQuery, response: { 200: SoftwareList, ...errors } },
  }, async (req) => area.hosts.software(req.params.id, req.query));

  app.post('/hosts/:id/refetch', {
    config: { permission: 'hosts:write', audit: 'host.refetch', auditTarget: 'host' },
    schema: {
      tags, summary: 'Refetch host vitals on the next check-in (also for an offline host: when it returns)', params: IdParams,
      response: { 200: Host, ...errors },
    },
  }, async (req) => presentHost(await area.hosts.refetch(req.params.id, core.now())));

  app.delete('/hosts/:id', {
    config: { permission: 'hosts:write', audit: 'host.delete', auditTarget: 'host' },
    schema: { tags, summary: 'Delete a host (it re-enrolls as a new host if osquery still runs there)', params: IdParams, response: { 200: OkBody, ...errors } },
  }, async (req) => {
    const gone = await area.hosts.delete(req.params.id);
    area.labels.invalidateCounts();
    req.auditDetails = gone;
    return { ok: true as const };
  });

  // --- live-query target picker

  app.get('/targets/search', {
    config: { permission: 'hosts:read' },
    schema: {
      tags: ['targets'], summary: 'Suggest hosts, groups, labels and platforms as you type', querystring: TargetSearchQuery,
      response: { 200: TargetSearchResult, 400: ErrorBody },
    },
  }, async (req) => area.targets.search(req.query.q, req.query.limit ?? 10, core.now()));

  app.post('/targets/count', {
    config: { permission: 'hosts:read' },
    schema: {
      tags: ['targets'], summary: 'How many hosts a target selection reaches, and how many are online', body: TargetSpec,
      response: { 200: TargetCount, 400: ErrorBody },
    },
  }, async (req) => area.targets.count(req.body, core.now()));
}
