import { type Insertable, type Kysely, type Selectable, type Updateable } from 'kysely';
import { likeContains } from '../sql-helpers.js';
import type { Database, PackQueriesTable, PacksTable } from '../schema.js';

export interface PackForConfig {
  id: number;
  name: string;
  platform: string;
  min_osquery_version: string;
  discovery: string;
  /** Percentage of the group's hosts that run it. */
  shard: number;
  queries: Array<{
    name: string; description: string; sql: string; interval: number; snapshot: number; removed: number;
    platform: string; min_osquery_version: string; shard: number | null; denylist: number; value: string;
  }>;
}

export type PackRow = Selectable<PacksTable>;
export type PackQueryRow = Selectable<PackQueriesTable>;
/** A pack query as written: everything but the ids. */
export type PackQueryValues = Omit<Insertable<PackQueriesTable>, 'id' | 'pack_id'> & { name: string };
export interface PackTargetRow { pack_id: number; group_id: number; group_name: string; shard: number }

export interface PackListFilter {
  /** Keyset: names after this one (names are unique). */
  afterName?: string | undefined;
  limit: number;
  q?: string | undefined;
  enabled?: boolean | undefined;
}


/** Rows per multi-row INSERT: 15 columns × 200 stays far below every bound-parameter limit. */
const CHUNK = 200;

