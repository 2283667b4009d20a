/**
 * The Store: the only storage import services may use (style-anchors §2). It bundles the
 * repositories, a transaction helper, and the dialect; SQLite or PostgreSQL sits behind it.
 */
import type { Kysely } from 'kysely';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { sqliteHelpers, type DialectHelpers } from './dialect.js';
import { migrateToLatest } from './migrations/index.js';
import { createAuditRepository } from './repositories/audit.repository.js';
import { createCarveRepository } from './repositories/carves.repository.js';
import { createDistributedRepository } from './repositories/distributed.repository.js';
import { createGroupRepository } from './repositories/groups.repository.js';
import { createHostRepository } from './repositories/hosts.repository.js';
import { createHostQueryRepository } from './repositories/host-queries.repository.js';
import { createLabelRepository } from './repositories/labels.repository.js';
import { createLogRepository } from './repositories/logs.repository.js';
import { createLiveQueryRepository } from './repositories/live-queries.repository.js';
import { createPackRepository } from './repositories/packs.repository.js';
import { createResultsRepository } from './repositories/results.repository.js';
import { createSavedQueryRepository } from './repositories/saved-queries.repository.js';
import { createScheduleStatsRepository } from './repositories/schedule-stats.repository.js';
import { createSettingsRepository } from './repositories/settings.repository.js';
import { createUserRepository } from './repositories/users.repository.js';
import { createUpdatesRepository } from './repositories/updates.repository.js';
import type { Database } from './schema.js';
import { openSqlite } from './sqlite/sqlite.js';

function repositories(db: Kysely<Database>) {
  return {
    hosts: createHostRepository(db),
    groups: createGroupRepository(db),
    hostQueries: createHostQueryRepository(db),
    labels: createLabelRepository(db),
    logs: createLogRepository(db),
    distributed: createDistributedRepository(db),
    carves: createCarveRepository(db),
    packs: createPackRepository(db),
    results: createResultsRepository(db),
    savedQueries: createSavedQueryRepository(db),
    settings: createSettingsRepository(db),
    scheduleStats: createScheduleStatsRepository(db),
    users: createUserRepository(db),
    updates: createUpdatesRepository(db),
    audit: createAuditRepository(db),
    liveQueries: createLiveQueryRepository(db),
  };
}

export type Repositories = ReturnType<typeof repositories>;

export interface Store extends Repositories {
  readonly dialect: DialectHelpers;
  /** Run `fn` in one transaction: everything it writes commits together or not at all. */
  transaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface StoreOptions {
  dataDir: string;
  /** Empty = embedded SQLite at `<dataDir>/mimir.db`. */
  databaseUrl?: string | undefined;
}

export async function openStore(opts: StoreOptions): Promise<Store> {
  const url = opts.databaseUrl ?? '';
  if (url.startsWith('postgres')) {
    throw new Error('MIMIR_DATABASE_URL: PostgreSQL storage is not available yet (planned: issue "PostgreSQL and scale-out"); unset it to use the embedded SQLite database');
  }
  let file = join(opts.dataDir, 'mimir.db');
  if (url.startsWith('sqlite:')) file = url.slice('sqlite:'.length).replace(/^\/\//, '');
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const { db } = openSqlite(file);
  const dialect = sqliteHelpers;
  await migrateToLatest(db as unknown as Kysely<unknown>, dialect);
  return {
    ...repositories(db),
    dialect,
    transaction: (fn) => db.transaction().execute((trx) => fn(repositories(trx))),
    close: () => db.destroy(),
  };
}
