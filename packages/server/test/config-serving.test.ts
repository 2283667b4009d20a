/**
 * Config serving over real HTTPS with the osqueryd stand-in (osquery-protocol.md §3, S7; issue #3
 * "Config serving"): what a host fetches is exactly the cached config of its (group, platform), its
 * options take effect in osquery, a poll that finds nothing changed touches no storage at all, and
 * an oversize config is refused with an `error` osquery counts as a failure (it keeps its last good
 * config) instead of being served and dropped by every host. Packs are written with Kysely through
 * a second handle on the server's SQLite file: there is no operator API for them yet.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import { OSQUERY_ENDPOINTS, OSQUERY_MAX_CONFIG_BYTES } from '@mimir/osquery-protocol';
import { OsquerydStandin, makeHostProfile, type HostProfile, type OsquerydStandinOptions } from '@mimir/osquery-protocol/standin';
import { GLOBAL_OPTIONS_KEY } from '../src/services/osquery-config.service.js';
import type { Database } from '../src/storage/schema.js';
import type { Store } from '../src/storage/store.js';
import { post, secondHandle, startServer, type TestServer } from './helper.js';

const instant = () => Promise.resolve();

function standin(srv: TestServer, profile: HostProfile, extra: Partial<OsquerydStandinOptions> = {}): OsquerydStandin {
  return new OsquerydStandin({ tlsHostname: srv.tlsHostname, ca: srv.ca, enrollSecret: srv.secret, profile, sleep: instant, ...extra });
}

async function addPack(db: Kysely<Database>, name: string, queries: Array<{ name: string; platform?: string; interval?: number; sql?: string }>, groupId: number, shard = 100): Promise<void> {
  const now = Date.now();
  const { id } = await db.insertInto('packs').values({ name, created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
  for (const q of queries) {
    await db.insertInto('pack_queries').values({ pack_id: id, name: q.name, sql: q.sql ?? `SELECT * FROM ${q.name}`, interval: q.interval ?? 60, platform: q.platform ?? '', shard: null }).execute();
  }
  await db.insertInto('pack_targets').values({ pack_id: id, group_id: groupId, shard }).execute();
}

/** Count every repository call and transaction on the app's store (the config service holds the same object). */
function countStoreCalls(store: Store): () => number {
  let n = 0;
  const repos = store as unknown as Record<string, unknown>;
  for (const name of ['hosts', 'groups', 'logs', 'distributed', 'carves', 'packs', 'settings', 'scheduleStats']) {
    const repo = repos[name] as Record<string, unknown>;
    for (const [k, fn] of Object.entries(repo)) {
      if (typeof fn !== 'function') continue;
      repo[k] = (...args: unknown[]) => {
        n++;
        return (fn as (...a: unknown[]) => unknown).apply(repo, args);
      };
    }
  }
  const tx = store.transaction.bind(store);
  (store as { transaction: Store['transaction'] }).transaction = (fn) => {
    n++;
    return tx(fn);
  };
  return () => n;
}

/** A second group with its own enroll secret, options and packs. */
async function serversGroup(srv: TestServer, db: Kysely<Database>) {
  const now = Date.now();
  const groupId = await srv.app.store.groups.create('servers', now);
  await srv.app.store.groups.addSecret(groupId, 'servers-secret-0123456789', 'servers', now);
  srv.app.services.secrets.invalidate();
  await db.updateTable('groups').set({ options: JSON.stringify({ distributed_interval: 42, logger_tls_max_lines: 256 }) }).where('id', '=', groupId).execute();
  await addPack(db, 'server_pack', [
    { name: 'listening_ports', platform: 'linux', interval: 300 },
    { name: 'services', platform: 'windows' },
    { name: 'launchd', platform: 'darwin' },
    { name: 'uptime' },
  ], groupId, 50);
  return groupId;
}

