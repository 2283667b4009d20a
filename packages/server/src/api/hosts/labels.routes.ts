import {
  CreateLabelRequest, ErrorBody, HostList, HostListQuery, IdParams, Label, LabelHostsRequest, LabelHostsResult, LabelList, LabelListQuery,
  LabelWriteResult, OkBody, UpdateLabelRequest,
} from '@mimir/api-contract';
import type { ApiApp, CoreServices } from '../api.types.js';
import type { HostsArea } from './hosts.module.js';
import { presentHost, presentLabel } from './hosts.presenters.js';

const tags = ['labels'];
const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody };

/** Built-in, dynamic (SQL) and manual labels. */
export function registerLabelRoutes(app: ApiApp, core: CoreServices, area: HostsArea): void {
  const { labels } = area;

  app.get('/labels', {
    config: { permission: 'labels:read' },
    schema: { tags, summary: 'List labels with host counts (built-in labels first)', querystring: LabelListQuery, response: { 200: LabelList, 400: ErrorBody, 422: ErrorBody } },
  }, async (req) => {
    const page = await labels.list(req.query, core.now());
    return { items: page.items.map(presentLabel), nextCursor: page.nextCursor };
  });

  app.get('/labels/:id', {
    config: { permission: 'labels:read' },
    schema: { tags, summary: 'Get a label', params: IdParams, response: { 200: Label, ...errors } },
  }, async (req) => presentLabel(await labels.get(req.params.id, core.now())));

  app.post('/labels', {
    config: { permission: 'labels:write', audit: 'label.create', auditTarget: 'label' },
    schema: {
      tags, summary: 'Create a dynamic label (SQL, queued on every matching host) or a manual one', body: CreateLabelRequest,
      response: { 201: LabelWriteResult, ...errors },
    },
  }, async (req, reply) => {
    const r = await labels.create(req.body, core.now());
    req.auditTargetId = r.label.row.id;
    req.auditDetails = { name: r.label.row.name, type: r.label.row.label_type, query: r.label.row.query, platforms: r.label.row.platforms, hostIds: req.body.hostIds?.length ?? 0 };
    return reply.code(201).send({ label: presentLabel(r.label), queuedHosts: r.queuedHosts });
  });

  app.patch('/labels/:id', {
    config: { permission: 'labels:write', audit: 'label.update', auditTarget: 'label' },
    schema: {
      tags, summary: 'Rename or describe a label; a new query or platform set clears membership and re-runs it', params: IdParams, body: UpdateLabelRequest,
      response: { 200: LabelWriteResult, ...errors },
    },
  }, async (req) => {
    const r = await labels.update(req.params.id, req.body, core.now());
    req.auditDetails = { changed: r.changed, ...req.body };
    return { label: presentLabel(r.label), queuedHosts: r.queuedHosts };
  });

  app.delete('/labels/:id', {
    config: { permission: 'labels:write', audit: 'label.delete', auditTarget: 'label' },
    schema: { tags, summary: 'Delete a label (built-in labels cannot be deleted)', params: IdParams, response: { 200: OkBody, ...errors } },
  }, async (req) => {
    const row = await labels.delete(req.params.id);
    req.auditDetails = { name: row.name, type: row.label_type };
    return { ok: true as const };
  });

  app.get('/labels/:id/hosts', {
    config: { permission: 'hosts:read' },
    schema: { tags, summary: 'Hosts in a label (same filters and sorts as GET /hosts)', params: IdParams, querystring: HostListQuery, response: { 200: HostList, ...errors } },
  }, async (req) => {
    const now = core.now();
    await labels.get(req.params.id, now);
    const page = await area.hosts.list({ ...req.query, labelId: req.params.id }, now);
    return { items: page.items.map(presentHost), nextCursor: page.nextCursor };
  });

  app.post('/labels/:id/hosts', {
    config: { permission: 'labels:write', audit: 'label.add_hosts', auditTarget: 'label' },
    schema: { tags, summary: 'Add hosts to a manual label', params: IdParams, body: LabelHostsRequest, response: { 200: LabelHostsResult, ...errors } },
  }, async (req) => {
    const r = await labels.addHosts(req.params.id, req.body.hostIds, core.now());
    req.auditDetails = { hostIds: req.body.hostIds.slice(0, 1000), added: r.changed };
    return r;
  });

  app.post('/labels/:id/hosts/remove', {
    config: { permission: 'labels:write', audit: 'label.remove_hosts', auditTarget: 'label' },
    schema: { tags, summary: 'Remove hosts from a manual label', params: IdParams, body: LabelHostsRequest, response: { 200: LabelHostsResult, ...errors } },
  }, async (req) => {
    const r = await labels.removeHosts(req.params.id, req.body.hostIds);
    req.auditDetails = { hostIds: req.body.hostIds.slice(0, 1000), removed: r.changed };
    return r;
  });
}
