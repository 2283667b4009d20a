/**
 * The scale-out backend: PostgreSQL through a pg Pool (issue #10). Several Mimir instances share
 * one database; everything an instance must agree on with the others lives here or on the
 * cluster bus (../../cluster/).
 */
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from '../schema.js';

/** int8 (count(*), bigint columns) and numeric (sum() of bigint) arrive as text by default. */
const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * Parse 64-bit integers and numerics to JS numbers: the schema types every id, millisecond
 * timestamp and byte count as `number`, and all of them stay far below 2^53. A value that would
 * not round-trip is an error rather than a silently rounded id.
 */
function toSafeNumber(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || (Number.isInteger(n) && !Number.isSafeInteger(n))) {
    throw new RangeError(`PostgreSQL value ${text} does not fit a JavaScript number`);
  }
  return n;
}

const builtinParser = pg.types.getTypeParser.bind(pg.types) as (oid: number, format?: 'text' | 'binary') => (value: string) => unknown;

const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === INT8_OID || oid === NUMERIC_OID ? toSafeNumber : builtinParser(oid, format)),
};

export interface PostgresHandle {
  db: Kysely<Database>;
  pool: pg.Pool;
}

export interface PostgresOptions {
  /** Pool size per instance; check-ins are short transactions, so a few connections go far. */
  max?: number | undefined;
}

/** pg settings shared by the pool and the cluster bus's LISTEN connection. */
export function clientConfig(url: string): pg.ClientConfig {
  return { connectionString: url, types, application_name: 'mimir' };
}

export function openPostgres(url: string, opts: PostgresOptions = {}): PostgresHandle {
  const pool = new pg.Pool({ ...clientConfig(url), max: opts.max ?? 10, idleTimeoutMillis: 30_000 });
  // An idle client losing its connection (database restart) emits 'error' on the pool; without a
  // listener that would crash the process. The next query simply opens a new connection.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool };
}

/** `postgres://…` or `postgresql://…` (libpq's two URI schemes). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** The URL to print (start-up banner, logs): the password replaced, everything else kept. */
export function redactDatabaseUrl(url: string): string {
  if (!isPostgresUrl(url)) return url;
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}
