/**
 * The Store: the only storage import services may use (style-anchors §2). It bundles the
 * repositories, a transaction helper, and the dialect; SQLite or PostgreSQL sits behind it.
 */
import type { Kysely } from 'kysely';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { postgresHelpers, sqliteHelpers, type DialectHelpers } from './dialect.js';
import { migrateToLatest } from './migrations/index.js';
import { createAgentRepository } from './repositories/agents.repository.js';
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
import { isPostgresUrl, openPostgres } from './postgres/postgres.js';
import { openSqlite } from './sqlite/sqlite.js';

function repositories(db: Kysely<Database>, dialect: DialectHelpers) {
  return {
    hosts: createHostRepository(db),
    groups: createGroupRepository(db),
    hostQueries: createHostQueryRepository(db, dialect),
    labels: createLabelRepository(db),
    logs: createLogRepository(db, dialect),
    distributed: createDistributedRepository(db),
    carves: createCarveRepository(db),
    packs: createPackRepository(db),
    results: createResultsRepository(db),
    savedQueries: createSavedQueryRepository(db),
    settings: createSettingsRepository(db),
    scheduleStats: createScheduleStatsRepository(db),
    users: createUserRepository(db),
    updates: createUpdatesRepository(db),
    agents: createAgentRepository(db),
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
  /** Empty = embedded SQLite at `<dataDir>/mimir.db`; `sqlite:<file>`; or `postgres://…`. */
  databaseUrl?: string | undefined;
  /** PostgreSQL pool size per instance. */
  poolSize?: number | undefined;
}

function wrap(db: Kysely<Database>, dialect: DialectHelpers, close: () => Promise<void>): Store {
  return {
    ...repositories(db, dialect),
    dialect,
    transaction: (fn) => db.transaction().execute((trx) => fn(repositories(trx, dialect))),
    close,
  };
}

async function migrated(db: Kysely<Database>, dialect: DialectHelpers, close: () => Promise<void> = () => db.destroy()): Promise<Store> {
  try {
    await migrateToLatest(db as unknown as Kysely<unknown>, dialect);
    // PostgreSQL: today's log partitions exist even after a long downtime (the leader's hourly
    // job keeps them ahead while running).
    await dialect.logPartitions.ensurePartitions(db as unknown as Kysely<unknown>, Date.now());
  } catch (err) {
    await close();
    throw err;
  }
  return wrap(db, dialect, close);
}

export async function openStore(opts: StoreOptions): Promise<Store> {
  const url = opts.databaseUrl ?? '';
  if (isPostgresUrl(url)) {
    // Kysely's migrator takes a PostgreSQL advisory lock of its own, so instances starting
    // together run each migration once.
    return migrated(openPostgres(url, { max: opts.poolSize }).db, postgresHelpers);
  }
  if (url !== '' && !url.startsWith('sqlite:')) {
    throw new Error('MIMIR_DATABASE_URL must start with postgres://, postgresql:// or sqlite:');
  }
  let file = join(opts.dataDir, 'mimir.db');
  if (url.startsWith('sqlite:')) file = url.slice('sqlite:'.length).replace(/^\/\//, '');
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const sqlite = openSqlite(file);
  return migrated(sqlite.db, sqliteHelpers, sqlite.close);
}
