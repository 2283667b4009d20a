/**
 * OsqueryConfigService (osquery-protocol.md §3, S7; issue #3 "Config serving"): a host's config is
 * built from its group (options, packs with platform, version and shard filters) and the global
 * options, sent with numbers as numbers and under 1 MiB, cached per (group, platform) and rebuilt
 * only after `invalidate()`. There is no operator API for packs yet, so rows are written directly
 * with Kysely through a second handle on the same SQLite file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { Insertable, Kysely } from 'kysely';
import { OSQUERY_MAX_CONFIG_BYTES, type HostPlatform } from '@mimir/osquery-protocol';
import type { Database, PackQueriesTable, PacksTable } from '../storage/schema.js';
import { openSqlite } from '../storage/sqlite/sqlite.js';
import { openStore, type Store } from '../storage/store.js';
import { GLOBAL_OPTIONS_KEY, OsqueryConfigService, isReservedQueryName, type ConfigDefaults } from './osquery-config.service.js';

const NOW = 1_700_000_000_000;
const DEFAULTS: ConfigDefaults = { distributedInterval: 10, loggerPeriod: 10, configRefresh: 60 };

interface Fixture {
  store: Store;
  db: Kysely<Database>;
}

async function open(t: TestContext): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'mimir-config-'));
  const store = await openStore({ dataDir: dir });
  const sqlite = openSqlite(join(dir, 'mimir.db'));
  const { db } = sqlite;
  t.after(async () => {
    await sqlite.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, db };
}

type QuerySpec = Omit<Insertable<PackQueriesTable>, 'pack_id' | 'sql' | 'interval' | 'shard'> & { sql?: string; interval?: number; shard?: number | null };

async function addPack(
  db: Kysely<Database>,
  pack: Omit<Insertable<PacksTable>, 'created_at' | 'updated_at'>,
  queries: QuerySpec[],
  targets: Array<{ groupId: number; shard?: number }> = [],
): Promise<number> {
  const { id } = await db.insertInto('packs').values({ ...pack, created_at: NOW, updated_at: NOW }).returning('id').executeTakeFirstOrThrow();
  for (const q of queries) {
    await db.insertInto('pack_queries').values({ sql: `SELECT * FROM ${q.name}`, interval: 60, shard: null, ...q, pack_id: id }).execute();
  }
  for (const tg of targets) {
    await db.insertInto('pack_targets').values({ pack_id: id, group_id: tg.groupId, ...(tg.shard !== undefined ? { shard: tg.shard } : {}) }).execute();
  }
  return id;
}

async function setGroupOptions(db: Kysely<Database>, groupId: number, options: Record<string, unknown>): Promise<void> {
  await db.updateTable('groups').set({ options: JSON.stringify(options) }).where('id', '=', groupId).execute();
}

interface ServedQuery {
  query: string;
  interval: number;
  [k: string]: unknown;
}
interface ServedPack {
  queries: Record<string, ServedQuery>;
  platform?: string;
  version?: string;
  shard?: number;
  discovery?: string[];
}
interface Served {
  options: Record<string, unknown>;
  packs: Record<string, ServedPack>;
  decorators?: unknown;
}

async function served(svc: OsqueryConfigService, groupId: number, platform: HostPlatform): Promise<Served> {
  return JSON.parse(await svc.configFor(groupId, platform)) as Served;
}

/** Every value under a key named `interval` or `shard`, anywhere in the config. */
function numericFields(v: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(v)) for (const x of v) numericFields(x, out);
  else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'interval' || k === 'shard') out.push(x);
      numericFields(x, out);
    }
  }
  return out;
}

/** A store whose config-shaping reads are counted. */
function countingStore(store: Store): { store: Store; calls: () => number } {
  let n = 0;
  const counted: Store = {
    ...store,
    settings: { ...store.settings, get: (key) => (n++, store.settings.get(key)) },
    groups: { ...store.groups, findById: (id) => (n++, store.groups.findById(id)) },
    packs: { ...store.packs, listForGroup: (id) => (n++, store.packs.listForGroup(id)) },
  };
  return { store: counted, calls: () => n };
}

