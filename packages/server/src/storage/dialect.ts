/**
 * Per-dialect helpers (style-anchors §3 "Storage", Directus helpers/<concern>/dialects): the only
 * place where SQLite and PostgreSQL differ. Services and repositories never branch on the database.
 */
import type { CreateTableBuilder } from 'kysely';

export type DialectName = 'sqlite' | 'postgres';

export interface DialectHelpers {
  readonly name: DialectName;
  /** Add an auto-generated integer primary key called `id`. */
  addIdColumn<T extends string>(t: CreateTableBuilder<T>): CreateTableBuilder<T, 'id'>;
  /** Column type for integers that can exceed 2^31 (timestamps in ms, byte sizes). */
  readonly bigint: 'integer' | 'bigint';
}

export const sqliteHelpers: DialectHelpers = {
  name: 'sqlite',
  // NOTE: SQLite INTEGER is 64-bit; AUTOINCREMENT keeps ids of deleted hosts from being reused, so a
  // deleted host's id can never be inherited by a new host (cohorts and audit entries stay correct).
  addIdColumn: (t) => t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement().notNull()),
  bigint: 'integer',
};

export const postgresHelpers: DialectHelpers = {
  name: 'postgres',
  addIdColumn: (t) => t.addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity()),
  bigint: 'bigint',
};
