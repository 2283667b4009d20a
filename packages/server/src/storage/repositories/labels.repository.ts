/** labels, label_membership and host_label_schedule (hosts area). */
import { sql, type Insertable, type Kysely, type Updateable } from 'kysely';
import type { Database, LabelsTable } from '../schema.js';
import { likeContains } from '../sql-helpers.js';

/** Bound values per statement stay far below SQLite's 32766 and PostgreSQL's 65535. */
const CHUNK = 500;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function createLabelRepository(db: Kysely<Database>) {
  return {
    findById(id: number) {
      return db.selectFrom('labels').selectAll().where('id', '=', id).executeTakeFirst();
    },

    findByName(name: string) {
      return db.selectFrom('labels').selectAll().where('name', '=', name).executeTakeFirst();
    },

    /** Keyset page by id ascending (builtin labels have the lowest ids, so they come first). */
    list(f: { afterId: number; limit: number; type?: string | undefined; q?: string | undefined }) {
      let q = db.selectFrom('labels').selectAll().where('id', '>', f.afterId).orderBy('id').limit(f.limit);
      if (f.type !== undefined) q = q.where('label_type', '=', f.type);
      if (f.q !== undefined && f.q !== '') q = q.where(likeContains('name', f.q));
      return q.execute();
    },

    listAll() {
      return db.selectFrom('labels').selectAll().orderBy('id').execute();
    },

    listByIds(ids: readonly number[]) {
      if (ids.length === 0) return Promise.resolve([]);
      return db.selectFrom('labels').selectAll().where('id', 'in', [...ids]).orderBy('id').execute();
    },

    searchByName(text: string, limit: number) {
      return db.selectFrom('labels').selectAll().where(likeContains('name', text)).orderBy('id').limit(limit).execute();
    },

    async insert(values: Insertable<LabelsTable>): Promise<number> {
      const r = await db.insertInto('labels').values(values).returning('id').executeTakeFirstOrThrow();
      return r.id;
    },

    async update(id: number, values: Updateable<LabelsTable>): Promise<void> {
      await db.updateTable('labels').set(values).where('id', '=', id).execute();
    },

    async delete(id: number): Promise<boolean> {
      const r = await db.deleteFrom('labels').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },

    // --- membership (dynamic and manual labels)

    /** Adds members; returns how many were not members before. */
    async addMembers(labelId: number, hostIds: readonly number[], now: number): Promise<number> {
      let added = 0;
      for (const part of chunks(hostIds)) {
        const r = await db
          .insertInto('label_membership')
          .values(part.map((hostId) => ({ label_id: labelId, host_id: hostId, created_at: now })))
          .onConflict((oc) => oc.columns(['label_id', 'host_id']).doNothing())
          .executeTakeFirst();
        added += Number(r.numInsertedOrUpdatedRows ?? 0n);
      }
      return added;
    },

    /** Removes members; returns how many were members. */
    async removeMembers(labelId: number, hostIds: readonly number[]): Promise<number> {
      let removed = 0;
      for (const part of chunks(hostIds)) {
        const r = await db.deleteFrom('label_membership').where('label_id', '=', labelId).where('host_id', 'in', part).executeTakeFirst();
        removed += Number(r.numDeletedRows);
      }
      return removed;
    },

    async clearMembers(labelId: number): Promise<number> {
      const r = await db.deleteFrom('label_membership').where('label_id', '=', labelId).executeTakeFirst();
      return Number(r.numDeletedRows);
    },

    /** Member counts of every dynamic/manual label that has members. */
    async memberCounts(): Promise<Map<number, number>> {
      const rows = await db
        .selectFrom('label_membership')
        .select((eb) => ['label_id', eb.fn.countAll().as('n')])
        .groupBy('label_id')
        .execute();
      return new Map(rows.map((r) => [r.label_id, Number(r.n)]));
    },

    async memberCount(labelId: number): Promise<number> {
      const r = await db
        .selectFrom('label_membership')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('label_id', '=', labelId)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },

    /** Labels a host is a stored member of. */
    labelsOfHost(hostId: number) {
      return db
        .selectFrom('label_membership')
        .innerJoin('labels', 'labels.id', 'label_membership.label_id')
        .select(['labels.id', 'labels.name', 'labels.label_type'])
        .where('label_membership.host_id', '=', hostId)
        .orderBy('labels.id')
        .execute();
    },

    // --- dynamic label schedule

    async maxHostId(): Promise<number> {
      const r = await db.selectFrom('hosts').select(sql<number | string | null>`max(id)`.as('m')).executeTakeFirst();
      return Number(r?.m ?? 0);
    },

    /** Hosts in (afterId, upToId] with no schedule row yet (new since the last scan), by id. */
    unscheduledHosts(afterId: number, upToId: number, limit: number) {
      return db
        .selectFrom('hosts')
        .select(['hosts.id', 'hosts.platform'])
        .where('hosts.id', '>', afterId)
        .where('hosts.id', '<=', upToId)
        .where((eb) => eb.not(eb.exists(eb.selectFrom('host_label_schedule').select(sql.lit(1).as('one')).whereRef('host_label_schedule.host_id', '=', 'hosts.id'))))
        .orderBy('hosts.id')
        .limit(limit)
        .execute();
    },

    /** Hosts whose dynamic labels are due, oldest due first. */
    dueHosts(now: number, limit: number) {
      return db
        .selectFrom('host_label_schedule')
        .innerJoin('hosts', 'hosts.id', 'host_label_schedule.host_id')
        .select(['hosts.id', 'hosts.platform'])
        .where('host_label_schedule.due_at', '<=', now)
        .orderBy('host_label_schedule.due_at')
        .orderBy('host_label_schedule.host_id')
        .limit(limit)
        .execute();
    },

    async setDue(rows: ReadonlyArray<readonly [hostId: number, dueAt: number]>): Promise<void> {
      for (const part of chunks(rows)) {
        await db
          .insertInto('host_label_schedule')
          .values(part.map(([hostId, dueAt]) => ({ host_id: hostId, due_at: dueAt })))
          .onConflict((oc) => oc.column('host_id').doUpdateSet((eb) => ({ due_at: eb.ref('excluded.due_at') })))
          .execute();
      }
    },

    dueAt(hostId: number) {
      return db.selectFrom('host_label_schedule').select('due_at').where('host_id', '=', hostId).executeTakeFirst();
    },

    /**
     * Drop queued, not yet delivered runs of a label's query (the label was deleted or its query
     * replaced), so hosts do not run SQL nobody will read.
     */
    async dropUndeliveredQueries(name: string): Promise<number> {
      const r = await db
        .deleteFrom('distributed_queue')
        .where('name', '=', name)
        .where('source', '=', 'label')
        .where('delivered_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

export type LabelRepository = ReturnType<typeof createLabelRepository>;
