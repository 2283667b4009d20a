/**
 * Per-dialect helpers (style-anchors §3 "Storage", Directus helpers/<concern>/dialects): the only
 * place where SQLite and PostgreSQL differ. Services and repositories never branch on the database.
 */
import { noLogPartitions, postgresLogPartitions, type LogPartitionHelpers } from './log-partitions.js';
import { sql, type CreateTableBuilder, type Kysely, type RawBuilder, type SqlBool } from 'kysely';

export type DialectName = 'sqlite' | 'postgres';

export interface DialectHelpers {
  readonly name: DialectName;
  /** Add an auto-generated integer primary key called `id`. */
  addIdColumn<T extends string>(t: CreateTableBuilder<T>): CreateTableBuilder<T, 'id'>;
  /** Column type for integers that can exceed 2^31 (timestamps in ms, byte sizes). */
  readonly bigint: 'integer' | 'bigint';
  /** Indexed free-text host search (migration 0008-host-search). */
  readonly hostSearch: TextSearchHelpers;
  /** Result/status logs by day on PostgreSQL, retention by dropping days (migration 0010, log-partitions.ts). */
  readonly logPartitions: LogPartitionHelpers;
}

/**
 * Host columns the free-text search covers: what Fleet's host search matches (hostname, UUID,
 * serial, IP; fleet.md §1.1) plus the computer name and osquery identifier the console shows.
 */
export const HOST_SEARCH_COLUMNS = ['hostname', 'computer_name', 'hardware_uuid', 'identifier', 'hardware_serial', 'primary_ip'] as const;

export interface TextSearchHelpers {
  /** Build the index over existing hosts and keep it current from then on (migration 0008). */
  createHostIndex(db: Kysely<unknown>): Promise<void>;
  dropHostIndex(db: Kysely<unknown>): Promise<void>;
  /**
   * True for rows of `hosts` where any search column contains `text`, case-insensitively (a prefix
   * of a hostname, a whole UUID, part of an IP): the substring semantics of Fleet's search, served
   * by an index instead of a scan whenever `text` has at least 3 characters.
   */
  hostMatches(text: string): RawBuilder<SqlBool>;
}

/** `%text%` for LIKE with a backslash escape, lower-cased: `%`, `_` and backslash taken literally. */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The scan both dialects fall back to for 1–2 characters (too short for any trigram). */
function scanHosts(text: string): RawBuilder<SqlBool> {
  const pattern = containsPattern(text);
  return sql<SqlBool>`(${sql.join(HOST_SEARCH_COLUMNS.map((c) => sql`lower(${sql.ref(`hosts.${c}`)}) like ${pattern} escape '\\'`), sql` or `)})`;
}

/** FTS5's trigram tokenizer and pg_trgm count characters (code points), not UTF-16 units. */
const trigramLength = (text: string): boolean => Array.from(text).length >= 3;

/**
 * SQLite: an FTS5 external-content table over `hosts` with the trigram tokenizer (SQLite ≥ 3.34),
 * which answers substring queries from the index; triggers keep it in step with every insert,
 * delete and change of a search column (no application code has to remember it).
 */
const sqliteHostSearch: TextSearchHelpers = {
  async createHostIndex(db) {
    const cols = HOST_SEARCH_COLUMNS.join(', ');
    const vals = (row: 'new' | 'old') => HOST_SEARCH_COLUMNS.map((c) => `${row}.${c}`).join(', ');
    const changed = HOST_SEARCH_COLUMNS.map((c) => `old.${c} IS NOT new.${c}`).join(' OR ');
    await sql.raw(`CREATE VIRTUAL TABLE host_search USING fts5(${cols}, content='hosts', content_rowid='id', tokenize='trigram')`).execute(db);
    await sql.raw(`CREATE TRIGGER host_search_insert AFTER INSERT ON hosts BEGIN
      INSERT INTO host_search(rowid, ${cols}) VALUES (new.id, ${vals('new')}); END`).execute(db);
    await sql.raw(`CREATE TRIGGER host_search_delete AFTER DELETE ON hosts BEGIN
      INSERT INTO host_search(host_search, rowid, ${cols}) VALUES ('delete', old.id, ${vals('old')}); END`).execute(db);
    // Only when a search column really changes: vitals refreshes rewrite these columns with the same values.
    await sql.raw(`CREATE TRIGGER host_search_update AFTER UPDATE OF ${cols} ON hosts WHEN ${changed} BEGIN
      INSERT INTO host_search(host_search, rowid, ${cols}) VALUES ('delete', old.id, ${vals('old')});
      INSERT INTO host_search(rowid, ${cols}) VALUES (new.id, ${vals('new')}); END`).execute(db);
    await sql.raw(`INSERT INTO host_search(host_search) VALUES ('rebuild')`).execute(db);
  },
  async dropHostIndex(db) {
    for (const t of ['host_search_insert', 'host_search_delete', 'host_search_update']) await sql.raw(`DROP TRIGGER IF EXISTS ${t}`).execute(db);
    await sql.raw('DROP TABLE IF EXISTS host_search').execute(db);
  },
  hostMatches(text) {
    const t = text.trim();
    if (!trigramLength(t)) return scanHosts(t);
    // One FTS5 phrase (double quotes doubled): the trigram tokenizer matches it as a substring of any column.
    const phrase = `"${t.replace(/"/g, '""')}"`;
    return sql<SqlBool>`${sql.ref('hosts.id')} in (select rowid from host_search where host_search match ${phrase})`;
  },
};

/**
 * PostgreSQL: pg_trgm's GIN index on one lower-cased expression joining the search columns with a
 * unit separator (never typed, so no match spans two columns); `LIKE '%…%'` uses the index.
 * pg_trgm is a trusted extension (PostgreSQL ≥ 13): the database owner may create it.
 */
const PG_SEARCH_EXPR = (prefix: string): string =>
  `lower(${HOST_SEARCH_COLUMNS.map((c) => `${prefix}${c}`).join(` || E'\\x1f' || `)})`;

const postgresHostSearch: TextSearchHelpers = {
  async createHostIndex(db) {
    await sql.raw('CREATE EXTENSION IF NOT EXISTS pg_trgm').execute(db);
    await sql.raw(`CREATE INDEX hosts_search_trgm ON hosts USING gin ((${PG_SEARCH_EXPR('')}) gin_trgm_ops)`).execute(db);
  },
  async dropHostIndex(db) {
    await sql.raw('DROP INDEX IF EXISTS hosts_search_trgm').execute(db);
  },
  hostMatches(text) {
    const t = text.trim();
    if (!trigramLength(t)) return scanHosts(t);
    return sql<SqlBool>`${sql.raw(PG_SEARCH_EXPR('hosts.'))} like ${containsPattern(t)} escape '\\'`;
  },
};

export const sqliteHelpers: DialectHelpers = {
  name: 'sqlite',
  // NOTE: SQLite INTEGER is 64-bit; AUTOINCREMENT keeps ids of deleted hosts from being reused, so a
  // deleted host's id can never be inherited by a new host (cohorts and audit entries stay correct).
  addIdColumn: (t) => t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement().notNull()),
  bigint: 'integer',
  hostSearch: sqliteHostSearch,
  logPartitions: noLogPartitions,
};

export const postgresHelpers: DialectHelpers = {
  name: 'postgres',
  addIdColumn: (t) => t.addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity()),
  bigint: 'bigint',
  hostSearch: postgresHostSearch,
  logPartitions: postgresLogPartitions,
};