export function createPackRepository(db: Kysely<Database>) {
  return {
    /** Enabled packs deployed to a group, directly or globally, with their queries. */
    async listForGroup(groupId: number): Promise<PackForConfig[]> {
      const packs = await db
        .selectFrom('packs')
        .leftJoin('pack_targets', (j) => j.onRef('pack_targets.pack_id', '=', 'packs.id').on('pack_targets.group_id', '=', groupId))
        .select([
          'packs.id', 'packs.name', 'packs.platform', 'packs.min_osquery_version', 'packs.discovery', 'packs.global',
          'packs.global_shard', 'pack_targets.shard as target_shard',
        ])
        .where('packs.enabled', '=', 1)
        .where((eb) => eb.or([eb('packs.global', '=', 1), eb('pack_targets.group_id', 'is not', null)]))
        .orderBy('packs.name')
        .execute();
      if (packs.length === 0) return [];
      const queries = await db
        .selectFrom('pack_queries')
        .select([
          'pack_id', 'name', 'description', 'sql', 'interval', 'snapshot', 'removed', 'platform', 'min_osquery_version',
          'shard', 'denylist', 'value',
        ])
        .where('pack_id', 'in', packs.map((p) => p.id))
        .orderBy('name')
        .execute();
      return packs.map((p) => ({
        id: p.id,
        name: p.name,
        platform: p.platform,
        min_osquery_version: p.min_osquery_version,
        discovery: p.discovery,
        // A group-specific target wins over the global shard (Elastic: one deployment per policy).
        shard: p.target_shard ?? (p.global === 1 ? p.global_shard : 100),
        queries: queries.filter((q) => q.pack_id === p.id).map(({ pack_id, ...q }) => q),
      }));
    },

    findById(id: number): Promise<PackRow | undefined> {
      return db.selectFrom('packs').selectAll().where('id', '=', id).executeTakeFirst();
    },

    findByName(name: string): Promise<PackRow | undefined> {
      return db.selectFrom('packs').selectAll().where('name', '=', name).executeTakeFirst();
    },

    findByPrebuiltId(prebuiltId: string): Promise<PackRow | undefined> {
      return db.selectFrom('packs').selectAll().where('prebuilt_id', '=', prebuiltId).executeTakeFirst();
    },

    /** Names taken among the given ones (for choosing a free copy name). */
    async namesTaken(names: readonly string[]): Promise<Set<string>> {
      if (names.length === 0) return new Set();
      const rows = await db.selectFrom('packs').select('name').where('name', 'in', [...names]).execute();
      return new Set(rows.map((r) => r.name));
    },

    /** Ordered by name; free text over name and description (case-insensitive, % and _ literal). */
    async list(f: PackListFilter): Promise<Array<PackRow & { query_count: number }>> {
      let q = db
        .selectFrom('packs')
        .selectAll('packs')
        .select((eb) => eb.selectFrom('pack_queries').select((e) => e.fn.countAll<number | string | bigint>().as('n')).whereRef('pack_queries.pack_id', '=', 'packs.id').as('query_count'))
        .orderBy('packs.name')
        .limit(f.limit);
      if (f.afterName !== undefined) q = q.where('packs.name', '>', f.afterName);
      if (f.enabled !== undefined) q = q.where('packs.enabled', '=', f.enabled ? 1 : 0);
      if (f.q !== undefined && f.q !== '') {
        const text = f.q;
        q = q.where((eb) => eb.or([likeContains('packs.name', text), likeContains('packs.description', text)]));
      }
      const rows = await q.execute();
      return rows.map((r) => ({ ...r, query_count: Number(r.query_count ?? 0) }));
    },

    async insert(values: Insertable<PacksTable>): Promise<number> {
      const r = await db.insertInto('packs').values(values).returning('id').executeTakeFirstOrThrow();
      return r.id;
    },

    async update(id: number, values: Updateable<PacksTable>): Promise<void> {
      await db.updateTable('packs').set(values).where('id', '=', id).execute();
    },

    async delete(id: number): Promise<boolean> {
      // Explicit child deletes: SQLite only cascades with foreign_keys on, PostgreSQL always does.
      await db.deleteFrom('pack_queries').where('pack_id', '=', id).execute();
      await db.deleteFrom('pack_targets').where('pack_id', '=', id).execute();
      const r = await db.deleteFrom('packs').where('id', '=', id).executeTakeFirst();
      return r.numDeletedRows > 0n;
    },

    queries(packId: number): Promise<PackQueryRow[]> {
      return db.selectFrom('pack_queries').selectAll().where('pack_id', '=', packId).orderBy('name').execute();
    },

    /**
     * The pack's queries become exactly `queries`, matched by name: existing rows are updated in
     * place (their ids stay stable), missing ones deleted, new ones inserted.
     */
    async replaceQueries(packId: number, queries: readonly PackQueryValues[]): Promise<void> {
      const existing = await db.selectFrom('pack_queries').select(['id', 'name']).where('pack_id', '=', packId).execute();
      const byName = new Map(existing.map((e) => [e.name, e.id]));
      const keep = new Set(queries.map((q) => q.name));
      const gone = existing.filter((e) => !keep.has(e.name)).map((e) => e.id);
      for (let i = 0; i < gone.length; i += CHUNK) {
        await db.deleteFrom('pack_queries').where('id', 'in', gone.slice(i, i + CHUNK)).execute();
      }
      const fresh: Array<Insertable<PackQueriesTable>> = [];
      for (const q of queries) {
        const id = byName.get(q.name);
        if (id === undefined) fresh.push({ ...q, pack_id: packId });
        else await db.updateTable('pack_queries').set(q).where('id', '=', id).execute();
      }
      for (let i = 0; i < fresh.length; i += CHUNK) {
        await db.insertInto('pack_queries').values(fresh.slice(i, i + CHUNK)).execute();
      }
    },

    async targets(packIds: readonly number[]): Promise<PackTargetRow[]> {
      if (packIds.length === 0) return [];
      return db
        .selectFrom('pack_targets')
        .innerJoin('groups', 'groups.id', 'pack_targets.group_id')
        .select(['pack_targets.pack_id', 'pack_targets.group_id', 'groups.name as group_name', 'pack_targets.shard'])
        .where('pack_targets.pack_id', 'in', [...packIds])
        .orderBy('groups.name')
        .execute();
    },

    async replaceTargets(packId: number, targets: ReadonlyArray<{ groupId: number; shard: number }>): Promise<void> {
      await db.deleteFrom('pack_targets').where('pack_id', '=', packId).execute();
      for (let i = 0; i < targets.length; i += CHUNK) {
        await db.insertInto('pack_targets').values(targets.slice(i, i + CHUNK).map((t) => ({ pack_id: packId, group_id: t.groupId, shard: t.shard }))).execute();
      }
    },

    /** Which of these group ids exist. */
    async existingGroupIds(ids: readonly number[]): Promise<Set<number>> {
      const out = new Set<number>();
      for (let i = 0; i < ids.length; i += 500) {
        const rows = await db.selectFrom('groups').select('id').where('id', 'in', ids.slice(i, i + 500)).execute();
        for (const r of rows) out.add(r.id);
      }
      return out;
    },

    /** ECS mappings of the named pack queries that have one: key `<pack>\0<query>`. */
    async ecsMappings(pairs: ReadonlyArray<{ pack: string; query: string }>): Promise<Map<string, string>> {
      const out = new Map<string, string>();
      const packNames = [...new Set(pairs.map((p) => p.pack).filter((p) => p !== ''))];
      if (packNames.length === 0) return out;
      const rows = await db
        .selectFrom('pack_queries')
        .innerJoin('packs', 'packs.id', 'pack_queries.pack_id')
        .select(['packs.name as pack', 'pack_queries.name as query', 'pack_queries.ecs_mapping'])
        .where('packs.name', 'in', packNames)
        .where('pack_queries.ecs_mapping', '<>', '{}')
        .execute();
      for (const r of rows) out.set(`${r.pack}\u0000${r.query}`, r.ecs_mapping);
      return out;
    },

    /** Hosts in the pack's groups (every host for a global pack). */
    async countTargetedHosts(pack: Pick<PackRow, 'id' | 'global'>): Promise<number> {
      // PostgreSQL returns count(*) as a string (bigint); Number() reads both.
      let q = db.selectFrom('hosts').select((eb) => eb.fn.countAll<number | string | bigint>().as('n'));
      if (pack.global !== 1) {
        q = q.where('group_id', 'in', db.selectFrom('pack_targets').select('group_id').where('pack_id', '=', pack.id));
      }
      const r = await q.executeTakeFirstOrThrow();
      return Number(r.n);
    },
  };
}

export type PackRepository = ReturnType<typeof createPackRepository>;
