import { AuditList, AuditQuery } from '@mimir/api-contract';
import { decodeCursor, encodeCursor } from '../../storage/sql-helpers.js';
import type { ApiApp, CoreServices } from '../api.types.js';
import { presentAudit } from '../presenters.js';

/** The audit log: searchable and paginated, newest first (admin only). */
export function registerAuditRoutes(app: ApiApp, core: CoreServices): void {
  app.get('/audit', {
    config: { permission: 'audit:read' },
    schema: { tags: ['audit'], summary: 'Search the audit log', querystring: AuditQuery, response: { 200: AuditList } },
  }, async (req) => {
    const q = req.query;
    const limit = q.limit ?? 50;
    const before = decodeCursor(q.cursor);
    const rows = await core.store.audit.list({
      beforeId: typeof before === 'number' ? before : undefined,
      limit: limit + 1,
      q: q.q,
      action: q.action,
      actorId: q.actorId,
      since: q.since !== undefined ? Date.parse(q.since) : undefined,
      until: q.until !== undefined ? Date.parse(q.until) : undefined,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(presentAudit), nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.id) : null };
  });
}
