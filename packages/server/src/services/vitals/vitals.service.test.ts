/**
 * Host vitals (Fleet §1.16, §2.3): when detail queries are handed out, that every query only names
 * tables and columns osquery 5.23.1 has on the platform it is sent to, and how the answers land in
 * a real SQLite store and in the cached HostState.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import type { DistributedResult, HostPlatform, ResultRow } from '@mimir/osquery-protocol';
import { openStore, type Store } from '../../storage/store.js';
import { HostCache, type HostState } from '../host-cache.js';
import { DETAIL_QUERIES, DETAIL_QUERY_SETS } from './vitals.queries.js';
import { hostJitterFraction, VitalsService } from './vitals.service.js';
import { VITALS_PREFIX } from './vitals.types.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 5, 10, 12, 0, 0);

interface Fixture {
  store: Store;
  dir: string;
  addHost(platform: string, identifier?: string): Promise<HostState>;
}

async function fixture(t: TestContext): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'mimir-vitals-'));
  const store = await openStore({ dataDir: dir });
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const groupId = await store.groups.create('default', T0);
  const cache = new HostCache(store);
  let n = 0;
  return {
    store,
    dir,
    async addHost(platform, identifier = `host-${++n}`) {
      const keyHash = `hash-${identifier}`;
      const id = await store.hosts.insert({
        identifier, group_id: groupId, platform, node_key_hash: keyHash, enrolled_at: T0, created_at: T0, updated_at: T0,
      });
      const row = await store.hosts.findAuthById(id);
      assert.ok(row);
      return cache.admit(row, keyHash);
    },
  };
}

function ok(name: string, rows: ResultRow[]): DistributedResult {
  return { id: VITALS_PREFIX + name, rows, status: 0, message: '', stats: null };
}

function failed(name: string, message = `no such table: ${name}`): DistributedResult {
  return { id: VITALS_PREFIX + name, rows: [], status: 1, message, stats: null };
}

function service(opts: { maxJitterPercent?: number; resendAfterMs?: number } = {}): VitalsService {
  return new VitalsService({ detailIntervalMs: HOUR, ...opts });
}

// ---------------------------------------------------------------------------------------------
// Realistic answers, shaped as osquery 5.23.1 sends them (every value a string).

const SCHEDULE = [
  {
    name: 'pack/incident-response/crontab', query: 'SELECT * FROM crontab;', interval: '3600', executions: '12',
    last_executed: '1718020000', denylisted: '0', output_size: '2048', wall_time: '0', wall_time_ms: '35',
    last_wall_time_ms: '3', user_time: '20', last_user_time: '2', system_time: '10', last_system_time: '1',
    average_memory: '1048576', last_memory: '1048576',
  },
  {
    name: 'pack_legacy_usb_devices', query: 'SELECT * FROM usb_devices;', interval: '600', executions: '3',
    last_executed: '1718020100', denylisted: '1', output_size: '', wall_time: '2', wall_time_ms: '',
    last_wall_time_ms: '', user_time: 'x', last_user_time: '', system_time: '-1', last_system_time: '',
    average_memory: '18446744073709551615', last_memory: '',
  },
];

const UBUNTU: DistributedResult[] = [
  ok('os_version', [{
    name: 'Ubuntu', version: '22.04.4 LTS (Jammy Jellyfish)', major: '22', minor: '4', patch: '0', build: '',
    platform: 'ubuntu', platform_like: 'debian', codename: 'jammy', arch: 'x86_64',
  }]),
  ok('osquery_info', [{
    pid: '812', uuid: '4c4c4544-0042-3510-8052-b4c04f4b4e32', instance_id: 'a3f1c5d2-1111-4b7e-9c1d-0d8e3f2a9b10',
    version: '5.23.1', config_hash: '0f1e2d', config_valid: '1', extensions: 'active', build_platform: 'ubuntu',
    build_distro: 'jammy', start_time: '1718010000', watcher: '811', platform_mask: '9',
  }]),
  ok('system_info', [{
    hostname: 'web-01', uuid: '4c4c4544-0042-3510-8052-b4c04f4b4e32', cpu_type: 'x86_64', cpu_subtype: '85',
    cpu_brand: 'Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz', cpu_physical_cores: '4', cpu_logical_cores: '8',
    cpu_sockets: '1', cpu_microcode: '0x5003604', physical_memory: '16777216000', hardware_vendor: 'Dell Inc.',
    hardware_model: 'PowerEdge R640', hardware_version: '', hardware_serial: 'JX4K2Q2', board_vendor: 'Dell Inc.',
    board_model: '0W23H8', board_version: 'A01', board_serial: '.JX4K2Q2.CNFCP0097F0123.', computer_name: 'web-01',
    local_hostname: 'web-01',
  }]),
  ok('uptime', [{ days: '3', hours: '4', minutes: '5', seconds: '6', total_seconds: '273906' }]),
  ok('interface_addresses', [
    { interface: 'lo', address: '127.0.0.1', mask: '255.0.0.0', mac: '00:00:00:00:00:00', default_route_metric: '' },
    { interface: 'docker0', address: '172.17.0.1', mask: '255.255.0.0', mac: '02:42:6b:1c:2d:3e', default_route_metric: '' },
    { interface: 'eth0', address: 'fe80::a00:27ff:feaa:bbcc%eth0', mask: 'ffff:ffff:ffff:ffff::', mac: '08:00:27:aa:bb:cc', default_route_metric: '100' },
    { interface: 'eth0', address: '10.0.2.15', mask: '255.255.255.0', mac: '08:00:27:aa:bb:cc', default_route_metric: '100' },
    { interface: 'lo', address: '::1', mask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', mac: '00:00:00:00:00:00', default_route_metric: '' },
  ]),
  ok('disk_space', [
    { path: '/', device: 'rootfs', type: 'rootfs', blocks_size: '4096', blocks: '0', blocks_available: '0', total_bytes: '0', available_bytes: '0' },
    {
      path: '/', device: '/dev/sda1', type: 'ext4', blocks_size: '4096', blocks: '25656302', blocks_available: '14680064',
      total_bytes: '105088212992', available_bytes: '60129542144',
    },
  ]),
  ok('users', [
    { uid: '0', username: 'root', description: 'root', directory: '/root', shell: '/bin/bash' },
    { uid: '1000', username: 'ubuntu', description: 'Ubuntu', directory: '/home/ubuntu', shell: '/bin/bash' },
    { uid: '0', username: 'root', description: 'root', directory: '/root', shell: '/bin/bash' },
  ]),
  ok('software', [
    { name: 'libc6', version: '2.35-0ubuntu3.7', source: 'deb_packages', vendor: '', arch: 'amd64' },
    { name: 'openssl', version: '3.0.2-0ubuntu1.15', source: 'deb_packages', vendor: '', arch: 'amd64' },
    { name: 'libc6', version: '2.35-0ubuntu3.7', source: 'deb_packages', vendor: '', arch: 'i386' },
    { name: 'openssl', version: '3.0.2-0ubuntu1.15', source: 'deb_packages', vendor: '', arch: 'amd64' },
    { name: '', version: '1', source: 'deb_packages', vendor: '', arch: '' },
  ]),
  ok('osquery_schedule', SCHEDULE),
];

const MACOS: DistributedResult[] = [
  ok('os_version', [{
    name: 'macOS', version: '14.5', major: '14', minor: '5', patch: '0', build: '23F79', platform: 'darwin',
    platform_like: 'darwin', codename: '', arch: 'arm64',
  }]),
  ok('osquery_info', [{ pid: '402', uuid: 'B1C2D3E4-0000-5A6B-8C9D-0E1F2A3B4C5D', instance_id: 'e5f6', version: '5.22.1', platform_mask: '21' }]),
  ok('system_info', [{
    hostname: 'alice-mbp.local', uuid: 'B1C2D3E4-0000-5A6B-8C9D-0E1F2A3B4C5D', cpu_type: 'arm64e', cpu_subtype: 'ARM64E',
    cpu_brand: 'Apple M1 Pro', cpu_physical_cores: '10', cpu_logical_cores: '10', physical_memory: '34359738368',
    hardware_vendor: 'Apple Inc.', hardware_model: 'MacBookPro18,3', hardware_serial: 'C02XL0GHJGH5',
    computer_name: 'Alice’s MacBook Pro', local_hostname: 'alice-mbp',
  }]),
  ok('uptime', [{ days: '0', hours: '5', minutes: '0', seconds: '1', total_seconds: '18001' }]),
  ok('interface_addresses', [
    { interface: 'lo0', address: '127.0.0.1', mask: '255.0.0.0', mac: '00:00:00:00:00:00', default_route_metric: '' },
    { interface: 'utun3', address: 'fd7a:115c:a1e0::1', mask: 'ffff:ffff:ffff:ffff::', mac: '', default_route_metric: '' },
    { interface: 'bridge100', address: '192.168.64.1', mask: '255.255.255.0', mac: '3e:22:fb:00:11:64', default_route_metric: '' },
    { interface: 'en0', address: '192.168.1.23', mask: '255.255.255.0', mac: 'a4:83:e7:12:34:56', default_route_metric: '0' },
  ]),
  ok('disk_space', [{
    path: '/', device: '/dev/disk3s1s1', type: 'apfs', blocks_size: '4096', blocks: '121643685', blocks_available: '60000000',
    total_bytes: '498252533760', available_bytes: '245760000000',
  }]),
  ok('users', [
    { uid: '501', username: 'alice', description: 'Alice', directory: '/Users/alice', shell: '/bin/zsh' },
    { uid: '70', username: '_www', description: 'World Wide Web Server', directory: '/Library/WebServer', shell: '/usr/bin/false' },
  ]),
  ok('software', [
    { name: 'Safari.app', version: '17.5', source: 'apps', vendor: '', arch: '' },
    { name: 'Xcode.app', version: '15.4', source: 'apps', vendor: '', arch: '' },
  ]),
  ok('osquery_schedule', []),
];

const WINDOWS: DistributedResult[] = [
  ok('os_version', [{
    name: 'Microsoft Windows 11 Pro', version: '10.0.22631', major: '10', minor: '0', patch: '', build: '22631',
    platform: 'windows', platform_like: 'windows', codename: 'Microsoft Windows 11 Pro', arch: '64-bit',
  }]),
  ok('osquery_info', [{ pid: '5120', version: '5.23.1', platform_mask: '2' }]),
  ok('system_info', [{
    hostname: 'DESKTOP-7H2K9QF', cpu_type: 'x86_64', cpu_brand: 'AMD Ryzen 7 5800X 8-Core Processor', cpu_logical_cores: '16',
    physical_memory: '34282389504', hardware_vendor: 'Micro-Star International Co., Ltd.', hardware_model: 'MS-7C56',
    hardware_serial: 'Default string', computer_name: 'DESKTOP-7H2K9QF',
  }]),
  ok('uptime', [{ days: '1', hours: '0', minutes: '0', seconds: '0', total_seconds: '86400' }]),
  ok('interface_addresses', [
    { interface: '1', address: '127.0.0.1', mask: '255.0.0.0', mac: '', default_route_metric: '' },
    { interface: '27', address: '172.22.160.1', mask: '255.255.240.0', mac: '00:15:5d:01:02:03', default_route_metric: '' },
    { interface: '12', address: 'fe80::1c2d:3e4f:5a6b:7c8d%12', mask: '', mac: '04:d9:f5:aa:bb:cc', default_route_metric: '' },
    { interface: '12', address: '10.1.2.3', mask: '255.255.255.0', mac: '04:d9:f5:aa:bb:cc', default_route_metric: '35' },
  ]),
  // UEFI: the lettered drive is not the "boot partition" in WMI terms; C: is fetched alongside.
  ok('disk_space', [{
    device_id: 'C:', description: 'Local Fixed Disk', file_system: 'NTFS', boot_partition: '0',
    total_bytes: '511101431808', available_bytes: '200000000000',
  }]),
  ok('users', [
    { uid: '500', username: 'Administrator', description: 'Built-in account for administering the computer/domain', directory: '', shell: 'C:\\Windows\\system32\\cmd.exe', type: 'local' },
    { uid: '18', username: 'SYSTEM', description: '', directory: '%systemroot%\\system32\\config\\systemprofile', shell: 'C:\\Windows\\system32\\cmd.exe', type: 'special' },
  ]),
  ok('software', [
    { name: 'Mozilla Firefox (x64 en-US)', version: '126.0.1', source: 'programs', vendor: 'Mozilla', arch: '' },
    { name: 'Microsoft Edge', version: '125.0.2535.92', source: 'programs', vendor: 'Microsoft Corporation', arch: '' },
    // Listed under both the 64- and 32-bit uninstall keys.
    { name: 'Mozilla Firefox (x64 en-US)', version: '126.0.1', source: 'programs', vendor: 'Mozilla', arch: '' },
  ]),
  ok('osquery_schedule', [SCHEDULE[0] ?? {}]),
];

// ---------------------------------------------------------------------------------------------
// osquery 5.23.1 schema, for the table/column guard.

const SCHEMA_PATH = process.env['MIMIR_OSQUERY_SCHEMA'] ?? '/work/shared/osquery/schema-5.23.1.json';
const SCHEMA_PLATFORMS = ['darwin', 'linux', 'windows'] as const;

interface SchemaTable {
  name: string;
  platforms: string[];
  columns: Array<{ name: string; type: string; platforms?: string[] }>;
}

function loadSchema(): Map<string, SchemaTable> {
  const tables = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as SchemaTable[];
  return new Map(tables.map((t) => [t.name, t]));
}

/** Windows-only columns are tagged with osquery's spec platform names (windows, win32, cygwin). */
function columnOn(table: SchemaTable, column: string, platform: string): boolean {
  const c = table.columns.find((x) => x.name === column);
  if (c === undefined) return false;
  return c.platforms === undefined || c.platforms.length === 0 || c.platforms.includes(platform);
}

