/**
 * Read models over hosts for the operator API (hosts area): filtered, keyset-paginated lists, counts,
 * dashboard aggregates, software pages, target resolution and host moves. The check-in path keeps
 * using hosts.repository; nothing here runs per check-in.
 */
import { sql, type Expression, type ExpressionBuilder, type Kysely, type RawBuilder, type Selectable, type SqlBool } from 'kysely';
import type { DialectHelpers } from '../dialect.js';
import { likeContains } from '../sql-helpers.js';
import type { Database, HostsTable } from '../schema.js';

/** Bound values per statement stay far below SQLite's 32766 and PostgreSQL's 65535. */
const CHUNK = 500;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * How online status is decided in SQL. A host is online when its last-seen time is at or after
 * `since` for its group (group options may lengthen distributed_interval), or when it is one of
 * `promoted`: hosts the in-memory cache saw recently whose batched host_seen write lags behind.
 */
export interface StatusSql {
  defaultSince: number;
  groupSince: ReadonlyArray<readonly [groupId: number, since: number]>;
  promoted: readonly number[];
}

export interface HostQueryFilter {
  q?: string | undefined;
  platform?: string | undefined;
  osName?: string | undefined;
  osVersion?: string | undefined;
  osqueryVersion?: string | undefined;
  agentVersion?: string | undefined;
  groupId?: number | undefined;
  /** Stored members of a dynamic or manual label. */
  memberOfLabel?: number | undefined;
  /** Built-in labels: hosts of these platforms (empty = every host). */
  platformIn?: readonly string[] | undefined;
  duplicateIdentifier?: boolean | undefined;
  enrolledSince?: number | undefined;
  online?: { value: boolean; status: StatusSql } | undefined;
}

export type HostSortColumn = 'hostname' | 'enrolled_at' | 'osquery_version' | 'platform' | 'seen';

export interface HostKeyset {
  column: HostSortColumn;
  desc: boolean;
  /** Resume strictly after this (value, id). */
  after?: { value: string | number; id: number } | undefined;
  limit: number;
}

export type HostListRow = Selectable<HostsTable> & { group_name: string; seen_at: number };

type HostsEB = ExpressionBuilder<Database, 'hosts'>;

/** Last seen (ms) from the narrow host_seen table; 0 = never. (PostgreSQL returns bigints as strings.) */
const SEEN: RawBuilder<number | string> = sql<number | string>`coalesce((select hs.seen_at from host_seen hs where hs.host_id = ${sql.ref('hosts.id')}), 0)`;

/** The same from a `LEFT JOIN host_seen` (lists): a join sorts ~3× faster than the correlated lookup. */
const SEEN_JOINED: RawBuilder<number | string> = sql<number | string>`coalesce(${sql.ref('host_seen.seen_at')}, 0)`;

function sinceExpr(s: StatusSql): RawBuilder<number> {
  if (s.groupSince.length === 0) return sql<number>`${s.defaultSince}`;
  // CASE results are bound parameters with no column to infer a type from: PostgreSQL would take
  // them as text (`bigint >= text` fails), so cast them; SQLite reads the cast as INTEGER affinity.
  const whens = s.groupSince.map(([g, since]) => sql`when ${g} then cast(${since} as bigint)`);
  return sql<number>`(case ${sql.ref('hosts.group_id')} ${sql.join(whens, sql` `)} else cast(${s.defaultSince} as bigint) end)`;
}

export function onlineExpr(s: StatusSql): RawBuilder<SqlBool> {
  // The IN subquery walks the (seen_at, host_id) index once for the loosest threshold (online hosts
  // are a range of it); the per-group threshold is then checked only for those rows.
  const loosest = Math.min(s.defaultSince, ...s.groupSince.map(([, since]) => since));
  const recent = sql<SqlBool>`${sql.ref('hosts.id')} in (select hs2.host_id from host_seen hs2 where hs2.seen_at >= ${loosest})`;
  const seen = s.groupSince.length === 0 ? recent : sql<SqlBool>`(${recent} and ${SEEN} >= ${sinceExpr(s)})`;
  if (s.promoted.length === 0) return sql<SqlBool>`(${seen})`;
  return sql<SqlBool>`(${seen} or ${sql.ref('hosts.id')} in (${sql.join([...s.promoted])}))`;
}


