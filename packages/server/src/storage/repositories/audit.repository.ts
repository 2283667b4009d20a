import type { Insertable, Kysely } from 'kysely';
import type { AuditLogTable, Database } from '../schema.js';
import { likeContains } from '../sql-helpers.js';

export interface AuditFilter {
  beforeId?: number | undefined;
  limit: number;
  q?: string | undefined;
  action?: string | undefined;
  actorId?: number | undefined;
  since?: number | undefined;
  until?: number | undefined;
}

export function createAuditRepository(db: Kysely<Database>) {
  return {
    async insert(values: Insertable<AuditLogTable>): Promise<number> {
      const r = await db.insertInto('audit_log').values(values).returning('id').executeTakeFirstOrThrow();
      return r.id;
    },
    /** Newest first, keyset by id. */
    list(f: AuditFilter) {
      let q = db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(f.limit);
      if (f.beforeId !== undefined) q = q.where('id', '<', f.beforeId);
      if (f.action !== undefined) q = q.where('action', '=', f.action);
      if (f.actorId !== undefined) q = q.where('actor_id', '=', f.actorId);
      if (f.since !== undefined) q = q.where('at', '>=', f.since);
      if (f.until !== undefined) q = q.where('at', '<', f.until);
      if (f.q !== undefined && f.q !== '') {
        const text = f.q;
        q = q.where((eb) => eb.or(['action', 'actor_email', 'target_type', 'target_id', 'details'].map((c) => likeContains(c, text))));
      }
      return q.execute();
    },
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;
