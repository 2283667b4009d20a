import type { Insertable, Kysely } from 'kysely';
import type { Database, DistributedQueueTable, DistributedResultsTable } from '../schema.js';

export type NewQueueItem = Insertable<DistributedQueueTable>;
export type ResultUpsert = Insertable<DistributedResultsTable>;

export function createDistributedRepository(db: Kysely<Database>) {
  return {
    /** Queue queries for hosts; an item with the same (host, name) already queued is replaced. */
    async enqueue(items: readonly NewQueueItem[]): Promise<void> {
      for (let i = 0; i < items.length; i += 500) {
        await db
          .insertInto('distributed_queue')
          .values(items.slice(i, i + 500))
          .onConflict((oc) =>
            oc.columns(['host_id', 'name']).doUpdateSet((eb) => ({
              sql: eb.ref('excluded.sql'),
              discovery: eb.ref('excluded.discovery'),
              source: eb.ref('excluded.source'),
              created_at: eb.ref('excluded.created_at'),
              expires_at: eb.ref('excluded.expires_at'),
              delivered_at: null,
              answered_at: null,
            })),
          )
          .execute();
      }
    },

    /** Hosts that have at least one undelivered, unexpired item (loaded once at start). */
    async pendingHostIds(now: number): Promise<number[]> {
      const rows = await db
        .selectFrom('distributed_queue')
        .select('host_id')
        .distinct()
        .where('delivered_at', 'is', null)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .execute();
      return rows.map((r) => r.host_id);
    },

    pendingForHost(hostId: number, now: number) {
      return db
        .selectFrom('distributed_queue')
        .select(['id', 'name', 'sql', 'discovery'])
        .where('host_id', '=', hostId)
        .where('delivered_at', 'is', null)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .orderBy('id')
        .execute();
    },

    async markDelivered(ids: readonly number[], now: number): Promise<void> {
      if (ids.length === 0) return;
      await db.updateTable('distributed_queue').set({ delivered_at: now }).where('id', 'in', ids).execute();
    },

    async markAnswered(hostId: number, names: readonly string[], now: number): Promise<void> {
      if (names.length === 0) return;
      await db
        .updateTable('distributed_queue')
        .set({ answered_at: now })
        .where('host_id', '=', hostId)
        .where('name', 'in', names)
        .execute();
    },

    /** Idempotent: a resent write replaces the same (host, name) result. */
    async upsertResults(rows: readonly ResultUpsert[]): Promise<void> {
      for (const row of rows) {
        await db
          .insertInto('distributed_results')
          .values(row)
          .onConflict((oc) =>
            oc.columns(['host_id', 'name']).doUpdateSet({
              status: row.status,
              message: row.message,
              rows: row.rows,
              row_count: row.row_count,
              stats: row.stats ?? null,
              received_at: row.received_at,
            }),
          )
          .execute();
      }
    },

    getResult(hostId: number, name: string) {
      return db.selectFrom('distributed_results').selectAll().where('host_id', '=', hostId).where('name', '=', name).executeTakeFirst();
    },

    getQueueItem(hostId: number, name: string) {
      return db.selectFrom('distributed_queue').selectAll().where('host_id', '=', hostId).where('name', '=', name).executeTakeFirst();
    },

    async countResults(): Promise<number> {
      const r = await db.selectFrom('distributed_results').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return r.n;
    },

    async deleteExpired(now: number): Promise<number> {
      const r = await db.deleteFrom('distributed_queue').where('expires_at', '<', now).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

export type DistributedRepository = ReturnType<typeof createDistributedRepository>;