function conditions(eb: HostsEB, f: HostQueryFilter, d: DialectHelpers): Expression<SqlBool>[] {
  const c: Expression<SqlBool>[] = [];
  // Indexed per dialect (migration 0008-host-search), same substring semantics as a LIKE scan.
  if (f.q !== undefined && f.q.trim() !== '') c.push(d.hostSearch.hostMatches(f.q));
  if (f.platform !== undefined) c.push(eb('hosts.platform', '=', f.platform));
  if (f.osName !== undefined) c.push(eb('hosts.os_name', '=', f.osName));
  if (f.osVersion !== undefined) c.push(eb('hosts.os_version', '=', f.osVersion));
  if (f.osqueryVersion !== undefined) c.push(eb('hosts.osquery_version', '=', f.osqueryVersion));
  if (f.agentVersion !== undefined) c.push(eb('hosts.agent_version', '=', f.agentVersion));
  if (f.groupId !== undefined) c.push(eb('hosts.group_id', '=', f.groupId));
  if (f.duplicateIdentifier !== undefined) c.push(eb('hosts.duplicate_identifier', '=', f.duplicateIdentifier ? 1 : 0));
  if (f.enrolledSince !== undefined) c.push(eb('hosts.enrolled_at', '>=', f.enrolledSince));
  if (f.platformIn !== undefined && f.platformIn.length > 0) c.push(eb('hosts.platform', 'in', [...f.platformIn]));
  if (f.memberOfLabel !== undefined) {
    const labelId = f.memberOfLabel;
    c.push(eb.exists(
      eb.selectFrom('label_membership').select(sql.lit(1).as('one')).where('label_membership.label_id', '=', labelId).whereRef('label_membership.host_id', '=', 'hosts.id'),
    ));
  }
  if (f.online !== undefined) {
    const online = onlineExpr(f.online.status);
    c.push(f.online.value ? online : sql<SqlBool>`not ${online}`);
  }
  return c;
}

function sortExpr(column: HostSortColumn): RawBuilder<unknown> {
  return column === 'seen' ? SEEN_JOINED : sql`${sql.ref(`hosts.${column}`)}`;
}

