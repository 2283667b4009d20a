/**
 * `apply` and `export` against a real server: create from a file, dry-run shows the diff and
 * changes nothing, a second apply is a no-op, objects not in the file stay unless --prune (and then
 * only for the kinds the file lists), export → apply changes nothing, and bad files (YAML, unknown
 * keys, bad SQL, unknown groups) fail with file:line:col, a non-zero exit and no change.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { api, tempDir } from '../../server/test/helper.js';
import { json, setup, type CliEnv } from './cli-helper.js';

const MIMIR_YML = `apiVersion: mimir/v1
groups:
  - name: production
    description: customer-facing
    options:
      distributed_interval: 30
labels:
  - name: has-sshd
    type: dynamic
    query: SELECT 1 FROM processes WHERE name = 'sshd'
    platforms: [linux]
  - name: canary
    type: manual
queries:
  - name: listening_ports
    sql: SELECT pid, port, address FROM listening_ports
    description: open ports
    timeout: 120
packs:
  - name: baseline
    description: what every host runs
    enabled: true
    targets:
      - group: production
        shard: 50
    queries:
      - name: os
        sql: SELECT * FROM os_version
        interval: 3600
      - name: users
        sql: SELECT username, uid FROM users
        interval: 600
        snapshot: true
settings:
  osqueryOptions:
    distributed_interval: 20
  display:
    timeZone: Europe/Paris
`;

/** The server's configuration as export prints it (minus the comment lines with the time). */
async function exported(cli: CliEnv): Promise<string> {
  const r = await cli.run(['export']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n');
}

describe('mimir-cli apply / export', () => {
  it('should create from a file, show a dry-run diff without changing anything, and be idempotent', async (t) => {
    const { cli } = await setup(t);
    const dir = tempDir(t);
    const file = join(dir, 'mimir.yml');
    writeFileSync(file, MIMIR_YML);
    const before = await exported(cli);

    const dry = await cli.run(['apply', '-f', file, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^\+ group "production" \(create\)$/m);
    assert.match(dry.stdout, /^\+ pack "baseline" \(create\)$/m);
    assert.match(dry.stdout, /^~ settings "osqueryOptions"$/m);
    assert.match(dry.stderr, /Dry run: 5 to create, 2 to change, 0 to delete/);
    assert.equal(await exported(cli), before, 'a dry run changes nothing');

    const applied = await cli.run(['apply', '-f', file]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stderr, /Applied: 5 to create, 2 to change, 0 to delete/);
    const packs = json<Array<{ name: string; enabled: boolean; targets: Array<{ groupName: string; shard: number }> }>>(await cli.run(['packs', 'list', '--json']));
    const baseline = packs.find((p) => p.name === 'baseline');
    assert.deepEqual(baseline?.targets.map((x) => [x.groupName, x.shard]), [['production', 50]]);
    const groups = json<Array<{ name: string; options: Record<string, unknown> }>>(await cli.run(['groups', 'list', '--json']));
    assert.deepEqual(groups.find((g) => g.name === 'production')?.options, { distributed_interval: 30 });

    const again = await cli.run(['apply', '-f', file]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /Nothing to change \(\d+ unchanged\)/);

    // A field change shows as a diff, and only that field changes.
    writeFileSync(file, MIMIR_YML.replace('interval: 600', 'interval: 300').replace('timeout: 120', 'timeout: 180'));
    const diff = await cli.run(['apply', '-f', file, '--dry-run']);
    assert.match(diff.stdout, /~ query "listening_ports"\n {4}timeout: 120 → 180/);
    assert.match(diff.stdout, /~ pack "baseline"\n {4}queries\.users\.interval: 600 → 300/);
    assert.equal((await cli.run(['apply', '-f', file])).code, 0);
    const pack = json<{ queries: Array<{ name: string; interval: number; snapshot: boolean }> }>(await cli.run(['packs', 'get', 'baseline', '--json']));
    assert.deepEqual(pack.queries.map((q) => [q.name, q.interval, q.snapshot]).sort(), [['os', 3600, false], ['users', 300, true]]);
  });

  it('should leave objects not in the file alone, and delete them only with --prune for the kinds it lists', async (t) => {
    const { cli } = await setup(t);
    const dir = tempDir(t);
    const file = join(dir, 'mimir.yml');
    writeFileSync(file, MIMIR_YML);
    assert.equal((await cli.run(['apply', '-f', file])).code, 0);
    assert.equal((await cli.run(['queries', 'create', '--name', 'handmade', '--sql', 'SELECT * FROM uptime'])).code, 0);

    const small = join(dir, 'small.yml');
    writeFileSync(small, 'queries:\n  - name: listening_ports\n    sql: SELECT pid, port, address FROM listening_ports\n');
    const keep = await cli.run(['apply', '-f', small]);
    assert.equal(keep.code, 0, keep.stderr);
    assert.match(keep.stderr, /Nothing to change/);
    const names = () => cli.run(['queries', 'list', '--mine', '--json']).then((r) => json<Array<{ name: string }>>(r).map((q) => q.name).sort());
    assert.deepEqual(await names(), ['handmade', 'listening_ports']);

    const dry = await cli.run(['apply', '-f', small, '--prune', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^- query "handmade" \(delete\)$/m);
    assert.doesNotMatch(dry.stdout, /pack|label|group/, 'kinds the file does not list are never pruned');
    assert.deepEqual(await names(), ['handmade', 'listening_ports']);
    const pruned = await cli.run(['apply', '-f', small, '--prune']);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.deepEqual(await names(), ['listening_ports']);
    assert.equal(json<unknown[]>(await cli.run(['packs', 'list', '--json'])).filter((p) => (p as { name: string }).name === 'baseline').length, 1);

    // `packs: []` with --prune removes every pack the file does not name (prebuilt ones stay).
    writeFileSync(small, 'packs: []\n');
    assert.equal((await cli.run(['apply', '-f', small, '--prune'])).code, 0);
    assert.equal(json<Array<{ readOnly: boolean }>>(await cli.run(['packs', 'list', '--json'])).filter((p) => !p.readOnly).length, 0);
  });

  it('should set a prebuilt pack\'s deployment only, marked prebuilt: true', async (t) => {
    const { admin, cli } = await setup(t);
    await api(admin, 'POST', '/api/v1/packs/prebuilt/load', undefined, 200);
    const dir = tempDir(t);
    const file = join(dir, 'mimir.yml');
    const before = json<Array<{ name: string; enabled: boolean; readOnly: boolean; queryCount: number }>>(await cli.run(['packs', 'list', '--json'])).find((p) => p.name === 'mimir-inventory');
    assert.ok(before?.readOnly === true);
    writeFileSync(file, `packs:\n  - name: mimir-inventory\n    prebuilt: true\n    enabled: ${String(!before.enabled)}\n    global: true\n    globalShard: 25\n`);
    const r = await cli.run(['apply', '-f', file]);
    assert.equal(r.code, 0, r.stderr);
    const after = json<{ enabled: boolean; global: boolean; globalShard: number; queries: unknown[] }>(await cli.run(['packs', 'get', 'mimir-inventory', '--json']));
    assert.deepEqual([after.enabled, after.global, after.globalShard, after.queries.length], [!before.enabled, true, 25, before.queryCount]);
    assert.match((await cli.run(['apply', '-f', file])).stderr, /Nothing to change/);
  });

  it('should round-trip: export then apply of the export changes nothing', async (t) => {
    const { admin, cli } = await setup(t);
    await api(admin, 'POST', '/api/v1/packs/prebuilt/load', undefined, 200);
    const dir = tempDir(t);
    const file = join(dir, 'mimir.yml');
    writeFileSync(file, MIMIR_YML);
    assert.equal((await cli.run(['apply', '-f', file])).code, 0);
    assert.equal((await cli.run(['packs', 'import', '-', '--name', 'imported'], { input: JSON.stringify({ queries: { uptime: { query: 'SELECT * FROM uptime', interval: 60, removed: false } } }) })).code, 0);
    const out = join(dir, 'export.yml');
    const exp = await cli.run(['export', '-f', out]);
    assert.equal(exp.code, 0, exp.stderr);
    assert.equal((await cli.run(['export', '-f', out])).code, 2, 'no silent overwrite');
    const before = await exported(cli);
    const dry = await cli.run(['apply', '-f', out, '--dry-run', '--prune']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, '', dry.stdout);
    assert.match(dry.stderr, /0 to create, 0 to change, 0 to delete/);
    const r = await cli.run(['apply', '-f', out, '--prune']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Nothing to change/);
    assert.equal(await exported(cli), before);
  });

  it('should refuse bad files with file:line:col, exit non-zero, and change nothing', async (t) => {
    const { admin, cli } = await setup(t);
    await api(admin, 'POST', '/api/v1/packs/prebuilt/load', undefined, 200);
    const dir = tempDir(t);
    const file = join(dir, 'mimir.yml');
    const before = await exported(cli);
    const cases: Array<[string, number, RegExp[]]> = [
      ['queries: [ {name: a, sql: "SELECT 1"\n', 2, [/is not valid YAML/, /mimir\.yml:\d+:\d+: /]],
      ['queries:\n  - name: a\n    sql: SELECT 1\n    intervall: 60\n', 2, [/mimir\.yml:4:5: queries\[0\]\.intervall: unknown key "intervall"/, /nothing was changed/]],
      ['groupz: []\n', 2, [/mimir\.yml:1:1: groupz: unknown key "groupz"/]],
      ['packs:\n  - name: p\n    queries:\n      - name: q\n        sql: SELECT 1\n        interval: 0\n', 2, [/mimir\.yml:6:19: packs\[0\]\.queries\[0\]\.interval: must be >= 1/]],
      ['queries:\n  - name: a\n    sql: SELECT 1\n  - name: a\n    sql: SELECT 2\n', 2, [/queries\[1\]\.name: duplicate name "a"/]],
      ['labels:\n  - name: l\n    type: dynamic\n', 2, [/dynamic label "l" needs a query/]],
      ['packs:\n  - name: p\n    targets: [{group: nowhere}]\n', 5, [/targets group "nowhere", which is neither on the server nor in the file/]],
      ['queries:\n  - name: good\n    sql: SELECT 1\n  - name: bad\n    sql: SELECT * FROM no_such_table\n', 5, [/queries: "bad": .*no_such_table/, /nothing was changed/]],
      ['settings:\n  display:\n    timeZone: Mars/Olympus\n', 5, [/not an IANA time zone/]],
      ['settings:\n  osqueryOptions:\n    no_such_flag: 1\n', 5, [/settings\.osqueryOptions\.no_such_flag: not an option Mimir lets you set globally/]],
      ['packs:\n  - name: mimir-inventory\n    prebuilt: true\n    queries: []\n', 2, [/"queries" cannot be set on a prebuilt pack/]],
      ['packs:\n  - name: mimir-inventory\n    enabled: false\n', 5, [/"mimir-inventory" is a prebuilt pack: mark it "prebuilt: true"/]],
      ['queries:\n  - name: ok\n    sql: SELECT 1\nlabels:\n  - name: macOS\n    type: dynamic\n    query: SELECT 1\n', 5, [/labels: "macOS" is a built-in label/]],
      ['- just\n- a list\n', 2, [/must be object/]],
    ];
    for (const [text, code, patterns] of cases) {
      writeFileSync(file, text);
      const r = await cli.run(['apply', '-f', file]);
      assert.equal(r.code, code, `${text}\n${r.stderr}`);
      for (const p of patterns) assert.match(r.stderr, p, text);
    }
    const missing = await cli.run(['apply']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /-f\/--file is required/);
    const nofile = await cli.run(['apply', '-f', join(dir, 'nope.yml')]);
    assert.equal(nofile.code, 2);
    assert.equal(await exported(cli), before, 'nothing changed');
  });
});
