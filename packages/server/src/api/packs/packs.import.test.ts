/**
 * Importing osquery `.conf` packs as they are (seed 004 "Upload queries from a .conf query pack")
 * with all ten of osquery's example packs (/work/shared/osquery/README.md: 17, 35, 32, 3, 60, 74,
 * 14, 18, 14, 39 queries; osx-attacks.conf continues lines with backslashes; alf_services and
 * opera_extensions no longer exist in the 5.23.1 schema), plus the example-pack endpoints.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { Pack, PackExampleList, PackSaved } from '@mimir/api-contract';
import { OsquerydStandin, makeHostProfile } from '@mimir/osquery-protocol/standin';
import type { SqlValidator } from '../../services/contracts.js';
import { EXAMPLES_DIR } from '../../services/packs/pack-assets.js';
import { api, apiUser, startServer, type ApiCaller, type TestServer } from '../../../test/helper.js';

const EXPECTED: Record<string, number> = {
  'hardware-monitoring.conf': 17,
  'incident-response.conf': 35,
  'it-compliance.conf': 32,
  'osquery-monitoring.conf': 3,
  'ossec-rootkit.conf': 60,
  'osx-attacks.conf': 74,
  'unwanted-chrome-extensions.conf': 14,
  'vuln-management.conf': 18,
  'windows-attacks.conf': 14,
  'windows-hardening.conf': 39,
};
const SHARED = '/work/shared/osquery/packs';
const GONE_TABLES = ['alf_services', 'opera_extensions'];

function confText(file: string): string {
  return readFileSync(join(EXAMPLES_DIR, file), 'utf8');
}

/** Queries of an upstream pack whose SQL reads `table` (found by name in the text osquery parses). */
function queriesReading(file: string, table: string): string[] {
  const pack = JSON.parse(confText(file).replaceAll('\\\n', '')) as { queries: Record<string, { query: string }> };
  return Object.entries(pack.queries).filter(([, q]) => new RegExp(`\\b${table}\\b`).test(q.query)).map(([n]) => n);
}

/** A stand-in for the schema validator another area publishes: it knows which tables are gone. */
function goneTablesValidator(): SqlValidator {
  return {
    validate(sql) {
      const tables = [...sql.matchAll(/\b(?:from|join)\s+([a-z_0-9]+)/gi)].map((m) => (m[1] ?? '').toLowerCase());
      const errors = tables.filter((t) => GONE_TABLES.includes(t)).map((t) => ({ severity: 'error' as const, message: `no such table: ${t}`, table: t }));
      return { errors, warnings: [], tables };
    },
  };
}

async function importAll(op: ApiCaller): Promise<Map<string, PackSaved>> {
  const out = new Map<string, PackSaved>();
  for (const file of Object.keys(EXPECTED)) {
    out.set(file, await api<PackSaved>(op, 'POST', '/api/v1/packs/import', { fileName: file, conf: confText(file) }, 201));
  }
  return out;
}

function assertGoneTableWarnings(imported: Map<string, PackSaved>): void {
  for (const [file, table] of [['incident-response.conf', 'alf_services'], ['it-compliance.conf', 'alf_services'], ['vuln-management.conf', 'opera_extensions']] as const) {
    const expected = queriesReading(file, table);
    assert.ok(expected.length > 0, `${file} reads ${table}`);
    const warnings = imported.get(file)?.warnings ?? [];
    for (const q of expected) {
      assert.ok(
        warnings.some((w) => w.query === q && (w.table === table || w.message.includes(table))),
        `${file}: a warning about ${table} for ${q}: ${JSON.stringify(warnings)}`,
      );
    }
  }
  // The other seven packs read no removed table.
  for (const [file, s] of imported) {
    if (['incident-response.conf', 'it-compliance.conf', 'vuln-management.conf'].includes(file)) continue;
    assert.ok(!s.warnings.some((w) => GONE_TABLES.some((g) => w.table === g || w.message.includes(g))), `${file}: ${JSON.stringify(s.warnings)}`);
  }
}

async function setup(t: TestContext): Promise<{ srv: TestServer; op: ApiCaller }> {
  const srv = await startServer(t);
  return { srv, op: await apiUser(srv, 'operator') };
}

