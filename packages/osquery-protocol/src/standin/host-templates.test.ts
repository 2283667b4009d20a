import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEnrollRequest } from '../normalize.js';
import { platformFromMask } from '../platform.js';
import { HOST_TEMPLATES, hostDetailsOf, makeHostProfile } from './host-templates.js';
import { createDefaultQueryEngine, type QueryAnswer } from './query-engine.js';

describe('makeHostProfile', () => {
  it('is deterministic per (template, seed)', () => {
    assert.deepEqual(makeHostProfile('macos', 42), makeHostProfile('macos', 42));
    assert.deepEqual(makeHostProfile('rhel', 'abc'), makeHostProfile('rhel', 'abc'));
    assert.notEqual(makeHostProfile('macos', 42).uuid, makeHostProfile('macos', 43).uuid);
  });

  it('yields distinct identities for many seeds', () => {
    for (const template of HOST_TEMPLATES) {
      const seen = { uuid: new Set<string>(), instanceId: new Set<string>(), hostname: new Set<string>(), serial: new Set<string>(), ipv4: new Set<string>(), mac: new Set<string>() };
      const n = 2500;
      for (let i = 0; i < n; i++) {
        const p = makeHostProfile(template, i);
        for (const k of Object.keys(seen) as Array<keyof typeof seen>) seen[k].add(p[k]);
      }
      for (const [k, set] of Object.entries(seen)) assert.equal(set.size, n, `${template}.${k} not unique`);
    }
  });

  it('has sorted string tables, matching masks and identities', () => {
    const masks = { ubuntu: '9', rhel: '9', macos: '21', windows: '2' } as const;
    for (const template of HOST_TEMPLATES) {
      const p = makeHostProfile(template, 1, { version: '5.12.1' });
      const details = hostDetailsOf(p.tables);
      assert.deepEqual(Object.keys(details), ['os_version', 'osquery_info', 'platform_info', 'system_info']);
      for (const row of Object.values(details)) {
        assert.deepEqual(Object.keys(row), Object.keys(row).sort());
        assert.ok(Object.values(row).every((v) => typeof v === 'string'));
      }
      assert.equal(p.tables.osquery_info['platform_mask'], masks[template]);
      assert.equal(String(p.platformMask), masks[template]);
      assert.equal(platformFromMask(p.platformMask), p.platform);
      assert.equal(p.tables.osquery_info['version'], '5.12.1');
      assert.equal(p.tables.osquery_info['uuid'], p.uuid);
      assert.equal(p.tables.osquery_info['instance_id'], p.instanceId);
      assert.equal(p.tables.osquery_info['config_hash'], '');
      assert.equal(p.tables.system_info['uuid'], p.uuid);
      assert.equal(p.tables.system_info['hostname'], p.hostname);
      assert.equal(p.tables.system_info['hardware_serial'], p.serial);
      assert.match(p.uuid, /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
      assert.equal(p.tables.os_version['pid_with_namespace'] !== undefined, p.platform === 'linux');
      const parsed = parseEnrollRequest({ enroll_secret: 's', host_identifier: p.uuid, platform_type: masks[template], host_details: details });
      assert.ok(parsed.ok);
    }
    assert.equal(makeHostProfile('macos', 1).tables.os_version['arch'], 'arm64');
    assert.equal(makeHostProfile('windows', 1).tables.system_info['emulated_cpu_type'], 'x86_64');
  });

  it('containers have no platform_info and no hardware identity', () => {
    const p = makeHostProfile('ubuntu', 9, { container: true });
    assert.equal(p.tables.platform_info, undefined);
    assert.deepEqual(Object.keys(hostDetailsOf(p.tables)), ['os_version', 'osquery_info', 'system_info']);
    assert.equal(p.tables.system_info['hardware_serial'], '');
    assert.match(p.hostname, /^[0-9a-f]{12}$/);
  });
});

describe('default query engine', () => {
  const linux = createDefaultQueryEngine(makeHostProfile('ubuntu', 5), { now: () => 0 });
  const mac = createDefaultQueryEngine(makeHostProfile('macos', 5), {
    config: () => ({ schedule: { s1: { query: 'SELECT 1', interval: 60 } }, packs: { p: { queries: { q: { query: 'SELECT 2', interval: 10 } } } } }),
  });
  const run = (e: typeof linux, sql: string): QueryAnswer => {
    const r = e(sql);
    assert.ok(!(r instanceof Promise));
    return r;
  };

  it('answers literals, projections, WHERE and LIMIT', () => {
    assert.deepEqual(run(linux, 'SELECT 1'), { status: 0, message: '', rows: [{ '1': '1' }] });
    assert.deepEqual(run(linux, "select 1 as one, 'x' AS s;").rows, [{ one: '1', s: 'x' }]);
    assert.deepEqual(run(linux, 'SELECT username FROM users WHERE uid = 0').rows, [{ username: 'root' }]);
    assert.deepEqual(run(linux, "SELECT count(*) AS n FROM users WHERE username LIKE 'd%'").rows, [{ n: '1' }]);
    assert.equal(run(linux, 'SELECT * FROM users LIMIT 2').rows.length, 2);
    assert.equal(run(linux, 'SELECT 1 FROM os_version WHERE platform = \'ubuntu\'').rows.length, 1);
    assert.equal(run(linux, 'SELECT 1 FROM os_version WHERE platform = \'darwin\'').rows.length, 0);
    assert.deepEqual(Object.keys(run(linux, 'SELECT * FROM uptime').rows[0] ?? {}), ['days', 'hours', 'minutes', 'seconds', 'total_seconds']);
    assert.equal(run(linux, 'SELECT * FROM memory_info').rows.length, 1);
    assert.equal(run(linux, 'SELECT * FROM interface_addresses').rows.length, 3);
    assert.ok(run(linux, "SELECT pid FROM processes WHERE name = 'osqueryd'").rows.length >= 1);
  });

  it('reports tables the platform lacks', () => {
    assert.deepEqual(run(linux, 'SELECT * FROM apps'), { status: 1, message: 'no such table: apps', rows: [] });
    assert.deepEqual(run(mac, 'SELECT * FROM memory_info'), { status: 1, message: 'no such table: memory_info', rows: [] });
    assert.deepEqual(run(mac, 'SELECT * FROM apps'), { status: 0, message: '', rows: [] });
    assert.equal(run(linux, 'DELETE FROM x').status, 1);
  });

  it('lists the configured schedule in osquery_schedule', () => {
    assert.deepEqual(run(mac, 'SELECT name, interval FROM osquery_schedule').rows, [
      { name: 's1', interval: '60' },
      { name: 'pack_p_q', interval: '10' },
    ]);
  });
});
