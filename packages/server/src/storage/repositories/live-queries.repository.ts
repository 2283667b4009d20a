/**
 * Live queries: the run, its queries, per-host status and result rows. Everything that touches
 * many hosts or rows is a chunked multi-row statement (a 100k-host query is a handful of inserts),
 * and counters on the parent rows keep status reads O(queries), not O(hosts).
 */
import { type Insertable, type Kysely, type Selectable } from 'kysely';
import { likeContains } from '../sql-helpers.js';
import type { Database, LiveQueriesTable, LiveQueryHostsTable, LiveQueryQueriesTable } from '../schema.js';

export type LiveQueryRow = Selectable<LiveQueriesTable>;
export type LiveQueryPartRow = Selectable<LiveQueryQueriesTable>;
export type LiveHostStatusValue = 'pending' | 'successful' | 'failed' | 'expired' | 'cancelled';

/**
 * Bound parameters per statement stay well under SQLite's 32,766 and PostgreSQL's 65,535, and the
 * SQL text of a full chunk is always the same (one cached prepared statement).
 */
const HOST_CHUNK = 5_000; // × 3 parameters
const ROW_CHUNK = 1_000; // × 5 parameters
const ID_CHUNK = 5_000;
const PURGE_CHUNK = 5_000;

export interface AnswerInput {
  queryIdx: number;
  hostId: number;
  status: 'successful' | 'failed';
  message: string;
  rows: ReadonlyArray<Readonly<Record<string, unknown>>>;
  /** When the answer arrived: answers at or after the timeout are not recorded. */
  now: number;
}

export interface AnswerBatch {
  liveQueryId: number;
  answers: readonly AnswerInput[];
  now: number;
  /** Rows stored per live query; past it rows are counted only. */
  maxRows: number;
  /** Columns already recorded for a query index, if the caller knows them (saves a read). */
  knownColumns(queryIdx: number): ReadonlySet<string> | undefined;
}

export interface AnswerOutcome {
  /** Answers that changed a pending host (re-sent, late or cancelled ones do not). */
  recorded: number;
  finished: boolean;
  /** Full column lists of the query indexes that were read. */
  columns: Map<number, string[]>;
}


