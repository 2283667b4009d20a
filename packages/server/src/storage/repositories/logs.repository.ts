import { CompiledQuery, type Insertable, type Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';
import type { Database, ResultLogsTable, StatusLogsTable } from '../schema.js';

export type NewResultLog = Insertable<ResultLogsTable>;
export type NewStatusLog = Insertable<StatusLogsTable>;

/** Rows per INSERT: 12 columns × 400 stays far below SQLite's bound-parameter limit (32,766). */
const CHUNK = 400;

/**
 * Columns of each log table in bind order, with the value used when a row leaves it out. Log
 * inserts are the one write that scales with fleet size × schedule, so they skip Kysely's query
 * builder: building and compiling a 400-row × 12-column INSERT AST cost more CPU than SQLite spent
 * storing the rows (docs/performance.md, ingestion). The SQL text is built once per row count.
 */
const LOG_COLUMNS = {
  result_logs: [
    ['host_id', undefined], ['name', undefined], ['pack', ''], ['query', ''], ['action', undefined], ['columns', undefined],
    ['decorations', '{}'], ['unix_time', undefined], ['epoch', 0], ['counter', 0], ['received_at', undefined], ['dedup', undefined],
  ],
  status_logs: [
    ['host_id', undefined], ['unix_time', undefined], ['severity', undefined], ['filename', ''], ['line', 0], ['message', undefined],
    ['version', ''], ['received_at', undefined], ['dedup', undefined],
  ],
} as const satisfies { [T in LogTable]: ReadonlyArray<readonly [keyof Insertable<Database[T]> & string, string | number | undefined]> };

type LogTable = 'result_logs' | 'status_logs';

export interface LogInsertOutcome {
  /** Rows inserted (rows already stored, same host + dedup hash, are skipped). */
  count: number;
  /** The dedup hashes inserted, when asked for (`returnStored`); empty otherwise. */
  stored: Set<string>;
}

/** INSERT texts by dialect, table, row count and RETURNING (repositories are rebuilt per transaction). */
const statements = new Map<string, string>();

function insertSql(dialect: DialectHelpers, table: LogTable, rows: number, returning: boolean): string {
  const key = `${dialect.name}:${table}:${rows}:${returning ? 1 : 0}`;
  let text = statements.get(key);
  if (text === undefined) {
    const columns = LOG_COLUMNS[table];
    let n = 0;
    const tuples: string[] = [];
    for (let r = 0; r < rows; r++) tuples.push(`(${columns.map(() => (dialect.name === 'postgres' ? `$${++n}` : '?')).join(', ')})`);
    // No conflict target: the only unique index that can conflict is (host_id, unix_time, dedup)
    // (migration 0011); ids never collide.
    text = `insert into "${table}" (${columns.map(([c]) => `"${c}"`).join(', ')}) values ${tuples.join(', ')} on conflict do nothing${returning ? ' returning "dedup"' : ''}`;
    // Full chunks repeat; remainders vary with the request: keep the cache small.
    if (statements.size >= 64) statements.clear();
    statements.set(key, text);
  }
  return text;
}

export function createLogRepository(db: Kysely<Database>, dialect: DialectHelpers) {

  async function insertDeduped<T extends LogTable>(table: T, rows: ReadonlyArray<Insertable<Database[T]>>, returnStored: boolean): Promise<LogInsertOutcome> {
    const columns = LOG_COLUMNS[table] as ReadonlyArray<readonly [string, string | number | undefined]>;
    const outcome: LogInsertOutcome = { count: 0, stored: new Set() };
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK) as ReadonlyArray<Record<string, unknown>>;
      const params: unknown[] = [];
      for (const row of chunk) for (const [c, fallback] of columns) params.push(row[c] ?? fallback);
      const result = await db.executeQuery<{ dedup: string }>(CompiledQuery.raw(insertSql(dialect, table, chunk.length, returnStored), params));
      if (returnStored) {
        for (const x of result.rows) outcome.stored.add(x.dedup);
        outcome.count += result.rows.length;
      } else {
        outcome.count += Number(result.numAffectedRows ?? 0n);
      }
    }
    return outcome;
  }

  return {
    /**
     * Insert result rows; rows already stored (same host + dedup hash) are skipped. With
     * `returnStored` the outcome names the dedup hashes inserted (RETURNING reports only inserted
     * rows on both databases); without it only their count, which spares SQLite the RETURNING rows.
     */
    insertResults: (rows: readonly NewResultLog[], opts: { returnStored?: boolean } = {}) => insertDeduped('result_logs', rows, opts.returnStored === true),
    insertStatuses: (rows: readonly NewStatusLog[], opts: { returnStored?: boolean } = {}) => insertDeduped('status_logs', rows, opts.returnStored === true),

    listResults(filter: { hostId?: number; name?: string; limit?: number }) {
      let q = db.selectFrom('result_logs').selectAll().orderBy('id', 'desc').limit(filter.limit ?? 100);
      if (filter.hostId !== undefined) q = q.where('host_id', '=', filter.hostId);
      if (filter.name !== undefined) q = q.where('name', '=', filter.name);
      return q.execute();
    },

    listStatuses(filter: { hostId?: number; minSeverity?: number; limit?: number }) {
      let q = db.selectFrom('status_logs').selectAll().orderBy('id', 'desc').limit(filter.limit ?? 100);
      if (filter.hostId !== undefined) q = q.where('host_id', '=', filter.hostId);
      if (filter.minSeverity !== undefined) q = q.where('severity', '>=', filter.minSeverity);
      return q.execute();
    },

    async countResults(): Promise<number> {
      const r = await db.selectFrom('result_logs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return r.n;
    },

    async countStatuses(): Promise<number> {
      const r = await db.selectFrom('status_logs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return r.n;
    },

    /** PostgreSQL: keep daily log partitions ready ahead of time (a leader job). */
    ensurePartitions: (nowMs: number) => dialect.logPartitions.ensurePartitions(db as unknown as Kysely<unknown>, nowMs),

    /** PostgreSQL: retention's first step, whole days dropped at once; SQLite: nothing. */
    dropPartitionsBefore: (beforeMs: number) => dialect.logPartitions.dropPartitionsBefore(db as unknown as Kysely<unknown>, beforeMs),

    /**
     * Retention: drop up to `batch` rows of each table received before `before` (ms). Callers loop,
     * one short transaction per batch, so a large purge never holds the writer for long.
     */
    async deleteReceivedBefore(before: number, batch = 10_000): Promise<number> {
      const a = await db
        .deleteFrom('result_logs')
        .where('id', 'in', (qb) => qb.selectFrom('result_logs').select('id').where('received_at', '<', before).limit(batch))
        .executeTakeFirst();
      const b = await db
        .deleteFrom('status_logs')
        .where('id', 'in', (qb) => qb.selectFrom('status_logs').select('id').where('received_at', '<', before).limit(batch))
        .executeTakeFirst();
      return Number(a.numDeletedRows) + Number(b.numDeletedRows);
    },
  };
}

export type LogRepository = ReturnType<typeof createLogRepository>;