/** Two groups and a pack mix covering every filter the server applies. */
async function fleet(f: Fixture) {
  const a = await f.store.groups.create('servers', NOW);
  const b = await f.store.groups.create('laptops', NOW);
  await addPack(f.db, { name: 'mixed' }, [
    { name: 'linux_only', platform: 'linux', interval: 60 },
    { name: 'posix_q', platform: 'posix', interval: 120, snapshot: 1 },
    { name: 'ubuntu_q', platform: 'ubuntu' },
    { name: 'anywhere', platform: '', interval: 300, shard: 10, min_osquery_version: '5.0.0', removed: 0, denylist: 0, description: 'd', value: 'v' },
    { name: 'every_one', platform: 'any' },
    { name: 'full_shard', shard: 100 },
    { name: 'win_only', platform: 'windows' },
    { name: 'mac_only', platform: 'darwin' },
    { name: 'win_or_mac', platform: 'windows,darwin' },
    // Names osquery refuses (O-packs, database.cpp): never served.
    { name: 'last_epoch' }, { name: 'row_counter' }, { name: 'query.hits' }, { name: 'cache.x' }, { name: 'config_views.v' },
    // Not reserved: the rule is about prefixes/suffixes only.
    { name: 'epoch_start' }, { name: 'counters_by_host' },
  ], [{ groupId: a }]);
  await addPack(f.db, { name: 'windows_pack', platform: 'windows' }, [{ name: 'services' }], [{ groupId: a }]);
  await addPack(f.db, { name: 'versioned', platform: 'linux', min_osquery_version: '5.10.0', discovery: JSON.stringify(['SELECT 1 FROM os_version WHERE platform = \'ubuntu\'']) }, [{ name: 'q' }], [
    { groupId: a, shard: 25 },
    { groupId: b, shard: 75 },
  ]);
  await addPack(f.db, { name: 'global_sharded', global: 1, global_shard: 40 }, [{ name: 'q' }]);
  await addPack(f.db, { name: 'global_full', global: 1 }, [{ name: 'q' }]);
  await addPack(f.db, { name: 'global_targeted', global: 1, global_shard: 30 }, [{ name: 'q' }], [{ groupId: a, shard: 60 }]);
  await addPack(f.db, { name: 'disabled', enabled: 0 }, [{ name: 'q' }], [{ groupId: a }]);
  await addPack(f.db, { name: 'disabled_global', enabled: 0, global: 1 }, [{ name: 'q' }]);
  await addPack(f.db, { name: 'laptops_only' }, [{ name: 'q' }], [{ groupId: b }]);
  await addPack(f.db, { name: 'only_reserved' }, [{ name: 'x_counter' }], [{ groupId: a }]);
  await addPack(f.db, { name: 'no_target' }, [{ name: 'q' }]);
  return { a, b };
}

void describe('isReservedQueryName', () => {
  void it('should reject the names osquery refuses and nothing else', () => {
    for (const n of ['query.x', 'cache.y', 'config_views.z', 'epoch', 'schedule_epoch', 'counter', 'my_counter']) assert.equal(isReservedQueryName(n), true, n);
    for (const n of ['queries', 'epoch_start', 'counters', 'x.query.y', 'cached', 'procs']) assert.equal(isReservedQueryName(n), false, n);
  });
});