void describe('config serving over HTTPS', () => {
  void it('should send a host exactly the cached config of its group and platform, and osquery applies its options', async (t) => {
    const srv = await startServer(t);
    const db = secondHandle(t, srv);
    await srv.app.store.settings.set(GLOBAL_OPTIONS_KEY, { distributed_interval: 20, logger_tls_period: 7 }, Date.now());
    const groupId = await serversGroup(srv, db);
    const defaultGroup = (await srv.app.store.groups.findByName('default'))?.id ?? -1;
    await addPack(db, 'default_pack', [{ name: 'processes' }], defaultGroup);
    srv.app.services.config.invalidate();

    const linux = standin(srv, makeHostProfile('ubuntu', 31), { enrollSecret: 'servers-secret-0123456789' });
    const windows = standin(srv, makeHostProfile('windows', 32), { enrollSecret: 'servers-secret-0123456789' });
    const plain = standin(srv, makeHostProfile('ubuntu', 33));
    t.after(() => Promise.all([linux.close(), windows.close(), plain.close()]));

    for (const [os, group, platform] of [[linux, groupId, 'linux'], [windows, groupId, 'windows'], [plain, defaultGroup, 'linux']] as const) {
      const cfg = await os.config();
      assert.equal(cfg.ok, true, JSON.stringify(cfg));
      const expected = await srv.app.services.config.configFor(group, platform);
      assert.deepEqual(cfg.body, JSON.parse(expected));
      // Byte for byte: the cached JSON text is what goes on the wire.
      const raw = await post(srv, OSQUERY_ENDPOINTS.config, { node_key: await os.getNodeKey() });
      assert.equal(raw.text, expected);
      assert.ok(Buffer.byteLength(raw.text) < OSQUERY_MAX_CONFIG_BYTES);
    }

    const lq = (linux.lastConfig?.['packs'] as Record<string, { queries: Record<string, unknown>; shard?: unknown }>)['server_pack'];
    assert.deepEqual(Object.keys(lq?.queries ?? {}).sort(), ['listening_ports', 'uptime']);
    assert.equal(lq?.shard, 50);
    const wq = (windows.lastConfig?.['packs'] as Record<string, { queries: Record<string, unknown> }>)['server_pack'];
    assert.deepEqual(Object.keys(wq?.queries ?? {}).sort(), ['services', 'uptime']);
    assert.deepEqual(Object.keys(plain.lastConfig?.['packs'] ?? {}), ['default_pack']);

    // Group options beat global ones, which beat the server defaults; osquery reads them as numbers.
    assert.deepEqual(linux.lastConfig?.['options'], { distributed_interval: 42, logger_tls_period: 7, pack_delimiter: '/', logger_tls_max_lines: 256 });
    assert.deepEqual(plain.lastConfig?.['options'], { distributed_interval: 20, logger_tls_period: 7, pack_delimiter: '/' });
    assert.equal(linux.distributedIntervalSec, 42);
    assert.equal(plain.distributedIntervalSec, 20);
  });

  void it('should answer config polls without touching storage until the config is invalidated', async (t) => {
    const srv = await startServer(t);
    const db = secondHandle(t, srv);
    const os = standin(srv, makeHostProfile('ubuntu', 34));
    t.after(() => os.close());
    assert.equal((await os.config()).ok, true); // enroll and the first build
    const first = JSON.stringify(os.lastConfig);
    const defaultGroup = (await srv.app.store.groups.findByName('default'))?.id ?? -1;

    const calls = countStoreCalls(srv.app.store);
    for (let i = 0; i < 20; i++) {
      const r = await os.config();
      assert.equal(r.ok, true);
      assert.equal(r.attempts, 1);
    }
    assert.equal(calls(), 0, 'authentication, last-seen and config all come from memory');

    // Changed in the database (through another handle) but not invalidated: still the cached config.
    await addPack(db, 'new_pack', [{ name: 'users' }], defaultGroup);
    assert.equal((await os.config()).ok, true);
    assert.equal(JSON.stringify(os.lastConfig), first);
    assert.equal(calls(), 0);

    srv.app.services.config.invalidate();
    assert.equal((await os.config()).ok, true);
    assert.ok((os.lastConfig?.['packs'] as Record<string, unknown>)['new_pack'], 'rebuilt after invalidate()');
    const afterRebuild = calls();
    assert.ok(afterRebuild > 0);
    assert.equal((await os.config()).ok, true);
    assert.equal(calls(), afterRebuild, 'and cached again');
  });

  void it('should refuse an oversize config with an error, so osquery keeps its last good config', async (t) => {
    const srv = await startServer(t);
    const db = secondHandle(t, srv);
    const os = standin(srv, makeHostProfile('ubuntu', 35), { configMaxAttempts: 1 });
    t.after(() => os.close());
    assert.equal((await os.config()).ok, true);
    const good = os.lastConfig;
    assert.ok(good);

    const defaultGroup = (await srv.app.store.groups.findByName('default'))?.id ?? -1;
    await addPack(db, 'too_big', [{ name: 'q', sql: `SELECT '${'z'.repeat(OSQUERY_MAX_CONFIG_BYTES)}'` }], defaultGroup);
    srv.app.services.config.invalidate();
    const r = await os.config();
    assert.equal(r.ok, false, 'the error key makes osquery count it as a failure (§1.5)');
    assert.match(r.error, /^Request failed: /);
    assert.equal(os.lastConfig, good, 'osquery keeps running with its last good config');
    const raw = await post(srv, OSQUERY_ENDPOINTS.config, { node_key: await os.getNodeKey() });
    assert.ok(raw.text.length < 1024, 'the oversize config itself is never sent');
    assert.equal(typeof (raw.json as { error?: unknown }).error, 'string');
    assert.equal((raw.json as { node_invalid?: unknown }).node_invalid, undefined, 'not an auth failure: no re-enroll');
  });
});