void describe('importing osquery .conf packs', () => {
  void it('should ship byte-identical copies of osquery\'s ten example packs', (t) => {
    if (!existsSync(SHARED)) {
      t.skip('reference copy not present');
      return;
    }
    for (const file of Object.keys(EXPECTED)) assert.deepEqual(readFileSync(join(EXAMPLES_DIR, file)), readFileSync(join(SHARED, file)), file);
  });

  void it('should import all ten example packs as they are, with every query and field', async (t) => {
    const { srv, op } = await setup(t);
    const imported = await importAll(op);
    for (const [file, n] of Object.entries(EXPECTED)) {
      const pack: Pack | undefined = imported.get(file)?.pack;
      assert.ok(pack, file);
      assert.equal(pack.name, file.replace('.conf', ''));
      assert.equal(pack.queries.length, n, `${file}: ${n} queries`);
      assert.equal(pack.queryCount, n);
      const upstream = JSON.parse(confText(file).replaceAll('\\\n', '')) as { platform?: string; version?: string; queries: Record<string, Record<string, unknown>> };
      assert.equal(pack.platform, upstream.platform ?? '');
      assert.equal(pack.minOsqueryVersion, upstream.version ?? '');
      for (const [name, q] of Object.entries(upstream.queries)) {
        const got: Pack['queries'][number] | undefined = pack.queries.find((x) => x.name === name);
        assert.ok(got, `${file}: ${name}`);
        assert.equal(got.sql, q['query']);
        assert.equal(got.interval, Number(q['interval']), `${file}/${name}: interval strings become numbers`);
        assert.equal(got.platform, (q['platform'] as string | undefined) ?? '');
        assert.equal(got.minOsqueryVersion, (q['version'] as string | undefined) ?? '');
        assert.equal(got.description, q['description']);
        assert.equal(got.value, (q['value'] as string | undefined) ?? '');
        assert.equal(got.snapshot, q['snapshot'] === true || q['snapshot'] === 'true');
        assert.equal(got.removed, q['removed'] === undefined ? true : q['removed'] === true || q['removed'] === 'true');
        assert.equal(got.denylist, q['denylist'] === undefined ? true : q['denylist'] === true || q['denylist'] === 'true');
      }
    }
    // osx-attacks continues its long queries with backslashes: none is left in the SQL.
    const osx = imported.get('osx-attacks.conf')?.pack;
    assert.ok(osx?.queries.every((q) => !q.sql.includes('\\\n')));
    assert.ok((osx?.queries.filter((q) => q.sql.length > 500).length ?? 0) > 0, 'long continued queries were joined');
    // Names with "/" and trailing spaces survive.
    assert.ok(imported.get('ossec-rootkit.conf')?.pack.queries.some((q) => q.name === 'sadmind/iis_worm'));
    assert.ok(imported.get('unwanted-chrome-extensions.conf')?.pack.queries.some((q) => q.name === 'Nano Defender '));

    // Re-importing under a taken name is a conflict; nothing is added.
    const again = await op.call('POST', '/api/v1/packs/import', { fileName: 'osx-attacks.conf', conf: confText('osx-attacks.conf') });
    assert.equal(again.status, 409);
    assert.equal((await api<{ items: unknown[] }>(op, 'GET', '/api/v1/packs?limit=100', undefined, 200)).items.length, 10);
    if (srv.app.core.hub.sqlValidator !== undefined) {
      // The schema validator is present on this server: the removed tables are reported.
      assertGoneTableWarnings(imported);
    } else {
      assert.ok(imported.get('osquery-monitoring.conf')?.warnings.some((w) => w.message.includes('not checked')), 'says the SQL was not checked');
    }
  });

  void it('should report queries on tables osquery no longer has as warnings and still import them', async (t) => {
    const { srv, op } = await setup(t);
    srv.app.core.hub.sqlValidator = goneTablesValidator();
    const imported = await importAll(op);
    assertGoneTableWarnings(imported);
    assert.equal(imported.get('incident-response.conf')?.pack.queries.length, 35, 'queries with warnings are imported');
  });

  void it('should serve an imported pack to osquery with numbers as numbers once it is deployed', async (t) => {
    const { srv, op } = await setup(t);
    const saved = await api<PackSaved>(op, 'POST', '/api/v1/packs/import', { fileName: 'ossec-rootkit.conf', conf: confText('ossec-rootkit.conf') }, 201);
    await api(op, 'PATCH', `/api/v1/packs/${saved.pack.id}`, { global: true }, 200);
    const os = new OsquerydStandin({ tlsHostname: srv.tlsHostname, ca: srv.ca, enrollSecret: srv.secret, profile: makeHostProfile('rhel', 7), sleep: () => Promise.resolve() });
    t.after(() => os.close());
    const cfg = await os.config();
    assert.ok(cfg.ok);
    const pack = (cfg.body['packs'] as Record<string, { platform?: string; version?: string; queries: Record<string, { interval: unknown }> }>)['ossec-rootkit'];
    assert.ok(pack);
    assert.equal(pack.platform, 'linux');
    assert.equal(pack.version, '1.4.5');
    assert.equal(Object.keys(pack.queries).length, 60);
    assert.ok(Object.values(pack.queries).every((q) => typeof q.interval === 'number'), 'intervals are JSON numbers');
  });

  void it('should refuse a broken .conf or a missing name with 422 and store nothing', async (t) => {
    const { srv, op } = await setup(t);
    const broken = await op.call('POST', '/api/v1/packs/import', { name: 'x', conf: '{"queries": {"a": {"query": "SELECT 1;", "interval": "0"}}' });
    assert.equal(broken.status, 422);
    const outOfRange = await op.call('POST', '/api/v1/packs/import', { name: 'x', conf: '{"queries": {"a": {"query": "SELECT 1;", "interval": "0"}}}' });
    assert.equal(outOfRange.status, 422);
    assert.match(outOfRange.text, /interval/);
    const noName = await op.call('POST', '/api/v1/packs/import', { conf: '{"queries": {}}' });
    assert.equal(noName.status, 422);
    assert.match(noName.text, /\/name/);
    assert.equal(await srv.app.store.packs.findByName('x'), undefined);
  });

  void it('should list osquery\'s example packs with their license and import one by name', async (t) => {
    const { op } = await setup(t);
    const list = await api<PackExampleList>(op, 'GET', '/api/v1/packs/examples', undefined, 200);
    assert.deepEqual(list.items.map((i) => [i.fileName, i.queryCount]), Object.entries(EXPECTED));
    assert.ok(list.items.every((i) => i.license === 'Apache-2.0 OR GPL-2.0-only' && i.source.startsWith('https://github.com/osquery/osquery/')));
    assert.equal(list.items.find((i) => i.name === 'osx-attacks')?.platform, 'darwin');

    const imported = await api<PackSaved>(op, 'POST', '/api/v1/packs/examples/osquery-monitoring/import', undefined, 201);
    assert.equal(imported.pack.name, 'osquery-monitoring');
    assert.equal(imported.pack.queries.length, 3);
    const renamed = await api<PackSaved>(op, 'POST', '/api/v1/packs/examples/osquery-monitoring/import', { name: 'osq-mon-2', enabled: false }, 201);
    assert.equal(renamed.pack.enabled, false);
    await api(op, 'POST', '/api/v1/packs/examples/osquery-monitoring/import', {}, 409);
    await api(op, 'POST', '/api/v1/packs/examples/no-such-pack/import', {}, 404);
    await api(op, 'POST', '/api/v1/packs/examples/..%2Fpacks%2Fmimir-inventory/import', {}, 400);
    const got = await api<Pack>(op, 'GET', `/api/v1/packs/${imported.pack.id}`, undefined, 200);
    assert.deepEqual(got.queries.map((q) => q.name).sort(), ['events', 'osquery_info', 'schedule']);
  });

  void it('should let an imported pack be edited while a stored query reads a dropped table, but refuse new bad SQL', async (t) => {
    const { srv, op } = await setup(t);
    srv.app.core.hub.sqlValidator ??= goneTablesValidator();
    const saved = await api<PackSaved>(op, 'POST', '/api/v1/packs/import', { fileName: 'it-compliance.conf', conf: confText('it-compliance.conf') }, 201);
    const queries = saved.pack.queries.map(({ id: _id, ...q }) => (q.name === saved.pack.queries[0]?.name ? { ...q, interval: 7200 } : q));
    const edited = await api<PackSaved>(op, 'PATCH', `/api/v1/packs/${saved.pack.id}`, { queries }, 200);
    assert.equal(edited.pack.queries[0]?.interval, 7200);
    assert.ok(edited.warnings.some((w) => w.table === 'alf_services' || w.message.includes('alf_services')), 'the stored query still warns');
    const bad = await op.call('PATCH', `/api/v1/packs/${saved.pack.id}`, { queries: [...queries, { name: 'new_one', sql: 'SELECT * FROM alf_services;' }] });
    assert.equal(bad.status, 422, bad.text);
    assert.match(bad.text, /new_one/);
  });
});