void describe('OsqueryConfigService', () => {
  void it('should serve a linux host its linux, posix, distro and unfiltered queries but not windows or darwin ones', async (t) => {
    const f = await open(t);
    const { a } = await fleet(f);
    const svc = new OsqueryConfigService(f.store, DEFAULTS);
    const cfg = await served(svc, a, 'linux');
    assert.deepEqual(Object.keys(cfg.packs).sort(), ['global_full', 'global_sharded', 'global_targeted', 'mixed', 'versioned']);
    assert.deepEqual(Object.keys(cfg.packs['mixed']?.queries ?? {}).sort(), [
      'anywhere', 'counters_by_host', 'epoch_start', 'every_one', 'full_shard', 'linux_only', 'posix_q', 'ubuntu_q',
    ]);

    const win = await served(svc, a, 'windows');
    assert.deepEqual(Object.keys(win.packs).sort(), ['global_full', 'global_sharded', 'global_targeted', 'mixed', 'windows_pack']);
    assert.deepEqual(Object.keys(win.packs['mixed']?.queries ?? {}).sort(), ['anywhere', 'counters_by_host', 'epoch_start', 'every_one', 'full_shard', 'win_only', 'win_or_mac']);
    const mac = await served(svc, a, 'darwin');
    assert.deepEqual(Object.keys(mac.packs['mixed']?.queries ?? {}).sort(), [
      'anywhere', 'counters_by_host', 'epoch_start', 'every_one', 'full_shard', 'mac_only', 'posix_q', 'win_or_mac',
    ]);
    assert.equal(mac.packs['windows_pack'], undefined);
  });

  void it('should emit query and pack platform, version, shard and discovery exactly when set', async (t) => {
    const f = await open(t);
    const { a, b } = await fleet(f);
    const svc = new OsqueryConfigService(f.store, DEFAULTS);
    const cfg = await served(svc, a, 'linux');
    const mixed = cfg.packs['mixed'];
    assert.ok(mixed);
    assert.deepEqual(mixed.queries['anywhere'], {
      query: 'SELECT * FROM anywhere', interval: 300, removed: false, version: '5.0.0', shard: 10, denylist: false, description: 'd', value: 'v',
    });
    assert.deepEqual(mixed.queries['linux_only'], { query: 'SELECT * FROM linux_only', interval: 60, platform: 'linux' });
    assert.deepEqual(mixed.queries['posix_q'], { query: 'SELECT * FROM posix_q', interval: 120, snapshot: true, platform: 'posix' });
    assert.deepEqual(mixed.queries['full_shard'], { query: 'SELECT * FROM full_shard', interval: 60 }, 'shard 100 = every host: not sent');
    // A pack without platform/version/shard/discovery carries none of those keys.
    assert.deepEqual(Object.keys(mixed).sort(), ['queries']);

    // Per-group shard from pack_targets, plus the pack's own platform, version and discovery.
    assert.deepEqual({ ...cfg.packs['versioned'], queries: undefined }, {
      queries: undefined, platform: 'linux', version: '5.10.0', shard: 25, discovery: ["SELECT 1 FROM os_version WHERE platform = 'ubuntu'"],
    });
    const laptops = await served(svc, b, 'linux');
    assert.equal(laptops.packs['versioned']?.shard, 75);
    assert.ok(laptops.packs['laptops_only']);
    assert.equal(cfg.packs['laptops_only'], undefined, 'packs of other groups are not served');
    assert.equal(cfg.packs['no_target'], undefined, 'an untargeted, non-global pack goes nowhere');

    // Global packs: global_shard for every group; a group's own target shard wins over it.
    assert.equal(cfg.packs['global_sharded']?.shard, 40);
    assert.equal(laptops.packs['global_sharded']?.shard, 40);
    assert.equal(Object.hasOwn(cfg.packs['global_full'] ?? {}, 'shard'), false);
    assert.equal(cfg.packs['global_targeted']?.shard, 60);
    assert.equal(laptops.packs['global_targeted']?.shard, 30);

    // Disabled packs (targeted or global) and packs with only reserved query names are absent.
    for (const c of [cfg, laptops]) {
      assert.equal(c.packs['disabled'], undefined);
      assert.equal(c.packs['disabled_global'], undefined);
      assert.equal(c.packs['only_reserved'], undefined);
    }
  });

  void it('should send numbers as JSON numbers', async (t) => {
    const f = await open(t);
    const { a } = await fleet(f);
    await f.store.settings.set(GLOBAL_OPTIONS_KEY, { logger_tls_max_lines: 512, schedule_splay_percent: 10 }, NOW);
    const svc = new OsqueryConfigService(f.store, DEFAULTS);
    const text = await svc.configFor(a, 'linux');
    const cfg = JSON.parse(text) as Served;
    const nums = numericFields(cfg.packs);
    assert.ok(nums.length > 10);
    for (const n of nums) assert.equal(typeof n, 'number', `interval/shard ${JSON.stringify(n)}`);
    for (const k of ['distributed_interval', 'logger_tls_period', 'logger_tls_max_lines', 'schedule_splay_percent']) {
      assert.equal(typeof cfg.options[k], 'number', k);
    }
    assert.match(text, /"distributed_interval":10\b/);
    assert.match(text, /"interval":300,/);
    assert.match(text, /"shard":25\b/);
    assert.doesNotMatch(text, /"(interval|shard|distributed_interval)":"/);
  });

  void it('should let group options override global options, which override the defaults', async (t) => {
    const f = await open(t);
    const { a, b } = await fleet(f);
    await f.store.settings.set(GLOBAL_OPTIONS_KEY, {
      distributed_interval: 30, logger_tls_max_lines: 512, host_identifier: 'uuid', logger_tls_compress: true,
      // osquery options are scalars (O-opt); anything else is not served.
      nested: { a: 1 }, list: [1], nothing: null,
    }, NOW);
    await setGroupOptions(f.db, a, { distributed_interval: 45, logger_tls_max_lines: 256, logger_tls_compress: false });
    const svc = new OsqueryConfigService(f.store, DEFAULTS);

    assert.deepEqual((await served(svc, a, 'linux')).options, {
      distributed_interval: 45, logger_tls_period: 10, pack_delimiter: '/', logger_tls_max_lines: 256, host_identifier: 'uuid', logger_tls_compress: false,
    });
    assert.deepEqual((await served(svc, b, 'linux')).options, {
      distributed_interval: 30, logger_tls_period: 10, pack_delimiter: '/', logger_tls_max_lines: 512, host_identifier: 'uuid', logger_tls_compress: true,
    });

    // Without any operator options, the server's own intervals are served.
    const bare = await open(t);
    const g = await bare.store.groups.create('g', NOW);
    const plain = await served(new OsqueryConfigService(bare.store, { distributedInterval: 7, loggerPeriod: 3, configRefresh: 60 }), g, 'linux');
    assert.deepEqual(plain.options, { distributed_interval: 7, logger_tls_period: 3, pack_delimiter: '/' });
    assert.deepEqual(plain.packs, {});
  });

  void it('should keep a config under 1 MiB and refuse, clearly, one that is over', async (t) => {
    const f = await open(t);
    const { a, b } = await fleet(f);
    const svc = new OsqueryConfigService(f.store, DEFAULTS);
    assert.ok(Buffer.byteLength(await svc.configFor(a, 'linux')) < OSQUERY_MAX_CONFIG_BYTES);

    // Just under the limit is served as is.
    const near = await f.store.groups.create('near', NOW);
    await addPack(f.db, { name: 'big' }, [{ name: 'q', sql: `SELECT '${'x'.repeat(OSQUERY_MAX_CONFIG_BYTES - 2048)}'` }], [{ groupId: near }]);
    const nearBody = await svc.configFor(near, 'linux');
    assert.ok(Buffer.byteLength(nearBody) > OSQUERY_MAX_CONFIG_BYTES - 2048);
    assert.ok(Buffer.byteLength(nearBody) <= OSQUERY_MAX_CONFIG_BYTES);

    // Over it: an error naming the group and the limit, every time, without rebuilding.
    await addPack(f.db, { name: 'huge' }, [{ name: 'q', sql: `SELECT '${'y'.repeat(OSQUERY_MAX_CONFIG_BYTES)}'` }], [{ groupId: b }]);
    const counted = countingStore(f.store);
    const svc2 = new OsqueryConfigService(counted.store, DEFAULTS);
    await assert.rejects(svc2.configFor(b, 'linux'), /config for group \d+\/linux is \d+ bytes, over osquery's 1 MiB limit/);
    const calls = counted.calls();
    await assert.rejects(svc2.configFor(b, 'linux'), /1 MiB limit/);
    assert.equal(counted.calls(), calls, 'a config that cannot change is not rebuilt on every poll');
    // Other groups are unaffected.
    assert.ok((await served(svc2, a, 'linux')).packs['mixed']);
  });

  void it('should cache per (group, platform): a poll with nothing changed does no store call', async (t) => {
    const f = await open(t);
    const { a, b } = await fleet(f);
    const counted = countingStore(f.store);
    const svc = new OsqueryConfigService(counted.store, DEFAULTS);

    const first = await svc.configFor(a, 'linux');
    assert.equal(counted.calls(), 3, 'global options, group and packs: one read each');
    for (let i = 0; i < 100; i++) assert.equal(await svc.configFor(a, 'linux'), first);
    assert.equal(counted.calls(), 3, 'cached: no store call');

    await svc.configFor(a, 'windows');
    await svc.configFor(b, 'linux');
    assert.equal(counted.calls(), 9, 'each (group, platform) is built once');
    await svc.configFor(a, 'windows');
    await svc.configFor(b, 'linux');
    assert.equal(counted.calls(), 9);

    // A change is invisible until invalidate(), then the next poll rebuilds.
    await addPack(f.db, { name: 'added_later' }, [{ name: 'fresh' }], [{ groupId: a }]);
    await f.store.settings.set(GLOBAL_OPTIONS_KEY, { distributed_interval: 99 }, NOW);
    assert.equal(await svc.configFor(a, 'linux'), first);
    svc.invalidate();
    const rebuilt = JSON.parse(await svc.configFor(a, 'linux')) as Served;
    assert.equal(counted.calls(), 12);
    assert.ok(rebuilt.packs['added_later']);
    assert.equal(rebuilt.options['distributed_interval'], 99);
    await svc.configFor(a, 'linux');
    assert.equal(counted.calls(), 12);
  });

  void it('should build once when many hosts poll at the same time', async (t) => {
    const f = await open(t);
    const { a } = await fleet(f);
    const counted = countingStore(f.store);
    const svc = new OsqueryConfigService(counted.store, DEFAULTS);
    const bodies = await Promise.all(Array.from({ length: 50 }, () => svc.configFor(a, 'linux')));
    assert.equal(new Set(bodies).size, 1);
    assert.equal(counted.calls(), 3, 'one build shared by every concurrent poll');
  });

  void it('should not cache a config built while an invalidate() happened', async (t) => {
    const f = await open(t);
    const { a } = await fleet(f);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let hold = true;
    const store: Store = {
      ...f.store,
      packs: {
        ...f.store.packs,
        listForGroup: async (id) => {
          const packs = await f.store.packs.listForGroup(id);
          if (hold) await gate;
          return packs;
        },
      },
    };
    const svc = new OsqueryConfigService(store, DEFAULTS);
    const stale = svc.configFor(a, 'linux');
    await new Promise((r) => setTimeout(r, 20)); // the build has read the old packs and waits
    await addPack(f.db, { name: 'changed_meanwhile' }, [{ name: 'q' }], [{ groupId: a }]);
    svc.invalidate();
    hold = false;
    release();
    assert.equal((JSON.parse(await stale) as Served).packs['changed_meanwhile'], undefined);
    assert.ok((await served(svc, a, 'linux')).packs['changed_meanwhile'], 'the next poll rebuilds instead of serving the stale build');
  });
});