const SQL_WORDS = new Set([
  'select', 'from', 'where', 'and', 'or', 'not', 'as', 'join', 'left', 'inner', 'cross', 'on', 'in', 'group', 'by',
  'order', 'asc', 'desc', 'limit', 'union', 'all', 'case', 'when', 'then', 'else', 'end', 'like', 'is', 'null',
  'distinct', 'min', 'max', 'count', 'sum', 'coalesce', 'nullif', 'cast', 'integer', 'text', 'using', 'having',
]);

/** The tables a query reads and the identifiers it uses, from a deliberately small SQL scanner. */
function scan(sql: string) {
  const s = sql.replace(/'(?:[^']|'')*'/g, "''").toLowerCase();
  const aliases = new Map<string, string>();
  const tables = new Set<string>();
  for (const m of s.matchAll(/\b(?:from|join)\s+([a-z_][a-z0-9_]*)(?:\s+(?:as\s+)?([a-z_][a-z0-9_]*))?/g)) {
    const table = m[1] ?? '';
    tables.add(table);
    aliases.set(table, table);
    const alias = m[2];
    if (alias !== undefined && !SQL_WORDS.has(alias)) aliases.set(alias, table);
  }
  const derived = new Set([...s.matchAll(/\)\s+(?:as\s+)?([a-z_][a-z0-9_]*)\s+on\b/g)].map((m) => m[1] ?? ''));
  const outputs = new Set([...s.matchAll(/\bas\s+([a-z_][a-z0-9_]*)/g)].map((m) => m[1] ?? ''));
  const qualified = [...s.matchAll(/\b([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\b/g)].map((m) => ({ alias: m[1] ?? '', column: m[2] ?? '' }));
  const bare = [...s.replace(/\b[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\b/g, ' ').matchAll(/\b[a-z_][a-z0-9_]*\b/g)]
    .map((m) => m[0])
    .filter((w) => !SQL_WORDS.has(w) && !aliases.has(w) && !derived.has(w) && !outputs.has(w));
  return { tables, aliases, derived, outputs, qualified, bare };
}

/** Problems with one query on one platform: unknown tables, tables or columns absent there. */
function problems(schema: Map<string, SchemaTable>, sql: string, platform: string): string[] {
  const out: string[] = [];
  const q = scan(sql);
  const known: SchemaTable[] = [];
  for (const name of q.tables) {
    const t = schema.get(name);
    if (t === undefined) out.push(`table ${name} is not in the schema`);
    else if (!t.platforms.includes(platform)) out.push(`table ${name} is not on ${platform}`);
    else known.push(t);
  }
  // Columns are only checked against tables that are there.
  if (known.length < q.tables.size) return out;
  for (const { alias, column } of q.qualified) {
    const tableName = q.aliases.get(alias);
    if (tableName !== undefined) {
      const t = schema.get(tableName);
      if (t !== undefined && !columnOn(t, column, platform)) out.push(`${tableName}.${column} is not on ${platform}`);
    } else if (!q.derived.has(alias)) {
      out.push(`unknown alias ${alias}`);
    } else if (!q.outputs.has(column) && !known.some((t) => columnOn(t, column, platform))) {
      out.push(`${alias}.${column} matches no column on ${platform}`);
    }
  }
  for (const word of q.bare) {
    if (!known.some((t) => columnOn(t, word, platform))) out.push(`column ${word} is in none of [${[...q.tables].join(', ')}] on ${platform}`);
  }
  return out;
}

/**
 * An in-memory SQLite database with one plain table per osquery table of a platform (its columns
 * there, declared types for the same affinities), so the detail SQL can be prepared and run.
 */
function standInDatabase(schema: Map<string, SchemaTable>, platform: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(':memory:');
  for (const t of schema.values()) {
    if (!t.platforms.includes(platform)) continue;
    const cols = t.columns.filter((c) => columnOn(t, c.name, platform)).map((c) => `"${c.name}" ${c.type.toUpperCase()}`);
    db.exec(`CREATE TABLE "${t.name}" (${cols.join(', ')})`);
  }
  return db;
}

function insert(db: BetterSqlite3.Database, table: string, rows: ReadonlyArray<Record<string, string | number>>): void {
  for (const r of rows) {
    const cols = Object.keys(r);
    db.prepare(`INSERT INTO "${table}" (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...Object.values(r));
  }
}

// ---------------------------------------------------------------------------------------------

void describe('VitalsService', () => {
  void describe('dueQueries', () => {
    void it('should hand the platform set to a new host and record when', async (t) => {
      const f = await fixture(t);
      const host = await f.addHost('linux');
      const q = service().dueQueries(host, T0);
      assert.ok(q);
      assert.deepEqual(Object.keys(q).sort(), Object.keys(DETAIL_QUERY_SETS.linux).sort());
      assert.ok(Object.keys(q).every((k) => k.startsWith(VITALS_PREFIX)));
      assert.equal(q[`${VITALS_PREFIX}software`], DETAIL_QUERIES.linux.software);
      assert.equal(host.detailRequestedAt, T0);
    });

    void it('should give hosts of unknown platform only the portable queries', async (t) => {
      const f = await fixture(t);
      const q = service().dueQueries(await f.addHost(''), T0);
      assert.ok(q);
      assert.deepEqual(Object.keys(q).sort(), [
        'interface_addresses', 'os_version', 'osquery_info', 'osquery_schedule', 'system_info', 'uptime', 'users',
      ].map((n) => VITALS_PREFIX + n));
    });

    void it('should hand out a copy that the caller may change', async (t) => {
      const f = await fixture(t);
      const svc = service({ resendAfterMs: 0 });
      const host = await f.addHost('darwin');
      const q = svc.dueQueries(host, T0);
      assert.ok(q);
      q['extra'] = 'SELECT 1';
      q[`${VITALS_PREFIX}os_version`] = 'SELECT 2';
      assert.equal(DETAIL_QUERY_SETS.darwin['extra'], undefined);
      const again = svc.dueQueries(host, T0 + 1);
      assert.equal(again?.[`${VITALS_PREFIX}os_version`], DETAIL_QUERIES.darwin.os_version);
    });

    void it('should not hand out again within resendAfterMs, and should after', async (t) => {
      const f = await fixture(t);
      const svc = service({ resendAfterMs: 300_000 });
      const host = await f.addHost('windows');
      assert.ok(svc.dueQueries(host, T0));
      assert.equal(svc.dueQueries(host, T0 + 10_000), undefined);
      assert.equal(svc.dueQueries(host, T0 + 299_999), undefined);
      assert.ok(svc.dueQueries(host, T0 + 300_000));
      assert.equal(host.detailRequestedAt, T0 + 300_000);
    });

    void it('should not be due after a full ingest until interval + jitter has passed', async (t) => {
      const f = await fixture(t);
      const svc = service();
      const host = await f.addHost('linux');
      assert.ok(svc.dueQueries(host, T0));
      await f.store.transaction((tx) => svc.ingest(tx, host, UBUNTU, T0 + 5_000));
      assert.equal(host.detailUpdatedAt, T0 + 5_000);
      assert.equal(host.detailRequestedAt, 0);
      const due = T0 + 5_000 + HOUR + svc.jitterMs(host.id);
      assert.equal(svc.dueQueries(host, T0 + 6_000), undefined);
      assert.equal(svc.dueQueries(host, due - 1), undefined);
      assert.ok(svc.dueQueries(host, due));
    });

    void it('should spread jitter deterministically within 0..maxJitterPercent of the interval', () => {
      const a = service({ maxJitterPercent: 10 });
      const b = service({ maxJitterPercent: 10 });
      const span = HOUR * 0.1;
      const buckets = new Array<number>(10).fill(0);
      const ids = 20_000;
      for (let id = 1; id <= ids; id++) {
        const j = a.jitterMs(id);
        assert.equal(j, b.jitterMs(id));
        assert.equal(j, a.jitterMs(id));
        assert.ok(Number.isInteger(j) && j >= 0 && j < span, `jitter ${j} for host ${id}`);
        const fraction = hostJitterFraction(id);
        assert.ok(fraction >= 0 && fraction < 1);
        const bucket = Math.floor(fraction * 10);
        buckets[bucket] = (buckets[bucket] ?? 0) + 1;
      }
      // Consecutive ids spread over the whole window: every tenth holds roughly a tenth of them.
      for (const n of buckets) assert.ok(n > ids * 0.08 && n < ids * 0.12, `buckets ${buckets.join(',')}`);
      assert.equal(service({ maxJitterPercent: 0 }).jitterMs(12345), 0);
      assert.throws(() => new VitalsService({ detailIntervalMs: HOUR, maxJitterPercent: 150 }), RangeError);
      assert.throws(() => new VitalsService({ detailIntervalMs: 0 }), RangeError);
    });

    void it('should hand out at once when a refetch is requested', async (t) => {
      const f = await fixture(t);
      const svc = service();
      const host = await f.addHost('linux');
      await f.store.transaction((tx) => svc.ingest(tx, host, UBUNTU, T0));
      assert.equal(svc.dueQueries(host, T0 + 60_000), undefined);
      host.refetchRequested = true;
      assert.ok(svc.dueQueries(host, T0 + 60_000));
      // That refetch is now outstanding: no second copy on the next check-ins.
      assert.equal(svc.dueQueries(host, T0 + 70_000), undefined);
    });

    void it('should honour a refetch requested while an earlier hand-out is outstanding', async (t) => {
      const f = await fixture(t);
      const svc = service();
      const host = await f.addHost('linux');
      await f.store.transaction((tx) => svc.ingest(tx, host, UBUNTU, T0));
      const due = T0 + HOUR + svc.jitterMs(host.id);
      assert.ok(svc.dueQueries(host, due));
      assert.equal(svc.dueQueries(host, due + 10_000), undefined);
      host.refetchRequested = true;
      assert.ok(svc.dueQueries(host, due + 20_000));
    });

    void it('should keep a refetch requested after the batch that is answering was handed out', async (t) => {
      const f = await fixture(t);
      const svc = service();
      const host = await f.addHost('linux');
      assert.ok(svc.dueQueries(host, T0));
      host.refetchRequested = true;
      await f.store.transaction((tx) => svc.ingest(tx, host, UBUNTU, T0 + 5_000));
      assert.equal(host.refetchRequested, true);
      assert.equal((await f.store.hosts.findById(host.id))?.refetch_requested, 1);
      assert.ok(svc.dueQueries(host, T0 + 10_000));
      await f.store.transaction((tx) => svc.ingest(tx, host, UBUNTU, T0 + 15_000));
      assert.equal(host.refetchRequested, false);
      assert.equal((await f.store.hosts.findById(host.id))?.refetch_requested, 0);
    });
  });

  void describe('detail queries', () => {
    const schemaPresent = existsSync(SCHEMA_PATH);

    void it('should only name tables and columns osquery 5.23.1 has on each platform', { skip: schemaPresent ? false : `no schema at ${SCHEMA_PATH}` }, () => {
      const schema = loadSchema();
      const found: string[] = [];
      const platforms: HostPlatform[] = ['linux', 'darwin', 'windows', 'freebsd', 'unknown'];
      for (const platform of platforms) {
        // Hosts of unknown platform may be any of the three: their queries must work on all.
        const targets = platform === 'linux' || platform === 'darwin' || platform === 'windows' ? [platform] : SCHEMA_PLATFORMS;
        for (const [name, sql] of Object.entries(DETAIL_QUERIES[platform])) {
          for (const target of targets) {
            for (const p of problems(schema, sql, target)) found.push(`${platform}/${name}: ${p}`);
          }
        }
      }
      assert.deepEqual(found, []);
    });

    void it('should catch a table or column that a platform lacks (guard self-test)', { skip: !schemaPresent }, () => {
      const schema = loadSchema();
      assert.deepEqual(problems(schema, 'SELECT name FROM programs', 'linux'), ['table programs is not on linux']);
      assert.deepEqual(problems(schema, 'SELECT uid, type FROM users', 'linux'), ['column type is in none of [users] on linux']);
      assert.deepEqual(problems(schema, 'SELECT uid, type FROM users', 'windows'), []);
      assert.deepEqual(problems(schema, 'SELECT u.nope FROM users u', 'darwin'), ['users.nope is not on darwin']);
      assert.deepEqual(problems(schema, 'SELECT * FROM no_such_table', 'darwin'), ['table no_such_table is not in the schema']);
    });

    void it('should prepare and run in SQLite, the engine osquery runs queries with, on each platform table set', { skip: !schemaPresent }, () => {
      const schema = loadSchema();
      for (const platform of SCHEMA_PLATFORMS) {
        const db = standInDatabase(schema, platform);
        try {
          const sets = platform === 'linux' ? [DETAIL_QUERIES.linux, DETAIL_QUERIES.unknown] : [DETAIL_QUERIES[platform], DETAIL_QUERIES.unknown];
          for (const set of sets) {
            for (const [name, sql] of Object.entries(set)) {
              assert.doesNotThrow(() => db.prepare(sql).all(), `${platform}/${name}`);
            }
          }
        } finally {
          db.close();
        }
      }
    });

    void it('should mark the default-route interface and pick installed packages (run on stand-in tables)', { skip: !schemaPresent }, () => {
      const schema = loadSchema();
      const linux = standInDatabase(schema, 'linux');
      const windows = standInDatabase(schema, 'windows');
      try {
        insert(linux, 'interface_addresses', [
          { interface: 'lo', address: '127.0.0.1', mask: '255.0.0.0' },
          { interface: 'eth0', address: '10.0.2.15', mask: '255.255.255.0' },
          { interface: 'wlan0', address: '192.168.1.9', mask: '255.255.255.0' },
          { interface: 'docker0', address: '172.17.0.1', mask: '255.255.0.0' },
        ]);
        insert(linux, 'interface_details', [
          { interface: 'lo', mac: '00:00:00:00:00:00' }, { interface: 'eth0', mac: '08:00:27:aa:bb:cc' },
          { interface: 'wlan0', mac: '3c:22:fb:00:00:01' }, { interface: 'docker0', mac: '02:42:6b:1c:2d:3e' },
        ]);
        insert(linux, 'routes', [
          { destination: '0.0.0.0', netmask: 0, gateway: '10.0.2.2', interface: 'eth0', metric: 100, type: 'gateway' },
          { destination: '0.0.0.0', netmask: 0, gateway: '192.168.1.1', interface: 'wlan0', metric: 600, type: 'gateway' },
          { destination: '10.0.2.0', netmask: 24, gateway: '', interface: 'eth0', metric: 100, type: 'gateway' },
          { destination: '172.17.0.0', netmask: 16, gateway: '', interface: 'docker0', metric: 0, type: 'gateway' },
          { destination: '127.0.0.1', netmask: 32, gateway: '', interface: 'lo', metric: 0, type: 'local' },
        ]);
        const linuxRows = linux.prepare(DETAIL_QUERIES.linux.interface_addresses ?? '').all() as Array<Record<string, unknown>>;
        assert.deepEqual(linuxRows.map((r) => [r['interface'], r['mac'], r['default_route_metric']]), [
          ['lo', '00:00:00:00:00:00', null], ['eth0', '08:00:27:aa:bb:cc', 100], ['wlan0', '3c:22:fb:00:00:01', 600],
          ['docker0', '02:42:6b:1c:2d:3e', null],
        ]);

        insert(windows, 'interface_addresses', [
          { interface: '12', address: '10.1.2.3', mask: '255.255.255.0' },
          { interface: '27', address: '172.22.160.1', mask: '255.255.240.0' },
        ]);
        insert(windows, 'interface_details', [{ interface: '12', mac: '04:d9:f5:aa:bb:cc' }, { interface: '27', mac: '00:15:5d:01:02:03' }]);
        // Windows names a route's interface by the adapter's address (osquery windows/routes.cpp).
        insert(windows, 'routes', [
          { destination: '0.0.0.0', netmask: '0', gateway: '10.1.2.1', interface: '10.1.2.3', metric: 35, type: 'remote' },
          { destination: '172.22.160.0', netmask: '20', gateway: '0.0.0.0', interface: '172.22.160.1', metric: 5256, type: 'remote' },
        ]);
        const windowsRows = windows.prepare(DETAIL_QUERIES.windows.interface_addresses ?? '').all() as Array<Record<string, unknown>>;
        assert.deepEqual(windowsRows.map((r) => [r['address'], r['mac'], r['default_route_metric']]), [
          ['10.1.2.3', '04:d9:f5:aa:bb:cc', 35], ['172.22.160.1', '00:15:5d:01:02:03', null],
        ]);

        insert(linux, 'deb_packages', [
          { name: 'openssl', version: '3.0.2-0ubuntu1.15', arch: 'amd64', status: 'install ok installed' },
          { name: 'vim', version: '2:8.2.3995-1ubuntu2', arch: 'amd64', status: 'hold ok installed' },
          { name: 'nano', version: '6.2-1', arch: 'amd64', status: 'deinstall ok config-files' },
        ]);
        insert(linux, 'rpm_packages', [
          { name: 'bash', version: '5.1.8', release: '9.el9', arch: 'x86_64', vendor: 'Rocky Enterprise Software Foundation' },
          { name: 'gpg-pubkey', version: '350d275d', release: '', arch: '(none)', vendor: '' },
        ]);
        const software = linux.prepare(DETAIL_QUERIES.linux.software ?? '').all();
        assert.deepEqual(software, [
          { name: 'openssl', version: '3.0.2-0ubuntu1.15', source: 'deb_packages', vendor: '', arch: 'amd64' },
          { name: 'vim', version: '2:8.2.3995-1ubuntu2', source: 'deb_packages', vendor: '', arch: 'amd64' },
          { name: 'bash', version: '5.1.8-9.el9', source: 'rpm_packages', vendor: 'Rocky Enterprise Software Foundation', arch: 'x86_64' },
          { name: 'gpg-pubkey', version: '350d275d', source: 'rpm_packages', vendor: '', arch: '(none)' },
        ]);

        insert(linux, 'mounts', [
          { path: '/', device: '/dev/sda1', type: 'ext4', blocks_size: 4096, blocks: 25656302, blocks_available: 14680064 },
          { path: '/boot', device: '/dev/sda2', type: 'ext4', blocks_size: 4096, blocks: 1000, blocks_available: 500 },
        ]);
        const disk = linux.prepare(DETAIL_QUERIES.linux.disk_space ?? '').all() as Array<Record<string, unknown>>;
        assert.deepEqual(disk.map((r) => [r['total_bytes'], r['available_bytes']]), [[105088212992, 60129542144]]);
      } finally {
        linux.close();
        windows.close();
      }
    });

    void it('should send each query under the mimir_detail_ prefix with non-empty SQL', () => {
      for (const set of Object.values(DETAIL_QUERY_SETS)) {
        for (const [name, sql] of Object.entries(set)) {
          assert.match(name, /^mimir_detail_[a-z_]+$/);
          assert.ok(sql.trim().length > 0);
        }
      }
    });
  });

  void describe('ingest', () => {
    void it('should store an Ubuntu host: columns, vitals, software, users, schedule stats and the cache', async (t) => {
      const f = await fixture(t);
      const svc = service();
      const host = await f.addHost('linux', 'web-01');
      await f.store.transaction((tx) => svc.ingest(tx, host, UBUNTU, T0));

      const row = await f.store.hosts.findById(host.id);
      assert.ok(row);
      assert.equal(row.platform, 'linux');
      assert.equal(row.platform_like, 'debian');
      assert.equal(row.os_name, 'Ubuntu');
      assert.equal(row.os_version, '22.04.4 LTS (Jammy Jellyfish)');
      assert.equal(row.arch, 'amd64');
      assert.equal(row.osquery_version, '5.23.1');
      assert.equal(row.hostname, 'web-01');
      assert.equal(row.hardware_vendor, 'Dell Inc.');
      assert.equal(row.hardware_serial, 'JX4K2Q2');
      assert.equal(row.cpu_logical_cores, 8);
      assert.equal(row.physical_memory, 16777216000);
      assert.equal(row.uptime_seconds, 273906);
      assert.equal(row.primary_ip, '10.0.2.15');
      assert.equal(row.primary_mac, '08:00:27:aa:bb:cc');
      assert.equal(row.disk_total_bytes, 105088212992);
      assert.equal(row.disk_available_bytes, 60129542144);
      assert.equal(row.detail_updated_at, T0);
      assert.equal(row.refetch_requested, 0);
      assert.equal(row.updated_at, T0);

      const vitals = await f.store.hosts.listVitals(host.id);
      assert.deepEqual(vitals.map((v) => v.name).sort(), [
        'disk_space', 'interface_addresses', 'os_version', 'osquery_info', 'system_info', 'uptime',
      ]);
      const uptime = vitals.find((v) => v.name === 'uptime');
      assert.deepEqual(JSON.parse(uptime?.data ?? 'null'), [{ days: '3', hours: '4', minutes: '5', seconds: '6', total_seconds: '273906' }]);

      const software = await f.store.hosts.listSoftware(host.id);
      assert.deepEqual(software.map((s) => [s.name, s.version, s.source, s.arch]).sort(), [
        ['libc6', '2.35-0ubuntu3.7', 'deb_packages', 'amd64'],
        ['libc6', '2.35-0ubuntu3.7', 'deb_packages', 'i386'],
        ['openssl', '3.0.2-0ubuntu1.15', 'deb_packages', 'amd64'],
      ]);
      const users = await f.store.hosts.listUsers(host.id);
      assert.deepEqual(users.map((u) => [u.uid, u.username, u.shell, u.type]), [['0', 'root', '/bin/bash', ''], ['1000', 'ubuntu', '/bin/bash', '']]);

      const stats = await f.store.scheduleStats.list(host.id);
      assert.equal(stats.length, 2);
      assert.equal(stats[0]?.pack, 'incident-response');

      assert.equal(host.platform, 'linux');
      assert.equal(host.osqueryVersion, '5.23.1');
      assert.equal(host.hostname, 'web-01');
      assert.equal(host.detailUpdatedAt, T0);
      assert.equal(host.refetchRequested, false);
    });

    void it('should ask for the full platform set next when a host of unknown platform reports one', async (t) => {
      const f = await fixture(t);
      const svc = service();
      const host = await f.addHost('');
      assert.equal(host.platform, 'unknown');
      const portable = svc.dueQueries(host, T0);
      assert.equal(portable?.[`${VITALS_PREFIX}software`], undefined);
      const answers = UBUNTU.filter((r) => portable?.[r.id] !== undefined);
      await f.store.transaction((tx) => svc.ingest(tx, host, answers, T0 + 1_000));
      assert.equal(host.platform, 'linux');
      assert.equal(host.detailUpdatedAt, T0 + 1_000);
      assert.equal(host.refetchRequested, true);
      assert.equal((await f.store.hosts.findById(host.id))?.refetch_requested, 1);
      const full = svc.dueQueries(host, T0 + 10_000);
      assert.equal(full?.[`${VITALS_PREFIX}software`], DETAIL_QUERIES.linux.software);
      // The full set answers; nothing more is pending.
      await f.store.transaction((tx) => svc.ingest(tx, host, UBUNTU, T0 + 20_000));
      assert.equal(host.refetchRequested, false);
      assert.equal((await f.store.hosts.findById(host.id))?.refetch_requested, 0);
      assert.equal((await f.store.hosts.listSoftware(host.id)).length, 3);
    });

    void it('should replace the host schedule stats in host_schedule_stats on each ingest', async (t) => {
      const f = await fixture(t);
      const svc = service();
      const host = await f.addHost('linux');
      await f.store.transaction((tx) => svc.ingest(tx, host, UBUNTU, T0));
      await f.store.transaction((tx) => svc.ingest(tx, host, UBUNTU, T0 + 1_000));

      const rows = await f.store.scheduleStats.list(host.id);
      assert.deepEqual(rows.map((r) => ({ ...r })), [
        {
          host_id: host.id, name: 'pack/incident-response/crontab', pack: 'incident-response', query: 'crontab', executions: 12,
          last_executed: 1718020000_000, denylisted: 0, wall_time_ms: 35, user_time: 20, system_time: 10,
          average_memory: 1048576, output_size: 2048, updated_at: T0 + 1_000,
        },
        {
          // Legacy `_` delimiter: not split. Unparseable and out-of-range numbers become 0; no
          // wall_time_ms falls back to wall_time (seconds).
          host_id: host.id, name: 'pack_legacy_usb_devices', pack: '', query: 'pack_legacy_usb_devices', executions: 3,
          last_executed: 1718020100_000, denylisted: 1, wall_time_ms: 2000, user_time: 0, system_time: 0,
          average_memory: 0, output_size: 0, updated_at: T0 + 1_000,
        },
      ]);
      assert.equal((await f.store.hosts.listVitals(host.id)).some((v) => v.name === 'osquery_schedule'), false);
    });

    void it('should store a macOS host', async (t) => {
      const f = await fixture(t);
      const svc = service();
      const host = await f.addHost('darwin');
      await f.store.transaction((tx) => svc.ingest(tx, host, MACOS, T0));
      const row = await f.store.hosts.findById(host.id);
      assert.ok(row);
      assert.equal(row.platform, 'darwin');
      assert.equal(row.os_version, '14.5');
      assert.equal(row.os_build, '23F79');
      assert.equal(row.arch, 'arm64');
      assert.equal(row.osquery_version, '5.22.1');
      assert.equal(row.hostname, 'alice-mbp.local');
      assert.equal(row.computer_name, 'Alice’s MacBook Pro');
      assert.equal(row.physical_memory, 34359738368);
      assert.equal(row.uptime_seconds, 18001);
      assert.equal(row.primary_ip, '192.168.1.23');
      assert.equal(row.primary_mac, 'a4:83:e7:12:34:56');
      assert.equal(row.disk_total_bytes, 498252533760);
      assert.equal(row.disk_available_bytes, 245760000000);
      assert.equal(row.detail_updated_at, T0);
      const software = await f.store.hosts.listSoftware(host.id);
      assert.deepEqual(software.map((s) => [s.name, s.version, s.source]), [['Safari.app', '17.5', 'apps'], ['Xcode.app', '15.4', 'apps']]);
      assert.deepEqual((await f.store.hosts.listUsers(host.id)).map((u) => u.username), ['_www', 'alice']);
      assert.equal(host.platform, 'darwin');
      assert.equal(host.osqueryVersion, '5.22.1');
      assert.equal(host.refetchRequested, false);
    });

    void it('should store a Windows host', async (t) => {
      const f = await fixture(t);
      const svc = service();
      const host = await f.addHost('windows');
      host.refetchRequested = true;
      await f.store.hosts.update(host.id, { refetch_requested: 1 });
      assert.ok(svc.dueQueries(host, T0));
      await f.store.transaction((tx) => svc.ingest(tx, host, WINDOWS, T0 + 2_000));
      const row = await f.store.hosts.findById(host.id);
      assert.ok(row);
      assert.equal(row.platform, 'windows');
      assert.equal(row.os_name, 'Microsoft Windows 11 Pro');
      assert.equal(row.os_build, '22631');
      assert.equal(row.hostname, 'DESKTOP-7H2K9QF');
      assert.equal(row.physical_memory, 34282389504);
      assert.equal(row.uptime_seconds, 86400);
      assert.equal(row.primary_ip, '10.1.2.3');
      assert.equal(row.primary_mac, '04:d9:f5:aa:bb:cc');
      assert.equal(row.disk_total_bytes, 511101431808);
      assert.equal(row.disk_available_bytes, 200000000000);
      assert.equal(row.detail_updated_at, T0 + 2_000);
      assert.equal(row.refetch_requested, 0);
      const software = await f.store.hosts.listSoftware(host.id);
      assert.deepEqual(software.map((s) => [s.name, s.version, s.vendor]), [
        ['Microsoft Edge', '125.0.2535.92', 'Microsoft Corporation'],
        ['Mozilla Firefox (x64 en-US)', '126.0.1', 'Mozilla'],
      ]);
      const users = await f.store.hosts.listUsers(host.id);
      assert.deepEqual(users.map((u) => [u.uid, u.username, u.type]), [['500', 'Administrator', 'local'], ['18', 'SYSTEM', 'special']]);
      assert.equal(host.refetchRequested, false);
      assert.equal(host.detailUpdatedAt, T0 + 2_000);
      assert.equal(host.hostname, 'DESKTOP-7H2K9QF');
    });

    void it('should not advance detail_updated_at when os_version failed, but keep the other answers', async (t) => {
      const f = await fixture(t);
      const svc = service();
      const host = await f.addHost('linux');
      assert.ok(svc.dueQueries(host, T0));
      const partial = UBUNTU.map((r) => (r.id === `${VITALS_PREFIX}os_version` ? failed('os_version', 'distributed query is denylisted') : r));
      await f.store.transaction((tx) => svc.ingest(tx, host, partial, T0 + 1_000));
      const row = await f.store.hosts.findById(host.id);
      assert.ok(row);
      assert.equal(row.detail_updated_at, 0);
      assert.equal(row.os_name, '');
      assert.equal(row.osquery_version, '5.23.1');
      assert.equal(row.uptime_seconds, 273906);
      assert.equal((await f.store.hosts.listSoftware(host.id)).length, 3);
      assert.equal(host.detailUpdatedAt, 0);
      assert.equal(host.detailRequestedAt, T0, 'the hand-out is still outstanding');
      // Asked again once the resend window has passed.
      assert.equal(svc.dueQueries(host, T0 + 60_000), undefined);
      assert.ok(svc.dueQueries(host, T0 + 300_000));
    });

    void it('should keep stored software and users when those queries fail', async (t) => {
      const f = await fixture(t);
      const svc = service();
      const host = await f.addHost('linux');
      await f.store.transaction((tx) => svc.ingest(tx, host, UBUNTU, T0));
      const second = UBUNTU.map((r) => {
        if (r.id === `${VITALS_PREFIX}software`) return failed('software', 'database disk image is malformed');
        if (r.id === `${VITALS_PREFIX}users`) return failed('users');
        if (r.id === `${VITALS_PREFIX}disk_space`) return failed('disk_space');
        return r;
      });
      await f.store.transaction((tx) => svc.ingest(tx, host, second, T0 + HOUR));
      assert.equal((await f.store.hosts.listSoftware(host.id)).length, 3);
      assert.equal((await f.store.hosts.listUsers(host.id)).length, 2);
      const row = await f.store.hosts.findById(host.id);
      assert.ok(row);
      assert.equal(row.disk_total_bytes, 105088212992);
      assert.equal(row.detail_updated_at, T0 + HOUR);
    });

    void it('should leave the same rows when the same write arrives twice', async (t) => {
      const f = await fixture(t);
      const svc = service();
      const host = await f.addHost('windows');
      const snapshot = async () => ({
        host: await f.store.hosts.findById(host.id),
        software: await f.store.hosts.listSoftware(host.id),
        users: await f.store.hosts.listUsers(host.id),
        vitals: await f.store.hosts.listVitals(host.id),
      });
      await f.store.transaction((tx) => svc.ingest(tx, host, WINDOWS, T0));
      const first = await snapshot();
      await f.store.transaction((tx) => svc.ingest(tx, host, WINDOWS, T0));
      assert.deepEqual(await snapshot(), first);
      assert.equal(first.software.length, 2);
      assert.equal(first.users.length, 2);
    });

    void it('should ignore results without the prefix and writes with nothing usable', async (t) => {
      const f = await fixture(t);
      const svc = service();
      const host = await f.addHost('linux');
      await f.store.transaction((tx) =>
        svc.ingest(tx, host, [
          { id: 'live_42', rows: [{ hostname: 'evil' }], status: 0, message: '', stats: null },
          { id: 'os_version', rows: [{ name: 'Evil OS', platform: 'windows' }], status: 0, message: '', stats: null },
          failed('system_info'),
        ], T0),
      );
      const row = await f.store.hosts.findById(host.id);
      assert.ok(row);
      assert.equal(row.hostname, '');
      assert.equal(row.platform, 'linux');
      assert.equal(row.updated_at, T0);
      assert.deepEqual(await f.store.hosts.listVitals(host.id), []);
      assert.equal(host.detailUpdatedAt, 0);
    });

    void it('should leave numeric columns alone when values do not parse', async (t) => {
      const f = await fixture(t);
      const svc = service();
      const host = await f.addHost('linux');
      await f.store.transaction((tx) => svc.ingest(tx, host, UBUNTU, T0));
      await f.store.transaction((tx) =>
        svc.ingest(tx, host, [
          ok('uptime', [{ total_seconds: '' }]),
          ok('disk_space', [{ path: '/', total_bytes: '-1', available_bytes: 'n/a' }]),
          ok('interface_addresses', [{ interface: 'lo', address: '127.0.0.1', mac: '00:00:00:00:00:00', default_route_metric: '' }]),
        ], T0 + 1_000),
      );
      const row = await f.store.hosts.findById(host.id);
      assert.ok(row);
      assert.equal(row.uptime_seconds, 273906);
      assert.equal(row.disk_total_bytes, 105088212992);
      assert.equal(row.primary_ip, '10.0.2.15');
      assert.equal(row.detail_updated_at, T0);
    });
  });
});