function parseColumns(text: string): string[] {
  const v = JSON.parse(text) as unknown;
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function createLiveQueryRepository(db: Kysely<Database>) {
  const repo = {
    async insert(values: Insertable<LiveQueriesTable>): Promise<number> {
      const r = await db.insertInto('live_queries').values(values).returning('id').executeTakeFirstOrThrow();
      return r.id;
    },

    async insertParts(rows: ReadonlyArray<Insertable<LiveQueryQueriesTable>>): Promise<void> {
      if (rows.length > 0) await db.insertInto('live_query_queries').values([...rows]).execute();
    },

    /** One `pending` row per (query, host), in chunks. */
    async insertHosts(liveQueryId: number, queryCount: number, hostIds: readonly number[]): Promise<void> {
      const all: Array<Insertable<LiveQueryHostsTable>> = [];
      for (let idx = 0; idx < queryCount; idx++) for (const hostId of hostIds) all.push({ live_query_id: liveQueryId, query_idx: idx, host_id: hostId });
      for (let i = 0; i < all.length; i += HOST_CHUNK) await db.insertInto('live_query_hosts').values(all.slice(i, i + HOST_CHUNK)).execute();
    },

    findById(id: number): Promise<LiveQueryRow | undefined> {
      return db.selectFrom('live_queries').selectAll().where('id', '=', id).executeTakeFirst();
    },

    parts(liveQueryId: number): Promise<LiveQueryPartRow[]> {
      return db.selectFrom('live_query_queries').selectAll().where('live_query_id', '=', liveQueryId).orderBy('idx').execute();
    },

    partsOf(ids: readonly number[]): Promise<LiveQueryPartRow[]> {
      if (ids.length === 0) return Promise.resolve([]);
      return db.selectFrom('live_query_queries').selectAll().where('live_query_id', 'in', [...ids]).orderBy('live_query_id').orderBy('idx').execute();
    },

    /** History, newest first (keyset on id). */
    list(f: { beforeId?: number | undefined; since: number; q?: string | undefined; limit: number }): Promise<LiveQueryRow[]> {
      let q = db.selectFrom('live_queries').selectAll().where('created_at', '>=', f.since).orderBy('id', 'desc').limit(f.limit);
      if (f.beforeId !== undefined) q = q.where('id', '<', f.beforeId);
      if (f.q !== undefined && f.q !== '') {
        const text = f.q;
        q = q.where((eb) =>
          eb.or([
            likeContains('live_queries.pack_name', text),
            eb.exists(
              eb.selectFrom('live_query_queries as p').select('p.idx').whereRef('p.live_query_id', '=', 'live_queries.id')
                .where((e) => e.or([likeContains('p.sql', text), likeContains('p.name', text)])),
            ),
          ]),
        );
      }
      return q.execute();
    },

    /** Which of `ids` are enrolled hosts. */
    async existingHostIds(ids: readonly number[]): Promise<Set<number>> {
      const found = new Set<number>();
      for (let i = 0; i < ids.length; i += ID_CHUNK) {
        const rows = await db.selectFrom('hosts').select('id').where('id', 'in', ids.slice(i, i + ID_CHUNK)).execute();
        for (const r of rows) found.add(r.id);
      }
      return found;
    },

    /** Targets without the hosts area's resolver: everything, or by platform family or group. */
    async hostIdsWhere(f: { all: boolean; platforms: readonly string[]; groupIds: readonly number[] }): Promise<number[]> {
      if (!f.all && f.platforms.length === 0 && f.groupIds.length === 0) return [];
      let q = db.selectFrom('hosts').select('id').orderBy('id');
      if (!f.all) {
        q = q.where((eb) => {
          const parts = [];
          if (f.platforms.length > 0) parts.push(eb('platform', 'in', [...f.platforms]));
          if (f.groupIds.length > 0) parts.push(eb('group_id', 'in', [...f.groupIds]));
          return eb.or(parts);
        });
      }
      return (await q.execute()).map((r) => r.id);
    },

    /**
     * Record answers to one live query. Idempotent: only a `pending` row of an open live query
     * changes, so a re-sent write (osquery-protocol.md §5.2, §9 item 18), a late answer or one for
     * a cancelled query writes nothing. Two statements per answer (claim, rows); the counters are
     * updated once per call. Run inside a transaction.
     */
    async recordAnswers(b: AnswerBatch): Promise<AnswerOutcome> {
      const k = b.answers.length;
      // Reserve k sequence numbers first; on PostgreSQL this also locks the row, so the cap
      // arithmetic below cannot race. Skipped answers leave gaps, which cursors do not mind.
      const lq = await db
        .updateTable('live_queries')
        .set((eb) => ({ answer_seq: eb('answer_seq', '+', k) }))
        .where('id', '=', b.liveQueryId)
        .where('finished_at', 'is', null)
        .returning(['answer_seq', 'stored_rows', 'expected', 'resolved', 'expires_at'])
        .executeTakeFirst();
      const none: AnswerOutcome = { recorded: 0, finished: false, columns: new Map() };
      if (lq === undefined) return none;
      let seq = lq.answer_seq - k;
      let stored = lq.stored_rows;
      let recorded = 0;
      let rowsTotal = 0;
      let truncated = false;
      const parts = new Map<number, { successful: number; failed: number; keys: Set<string> }>();
      for (const a of b.answers) {
        seq++;
        if (a.now >= lq.expires_at) continue;
        const n = a.rows.length;
        const claimed = await db
          .updateTable('live_query_hosts')
          .set({ status: a.status, message: a.message, row_count: n, answered_at: a.now, seq })
          .where('live_query_id', '=', b.liveQueryId)
          .where('query_idx', '=', a.queryIdx)
          .where('host_id', '=', a.hostId)
          .where('status', '=', 'pending')
          .executeTakeFirst();
        if (Number(claimed.numUpdatedRows) === 0) continue;
        recorded++;
        rowsTotal += n;
        const keep = Math.max(0, Math.min(n, b.maxRows - stored));
        stored += keep;
        if (keep < n) truncated = true;
        for (let i = 0; i < keep; i += ROW_CHUNK) {
          const chunk = [];
          for (let j = i; j < Math.min(keep, i + ROW_CHUNK); j++) {
            chunk.push({ live_query_id: b.liveQueryId, query_idx: a.queryIdx, host_id: a.hostId, row_idx: j, data: JSON.stringify(a.rows[j]) });
          }
          await db.insertInto('live_query_results').values(chunk).execute();
        }
        let part = parts.get(a.queryIdx);
        if (part === undefined) {
          part = { successful: 0, failed: 0, keys: new Set() };
          parts.set(a.queryIdx, part);
        }
        if (a.status === 'successful') part.successful++;
        else part.failed++;
        for (const row of a.rows) for (const key of Object.keys(row)) part.keys.add(key);
      }
      if (recorded === 0) return none;
      const finished = lq.resolved + recorded >= lq.expected;
      await db
        .updateTable('live_queries')
        .set((eb) => ({
          row_count: eb('row_count', '+', rowsTotal),
          resolved: eb('resolved', '+', recorded),
          stored_rows: stored,
          ...(truncated ? { truncated: 1 } : {}),
          ...(finished ? { finished_at: b.now } : {}),
        }))
        .where('id', '=', b.liveQueryId)
        .execute();
      const columns = new Map<number, string[]>();
      for (const [idx, p] of parts) {
        // The column list (CSV header) only grows; read it only when a key may be new.
        const hint = b.knownColumns(idx);
        let grown: string[] | undefined;
        if (hint === undefined || [...p.keys].some((key) => !hint.has(key))) {
          const row = await db.selectFrom('live_query_queries').select('columns').where('live_query_id', '=', b.liveQueryId).where('idx', '=', idx).executeTakeFirst();
          const list = row === undefined ? [] : parseColumns(row.columns);
          const before = list.length;
          const seen = new Set(list);
          for (const key of p.keys) {
            if (!seen.has(key)) {
              seen.add(key);
              list.push(key);
            }
          }
          columns.set(idx, list);
          if (list.length > before) grown = list;
        }
        await db
          .updateTable('live_query_queries')
          .set((eb) => ({
            successful: eb('successful', '+', p.successful),
            failed: eb('failed', '+', p.failed),
            ...(grown !== undefined ? { columns: JSON.stringify(grown) } : {}),
          }))
          .where('live_query_id', '=', b.liveQueryId)
          .where('idx', '=', idx)
          .execute();
      }
      return { recorded, finished, columns };
    },

    /**
     * Move every pending host to a final status (expired or cancelled), keep the counters in step
     * and close the live query. Returns how many answers changed. Run inside a transaction.
     */
    async closePending(liveQueryId: number, to: 'expired' | 'cancelled', now: number): Promise<number> {
      const groups = await db
        .selectFrom('live_query_hosts')
        .select((eb) => ['query_idx', eb.fn.countAll<number | string>().as('n')])
        .where('live_query_id', '=', liveQueryId)
        .where('status', '=', 'pending')
        .groupBy('query_idx')
        .execute();
      let total = 0;
      if (groups.length > 0) {
        await db.updateTable('live_query_hosts').set({ status: to }).where('live_query_id', '=', liveQueryId).where('status', '=', 'pending').execute();
        for (const g of groups) {
          const n = Number(g.n);
          total += n;
          await db
            .updateTable('live_query_queries')
            .set((eb) => (to === 'expired' ? { expired: eb('expired', '+', n) } : { cancelled: eb('cancelled', '+', n) }))
            .where('live_query_id', '=', liveQueryId)
            .where('idx', '=', g.query_idx)
            .execute();
        }
      }
      await db
        .updateTable('live_queries')
        .set((eb) => ({ resolved: eb('resolved', '+', total), finished_at: now, ...(to === 'cancelled' ? { cancelled_at: now } : {}) }))
        .where('id', '=', liveQueryId)
        .where('finished_at', 'is', null)
        .execute();
      return total;
    },

    /** Remove queue items no host has fetched yet (cancel). */
    async dequeueUndelivered(liveQueryId: number, parts: ReadonlyArray<{ idx: number; dist_name: string }>): Promise<number> {
      let removed = 0;
      for (const p of parts) {
        const r = await db
          .deleteFrom('distributed_queue')
          .where('name', '=', p.dist_name)
          .where('delivered_at', 'is', null)
          .where('host_id', 'in', (eb) =>
            eb.selectFrom('live_query_hosts').select('host_id').where('live_query_id', '=', liveQueryId).where('query_idx', '=', p.idx).where('status', '=', 'pending'),
          )
          .executeTakeFirst();
        removed += Number(r.numDeletedRows);
      }
      return removed;
    },

    /** Pending answers whose queue item was fetched (Elastic "Not yet responded" vs not sent yet). */
    async pendingDelivered(liveQueryId: number): Promise<number> {
      const r = await db
        .selectFrom('live_query_hosts as h')
        .innerJoin('live_query_queries as p', (j) => j.onRef('p.live_query_id', '=', 'h.live_query_id').onRef('p.idx', '=', 'h.query_idx'))
        .innerJoin('distributed_queue as q', (j) => j.onRef('q.host_id', '=', 'h.host_id').onRef('q.name', '=', 'p.dist_name'))
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('h.live_query_id', '=', liveQueryId)
        .where('h.status', '=', 'pending')
        .where('q.delivered_at', 'is not', null)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },

    /** Per-host status, keyset on (query_idx, host_id). */
    listHosts(f: {
      liveQueryId: number; status?: LiveHostStatusValue | undefined; queryIdx?: number | undefined; after?: readonly [number, number] | undefined; limit: number;
    }) {
      let q = db
        .selectFrom('live_query_hosts as h')
        .innerJoin('live_query_queries as p', (j) => j.onRef('p.live_query_id', '=', 'h.live_query_id').onRef('p.idx', '=', 'h.query_idx'))
        .leftJoin('hosts', 'hosts.id', 'h.host_id')
        .leftJoin('distributed_queue as q', (j) => j.onRef('q.host_id', '=', 'h.host_id').onRef('q.name', '=', 'p.dist_name'))
        .select([
          'h.host_id', 'h.query_idx', 'h.status', 'h.message', 'h.row_count', 'h.answered_at', 'hosts.hostname', 'hosts.platform',
          'q.delivered_at',
        ])
        .where('h.live_query_id', '=', f.liveQueryId)
        .orderBy('h.query_idx')
        .orderBy('h.host_id')
        .limit(f.limit);
      if (f.status !== undefined) q = q.where('h.status', '=', f.status);
      if (f.queryIdx !== undefined) q = q.where('h.query_idx', '=', f.queryIdx);
      if (f.after !== undefined) {
        const [idx, hostId] = f.after;
        q = q.where((eb) => eb.or([eb('h.query_idx', '>', idx), eb.and([eb('h.query_idx', '=', idx), eb('h.host_id', '>', hostId)])]));
      }
      return q.execute();
    },

    /** Stored rows, oldest first (keyset on id), with the host's name. */
    listResults(f: {
      liveQueryId: number; afterId?: number | undefined; hostId?: number | undefined; queryIdx?: number | undefined; q?: string | undefined; limit: number;
    }) {
      let q = db
        .selectFrom('live_query_results as r')
        .leftJoin('hosts', 'hosts.id', 'r.host_id')
        .select(['r.id', 'r.host_id', 'r.query_idx', 'r.data', 'hosts.hostname'])
        .where('r.live_query_id', '=', f.liveQueryId)
        .orderBy('r.id')
        .limit(f.limit);
      if (f.afterId !== undefined) q = q.where('r.id', '>', f.afterId);
      if (f.hostId !== undefined) q = q.where('r.host_id', '=', f.hostId);
      if (f.queryIdx !== undefined) q = q.where('r.query_idx', '=', f.queryIdx);
      if (f.q !== undefined && f.q !== '') q = q.where(likeContains('r.data', f.q));
      return q.execute();
    },

    /** Answers recorded after `seq`, in answer order (the SSE stream's cursor). */
    answersAfter(liveQueryId: number, seq: number, limit: number) {
      return db
        .selectFrom('live_query_hosts as h')
        .leftJoin('hosts', 'hosts.id', 'h.host_id')
        .select(['h.seq', 'h.query_idx', 'h.host_id', 'h.status', 'h.message', 'h.row_count', 'hosts.hostname'])
        .where('h.live_query_id', '=', liveQueryId)
        .where('h.seq', '>', seq)
        .orderBy('h.seq')
        .limit(limit)
        .execute();
    },

    answerRows(liveQueryId: number, queryIdx: number, hostId: number, afterRowIdx: number, limit: number) {
      return db
        .selectFrom('live_query_results')
        .select(['id', 'row_idx', 'data'])
        .where('live_query_id', '=', liveQueryId)
        .where('query_idx', '=', queryIdx)
        .where('host_id', '=', hostId)
        .where('row_idx', '>', afterRowIdx)
        .orderBy('row_idx')
        .limit(limit)
        .execute();
    },

    /** Answers that reached distributed_results but not this table (an event lost in a crash). */
    unrecordedAnswers(liveQueryId: number, queryIdx: number, distName: string, receivedBefore: number, limit: number) {
      return db
        .selectFrom('live_query_hosts as h')
        .innerJoin('distributed_results as d', (j) => j.onRef('d.host_id', '=', 'h.host_id').on('d.name', '=', distName))
        .select(['d.host_id', 'd.status', 'd.message', 'd.rows', 'd.received_at'])
        .where('h.live_query_id', '=', liveQueryId)
        .where('h.query_idx', '=', queryIdx)
        .where('h.status', '=', 'pending')
        .where('d.received_at', '<', receivedBefore)
        .orderBy('d.host_id')
        .limit(limit)
        .execute();
    },

    /** Open live queries whose timeout has passed. */
    async dueForExpiry(now: number, limit: number): Promise<number[]> {
      const rows = await db
        .selectFrom('live_queries')
        .select('id')
        .where('finished_at', 'is', null)
        .where('expires_at', '<=', now)
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((r) => r.id);
    },

    async createdBefore(cutoff: number, limit: number): Promise<number[]> {
      const rows = await db.selectFrom('live_queries').select('id').where('created_at', '<', cutoff).orderBy('id').limit(limit).execute();
      return rows.map((r) => r.id);
    },

    /** Delete up to PURGE_CHUNK result rows of a live query; returns how many went. */
    async purgeResultsChunk(liveQueryId: number): Promise<number> {
      const r = await db
        .deleteFrom('live_query_results')
        .where('id', 'in', (eb) => eb.selectFrom('live_query_results').select('id').where('live_query_id', '=', liveQueryId).limit(PURGE_CHUNK))
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },

    /**
     * Delete a live query (after its results): hosts and queries cascade; the copies the
     * distributed service kept under our query names go too.
     */
    async deleteLiveQuery(liveQueryId: number): Promise<void> {
      const names = (await repo.parts(liveQueryId)).map((p) => p.dist_name);
      if (names.length > 0) {
        await db.deleteFrom('distributed_results').where('name', 'in', names).execute();
        await db.deleteFrom('distributed_queue').where('name', 'in', names).where('source', '=', 'live').execute();
      }
      await db.deleteFrom('live_query_hosts').where('live_query_id', '=', liveQueryId).execute();
      await db.deleteFrom('live_query_results').where('live_query_id', '=', liveQueryId).execute();
      await db.deleteFrom('live_query_queries').where('live_query_id', '=', liveQueryId).execute();
      await db.deleteFrom('live_queries').where('id', '=', liveQueryId).execute();
    },
  };
  return repo;
}

export type LiveQueryRepository = ReturnType<typeof createLiveQueryRepository>;
