import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { DialectHelpers } from '../dialect.js';
import * as m0001 from './0001-initial.js';
import * as m0002 from './0002-auth.js';
import * as m0003 from './0003-hosts-labels-groups.js';
import * as m0004 from './0004-saved-queries.js';
import * as m0005 from './0005-live-queries.js';
import * as m0006 from './0006-packs-results.js';
import * as m0007 from './0007-updates.js';
import * as m0008 from './0008-host-search.js';
import * as m0009 from './0009-agents.js';
import * as m0010 from './0010-log-partitions.js';
import * as m0011 from './0011-log-indexes.js';

interface MigrationModule {
  up(db: Kysely<unknown>, d: DialectHelpers): Promise<void>;
  down(db: Kysely<unknown>, d: DialectHelpers): Promise<void>;
}

/**
 * One ordered list for both databases (style-anchors §3 "Storage"). Names sort in order; a dialect
 * branch, where needed, sits inside the migration through the DialectHelpers it receives.
 */
const MIGRATIONS: Record<string, MigrationModule> = {
  '0001-initial': m0001,
  '0002-auth': m0002,
  '0003-hosts-labels-groups': m0003,
  '0004-saved-queries': m0004,
  '0005-live-queries': m0005,
  '0006-packs-results': m0006,
  '0007-updates': m0007,
  '0008-host-search': m0008,
  '0009-agents': m0009,
  '0010-log-partitions': m0010,
  '0011-log-indexes': m0011,
};

class StaticProvider implements MigrationProvider {
  constructor(private readonly d: DialectHelpers) {}
  getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    for (const [name, m] of Object.entries(MIGRATIONS)) {
      out[name] = { up: (db: Kysely<unknown>) => m.up(db, this.d), down: (db: Kysely<unknown>) => m.down(db, this.d) };
    }
    return Promise.resolve(out);
  }
}

/** Bring the schema up to date; throws with the failing migration's name on error. */
export async function migrateToLatest(db: Kysely<unknown>, d: DialectHelpers): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new StaticProvider(d) });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