export function createHostQueryRepository(db: Kysely<Database>, dialect: DialectHelpers) {
  /**
   * Sorted by last seen, in two parts with the same order as `coalesce(seen_at, 0), id`: hosts
   * with a host_seen row, walked from the (seen_at, host_id) index, and hosts never seen (seen_at
   * 0, by id). Sorting the joined coalesce() made SQLite fetch and sort every host the filters
   * matched (150–500 ms at 100k hosts, bench scenario 6). `CROSS JOIN` makes SQLite keep host_seen
   * as the outer loop, so a page stops after `limit` matches; PostgreSQL plans it as the inner
   * join it is.
   */
  async function listBySeen(filter: HostQueryFilter, keyset: HostKeyset): Promise<HostListRow[]> {
    const after = keyset.after;
    const afterSeen = after === undefined ? undefined : Number(after.value);
    const seenPart = (limit: number, from: { value: number; id: number } | undefined) => {
      let q = db
        .selectFrom('host_seen')
        .crossJoin('hosts')
        .innerJoin('groups', 'groups.id', 'hosts.group_id')
        .whereRef('hosts.id', '=', 'host_seen.host_id')
        .where((eb) => eb.and(conditions(eb, filter, dialect)))
        .selectAll('hosts')
        .select([sql<string>`${sql.ref('groups.name')}`.as('group_name'), sql<number | string>`${sql.ref('host_seen.seen_at')}`.as('seen_at')])
        .orderBy('host_seen.seen_at', keyset.desc ? 'desc' : 'asc')
        .orderBy('host_seen.host_id', keyset.desc ? 'desc' : 'asc')
        .limit(limit);
      if (from !== undefined) {
        const row = sql`(${sql.ref('host_seen.seen_at')}, ${sql.ref('host_seen.host_id')})`;
        q = q.where(keyset.desc ? sql<SqlBool>`${row} < (${from.value}, ${from.id})` : sql<SqlBool>`${row} > (${from.value}, ${from.id})`);
      }
      return q.execute();
    };
    const unseenPart = (limit: number, fromId: number | undefined) => {
      let q = db
        .selectFrom('hosts')
        .innerJoin('groups', 'groups.id', 'hosts.group_id')
        .leftJoin('host_seen', 'host_seen.host_id', 'hosts.id')
        .where('host_seen.host_id', 'is', null)
        .where((eb) => eb.and(conditions(eb, filter, dialect)))
        .selectAll('hosts')
        .select([sql<string>`${sql.ref('groups.name')}`.as('group_name'), sql<number>`0`.as('seen_at')])
        .orderBy('hosts.id', keyset.desc ? 'desc' : 'asc')
        .limit(limit);
      if (fromId !== undefined) q = q.where('hosts.id', keyset.desc ? '<' : '>', fromId);
      return q.execute();
    };
    const rows: Array<Awaited<ReturnType<typeof seenPart>>[number]> = [];
    const inUnseen = afterSeen !== undefined && afterSeen <= 0;
    if (keyset.desc) {
      // Seen hosts, newest first, then the never seen.
      if (!inUnseen) rows.push(...(await seenPart(keyset.limit, after === undefined ? undefined : { value: afterSeen ?? 0, id: after.id })));
      if (rows.length < keyset.limit) rows.push(...(await unseenPart(keyset.limit - rows.length, inUnseen ? after?.id : undefined)));
    } else {
      // Never seen first (seen_at 0), then seen hosts, oldest first.
      if (after === undefined || inUnseen) rows.push(...(await unseenPart(keyset.limit, after?.id)));
      if (rows.length < keyset.limit) {
        rows.push(...(await seenPart(keyset.limit - rows.length, after === undefined || inUnseen ? undefined : { value: afterSeen ?? 0, id: after.id })));
      }
    }
    return rows.map((r) => ({ ...r, seen_at: Number(r.seen_at) }));
  }

  return {
    /** One keyset page: ORDER BY (sort column, id), resuming after the cursor's (value, id). */
    async list(filter: HostQueryFilter, keyset: HostKeyset): Promise<HostListRow[]> {
      if (keyset.column === 'seen') return listBySeen(filter, keyset);
      const expr = sortExpr(keyset.column);
      const dir = keyset.desc ? sql`desc` : sql`asc`;
      let q = db
        .selectFrom('hosts')
        .where((eb) => eb.and(conditions(eb, filter, dialect)))
        .innerJoin('groups', 'groups.id', 'hosts.group_id')
        .leftJoin('host_seen', 'host_seen.host_id', 'hosts.id')
        .selectAll('hosts')
        .select([sql<string>`${sql.ref('groups.name')}`.as('group_name'), SEEN_JOINED.as('seen_at')])
        .orderBy(sql`${expr} ${dir}`)
        .orderBy(sql`${sql.ref('hosts.id')} ${dir}`)
        .limit(keyset.limit);
      const after = keyset.after;
      if (after !== undefined) {
        q = q.where(keyset.desc
          ? sql<SqlBool>`(${expr}, ${sql.ref('hosts.id')}) < (${after.value}, ${after.id})`
          : sql<SqlBool>`(${expr}, ${sql.ref('hosts.id')}) > (${after.value}, ${after.id})`);
      }
      const rows = await q.execute();
      return rows.map((r) => ({ ...r, seen_at: Number(r.seen_at) }));
    },

    /** Ids of the hosts matching a filter, ascending. */
    async ids(filter: HostQueryFilter): Promise<number[]> {
      const rows = await db.selectFrom('hosts').where((eb) => eb.and(conditions(eb, filter, dialect))).select('hosts.id').orderBy('hosts.id').execute();
      return rows.map((r) => r.id);
    },

    async count(filter: HostQueryFilter): Promise<number> {
      const r = await db
        .selectFrom('hosts')
        .where((eb) => eb.and(conditions(eb, filter, dialect)))
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },

    /** Hosts by id with their group name and last-seen time (detail page, search results). */
    async findWithSeen(ids: readonly number[]): Promise<HostListRow[]> {
      const out: HostListRow[] = [];
      for (const part of chunks(ids)) {
        const rows = await db
          .selectFrom('hosts')
          .innerJoin('groups', 'groups.id', 'hosts.group_id')
          .leftJoin('host_seen', 'host_seen.host_id', 'hosts.id')
          .selectAll('hosts')
          .select([sql<string>`${sql.ref('groups.name')}`.as('group_name'), SEEN_JOINED.as('seen_at')])
          .where('hosts.id', 'in', part)
          .orderBy('hosts.id')
          .execute();
        for (const r of rows) out.push({ ...r, seen_at: Number(r.seen_at) });
      }
      return out;
    },

    /**
     * Hosts whose stored last-seen time lies in [from, to): the only ones whose status can differ
     * between host_seen and the in-memory cache (walks the (seen_at, host_id) index).
     */
    seenBand(from: number, to: number, limit: number) {
      return db
        .selectFrom('host_seen')
        .innerJoin('hosts', 'hosts.id', 'host_seen.host_id')
        .select(['host_seen.host_id', 'hosts.group_id'])
        .where('host_seen.seen_at', '>=', from)
        .where('host_seen.seen_at', '<', to)
        .limit(limit)
        .execute();
    },

    /** Per platform: total, online and new counts in one pass (the dashboard summary). */
    async statusByPlatform(status: StatusSql, enrolledSince: number, groupId?: number): Promise<Array<{ platform: string; total: number; online: number; new: number }>> {
      let q = db
        .selectFrom('hosts')
        .select([
          'hosts.platform',
          sql<number | string>`count(*)`.as('total'),
          sql<number | string>`sum(case when ${onlineExpr(status)} then 1 else 0 end)`.as('online'),
          sql<number | string>`sum(case when ${sql.ref('hosts.enrolled_at')} >= ${enrolledSince} then 1 else 0 end)`.as('new'),
        ])
        .groupBy('hosts.platform')
        .orderBy('hosts.platform');
      if (groupId !== undefined) q = q.where('hosts.group_id', '=', groupId);
      const rows = await q.execute();
      return rows.map((r) => ({ platform: r.platform, total: Number(r.total), online: Number(r.online), new: Number(r.new) }));
    },

    async countByOsqueryVersion(groupId?: number): Promise<Array<{ version: string; count: number }>> {
      let q = db
        .selectFrom('hosts')
        .select(['hosts.osquery_version', sql<number | string>`count(*)`.as('n')])
        .groupBy('hosts.osquery_version')
        .orderBy(sql`count(*)`, 'desc')
        .orderBy('hosts.osquery_version');
      if (groupId !== undefined) q = q.where('hosts.group_id', '=', groupId);
      const rows = await q.execute();
      return rows.map((r) => ({ version: r.osquery_version, count: Number(r.n) }));
    },

    async countByPlatform(): Promise<Map<string, number>> {
      const rows = await db.selectFrom('hosts').select(['platform', sql<number | string>`count(*)`.as('n')]).groupBy('platform').execute();
      return new Map(rows.map((r) => [r.platform, Number(r.n)]));
    },

    async countByGroup(): Promise<Map<number, number>> {
      const rows = await db.selectFrom('hosts').select(['group_id', sql<number | string>`count(*)`.as('n')]).groupBy('group_id').execute();
      return new Map(rows.map((r) => [r.group_id, Number(r.n)]));
    },

    // --- target resolution (live queries, packs): each returns host ids

    async allIds(): Promise<number[]> {
      return (await db.selectFrom('hosts').select('id').orderBy('id').execute()).map((r) => r.id);
    },

    async existingIds(ids: readonly number[]): Promise<number[]> {
      const out: number[] = [];
      for (const part of chunks([...new Set(ids)])) {
        for (const r of await db.selectFrom('hosts').select('id').where('id', 'in', part).execute()) out.push(r.id);
      }
      return out.sort((a, b) => a - b);
    },

    async idsInGroups(groupIds: readonly number[]): Promise<number[]> {
      if (groupIds.length === 0) return [];
      return (await db.selectFrom('hosts').select('id').where('group_id', 'in', [...groupIds]).execute()).map((r) => r.id);
    },

    async idsWithPlatforms(platforms: readonly string[]): Promise<number[]> {
      if (platforms.length === 0) return [];
      return (await db.selectFrom('hosts').select('id').where('platform', 'in', [...platforms]).execute()).map((r) => r.id);
    },

    async idsInLabels(labelIds: readonly number[]): Promise<number[]> {
      if (labelIds.length === 0) return [];
      const rows = await db.selectFrom('label_membership').select('host_id').where('label_id', 'in', [...labelIds]).execute();
      return rows.map((r) => r.host_id);
    },

    /** Host ids and platforms, in id order, for queuing a label query on every matching host. */
    hostPlatformsPage(afterId: number, limit: number, platforms: readonly string[]) {
      let q = db.selectFrom('hosts').select(['id', 'platform']).where('id', '>', afterId).orderBy('id').limit(limit);
      if (platforms.length > 0) q = q.where('platform', 'in', [...platforms]);
      return q.execute();
    },

    /** Target picker: hosts whose name, identifier, serial or IP contains `text`, or whose platform is it. */
    async searchIds(text: string, limit: number): Promise<number[]> {
      const t = text.trim();
      const rows = await db
        .selectFrom('hosts')
        .select('hosts.id')
        .where((eb) => eb.or([dialect.hostSearch.hostMatches(t), eb('hosts.platform', '=', t.toLowerCase())]))
        .orderBy('hosts.hostname')
        .orderBy('hosts.id')
        .limit(limit)
        .execute();
      return rows.map((r) => r.id);
    },

    // --- changes

    /** Move hosts to a group; returns how many rows changed. */
    async moveHosts(hostIds: readonly number[], groupId: number, now: number): Promise<number> {
      let moved = 0;
      for (const part of chunks(hostIds)) {
        const r = await db.updateTable('hosts').set({ group_id: groupId, updated_at: now }).where('id', 'in', part).executeTakeFirst();
        moved += Number(r.numUpdatedRows);
      }
      return moved;
    },

    /** Move every host of one group to another; returns the moved ids. */
    async moveGroup(fromGroupId: number, toGroupId: number, now: number): Promise<number[]> {
      const ids = (await db.selectFrom('hosts').select('id').where('group_id', '=', fromGroupId).execute()).map((r) => r.id);
      if (ids.length > 0) await db.updateTable('hosts').set({ group_id: toGroupId, updated_at: now }).where('group_id', '=', fromGroupId).execute();
      return ids;
    },

    async requestRefetch(hostId: number, now: number): Promise<boolean> {
      const r = await db.updateTable('hosts').set({ refetch_requested: 1, updated_at: now }).where('id', '=', hostId).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    // --- software (GET /hosts/:id/software)

    /** One page of a host's software in name order; a host has at most a few thousand rows, so offsets are cheap. */
    softwarePage(hostId: number, offset: number, limit: number, q?: string) {
      let query = db
        .selectFrom('host_software')
        .select(['name', 'version', 'source', 'vendor', 'arch'])
        .where('host_id', '=', hostId)
        .orderBy('name')
        .orderBy('version')
        .orderBy('source')
        .orderBy('arch')
        .limit(limit)
        .offset(offset);
      if (q !== undefined && q.trim() !== '') query = query.where(likeContains('name', q.trim()));
      return query.execute();
    },

    async softwareCount(hostId: number): Promise<number> {
      const r = await db.selectFrom('host_software').select((eb) => eb.fn.countAll().as('n')).where('host_id', '=', hostId).executeTakeFirstOrThrow();
      return Number(r.n);
    },
  };
}

export type HostQueryRepository = ReturnType<typeof createHostQueryRepository>;
