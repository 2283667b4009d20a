import type { Insertable, Kysely, Updateable } from 'kysely';
import type { Database, HostsTable } from '../schema.js';

/** The columns the check-in path needs, kept in the in-memory host cache. */
export interface HostAuthRow {
  id: number;
  group_id: number;
  identifier: string;
  hostname: string;
  platform: string;
  osquery_version: string;
  detail_updated_at: number;
  refetch_requested: number;
  distributed_interval: number;
  config_refresh: number;
}

const AUTH_COLUMNS = [
  'id', 'group_id', 'identifier', 'hostname', 'platform', 'osquery_version', 'detail_updated_at', 'refetch_requested',
  'distributed_interval', 'config_refresh',
] as const;

export type NewHost = Insertable<HostsTable>;
export type HostUpdate = Updateable<HostsTable>;

export function createHostRepository(db: Kysely<Database>) {
  return {
    findByNodeKeyHash(hash: string): Promise<HostAuthRow | undefined> {
      return db.selectFrom('hosts').select(AUTH_COLUMNS).where('node_key_hash', '=', hash).executeTakeFirst();
    },

    findAuthById(id: number): Promise<HostAuthRow | undefined> {
      return db.selectFrom('hosts').select(AUTH_COLUMNS).where('id', '=', id).executeTakeFirst();
    },

    /** Every host enrolled under an identifier, with when it was last seen (0 = never). */
    findByIdentifier(identifier: string) {
      return db
        .selectFrom('hosts')
        .leftJoin('host_seen', 'host_seen.host_id', 'hosts.id')
        .select(['hosts.id', 'hosts.instance_id', 'hosts.node_key_hash', 'hosts.last_enrolled_at', 'host_seen.seen_at'])
        .where('hosts.identifier', '=', identifier)
        .orderBy('hosts.id')
        .execute();
    },

    findById(id: number) {
      return db.selectFrom('hosts').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async insert(values: NewHost): Promise<number> {
      const r = await db.insertInto('hosts').values(values).returning('id').executeTakeFirstOrThrow();
      return r.id;
    },

    async update(id: number, values: HostUpdate): Promise<void> {
      await db.updateTable('hosts').set(values).where('id', '=', id).execute();
    },

    async delete(id: number): Promise<boolean> {
      const r = await db.deleteFrom('hosts').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },

    /**
     * Batched last-seen write: one statement per host inside the caller's transaction. A host
     * deleted since its check-in is skipped (INSERT … SELECT from hosts), so one deletion never
     * fails the whole batch on the foreign key.
     */
    async upsertSeen(batch: ReadonlyArray<readonly [hostId: number, seenAt: number]>): Promise<void> {
      for (const [hostId, seenAt] of batch) {
        await db
          .insertInto('host_seen')
          .columns(['host_id', 'seen_at'])
          .expression((eb) => eb.selectFrom('hosts').select((s) => [s.ref('id').as('host_id'), s.val(seenAt).as('seen_at')]).where('id', '=', hostId))
          .onConflict((oc) => oc.column('host_id').doUpdateSet({ seen_at: seenAt }))
          .execute();
      }
    },

    async seenAt(hostId: number): Promise<number | undefined> {
      const r = await db.selectFrom('host_seen').select('seen_at').where('host_id', '=', hostId).executeTakeFirst();
      return r?.seen_at;
    },

    async upsertVitals(hostId: number, name: string, data: string, now: number): Promise<void> {
      await db
        .insertInto('host_vitals')
        .values({ host_id: hostId, name, data, updated_at: now })
        .onConflict((oc) => oc.columns(['host_id', 'name']).doUpdateSet({ data, updated_at: now }))
        .execute();
    },

    listVitals(hostId: number) {
      return db.selectFrom('host_vitals').selectAll().where('host_id', '=', hostId).execute();
    },

    async replaceSoftware(hostId: number, rows: ReadonlyArray<{ name: string; version: string; source: string; vendor: string; arch: string }>): Promise<void> {
      await db.deleteFrom('host_software').where('host_id', '=', hostId).execute();
      for (let i = 0; i < rows.length; i += 500) {
        await db.insertInto('host_software').values(rows.slice(i, i + 500).map((r) => ({ host_id: hostId, ...r }))).execute();
      }
    },

    listSoftware(hostId: number) {
      return db.selectFrom('host_software').selectAll().where('host_id', '=', hostId).orderBy('name').execute();
    },

    async replaceUsers(hostId: number, rows: ReadonlyArray<{ uid: string; username: string; description: string; directory: string; shell: string; type: string }>): Promise<void> {
      await db.deleteFrom('host_users').where('host_id', '=', hostId).execute();
      for (let i = 0; i < rows.length; i += 500) {
        await db.insertInto('host_users').values(rows.slice(i, i + 500).map((r) => ({ host_id: hostId, ...r }))).execute();
      }
    },

    listUsers(hostId: number) {
      return db.selectFrom('host_users').selectAll().where('host_id', '=', hostId).orderBy('username').execute();
    },

    async count(): Promise<number> {
      const r = await db.selectFrom('hosts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return r.n;
    },
  };
}

export type HostRepository = ReturnType<typeof createHostRepository>;
