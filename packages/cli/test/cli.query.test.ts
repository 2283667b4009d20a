/**
 * `hosts …` and `query run` against a real server with osqueryd stand-ins: hosts list in every
 * format with filters, and a live query whose rows stream to stdout while hosts answer one by one,
 * with one host failing ("no such table: users", as osquery on Windows): exit 6, per-host status,
 * and exit 0 with --allow-failures.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { Host, LiveQuerySummary } from '@mimir/api-contract';
import { OsquerydStandin, createDefaultQueryEngine, makeHostProfile, type HostTemplate, type QueryEngine } from '@mimir/osquery-protocol/standin';
import { api, type ApiCaller, type TestServer } from '../../server/test/helper.js';
import { json, setup, until } from './cli-helper.js';

const USERS_SQL = 'SELECT username, uid FROM users';

interface StandinHost {
  os: OsquerydStandin;
  id: number;
  hostname: string;
}

async function host(t: TestContext, srv: TestServer, template: HostTemplate, seed: number, failUsers = false): Promise<StandinHost> {
  const profile = makeHostProfile(template, seed);
  const base = createDefaultQueryEngine(profile);
  const engine: QueryEngine = (sql) => (failUsers && sql === USERS_SQL ? { status: 1, message: 'no such table: users', rows: [] } : base(sql));
  const os = new OsquerydStandin({ tlsHostname: srv.tlsHostname, ca: srv.ca, enrollSecret: srv.secret, profile, sleep: () => Promise.resolve(), queryEngine: engine });
  t.after(() => os.close());
  assert.equal((await os.enroll()).ok, true);
  const h = await srv.app.services.cache.authenticate(await os.getNodeKey());
  assert.ok(h);
  return { os, id: h.id, hostname: h.hostname };
}

async function liveQueries(admin: ApiCaller): Promise<LiveQuerySummary[]> {
  return (await api<{ items: LiveQuerySummary[] }>(admin, 'GET', '/api/v1/live-queries', undefined, 200)).items;
}

/** One distributed cycle of a stand-in (it fetches the query and writes its answer). */
async function answer(h: StandinHost): Promise<void> {
  const r = await h.os.runDistributedOnce();
  assert.equal(r.read.ok, true);
}

describe('mimir-cli hosts', () => {
  it('should list hosts as a table, JSON and CSV with the API filters, and get one by name', async (t) => {
    const { srv, cli } = await setup(t);
    const a = await host(t, srv, 'ubuntu', 1);
    const w = await host(t, srv, 'windows', 2);

    const table = await cli.run(['hosts', 'list']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^ID\s+HOSTNAME\s+STATUS\s+PLATFORM/);
    assert.equal(lines.length, 3);

    const all = json<Host[]>(await cli.run(['hosts', 'list', '--json']));
    assert.deepEqual(all.map((h) => h.id).sort(), [a.id, w.id].sort());

    const csv = await cli.run(['hosts', 'list', '--platform', 'windows', '--csv']);
    assert.equal(csv.code, 0, csv.stderr);
    const rows = csv.stdout.trimEnd().split('\r\n');
    assert.equal(rows.length, 2);
    assert.ok(rows[1]?.startsWith(`${w.id},`));

    const got = json<{ id: number; platform: string }>(await cli.run(['hosts', 'get', a.hostname, '--json']));
    assert.deepEqual([got.id, got.platform], [a.id, 'linux']);

    const missing = await cli.run(['hosts', 'get', 'no-such-host']);
    assert.equal(missing.code, 4);
    assert.match(missing.stderr, /no host named "no-such-host"/);
    const badStatus = await cli.run(['hosts', 'list', '--status', 'sleeping']);
    assert.equal(badStatus.code, 2);
    assert.match(badStatus.stderr, /--status: must be one of online, offline, new/);

    const refetch = await cli.run(['hosts', 'refetch', String(a.id)]);
    assert.equal(refetch.code, 0, refetch.stderr);
    assert.match(refetch.stderr, /Refetch requested/);
    const noYes = await cli.run(['hosts', 'delete', String(w.id)]);
    assert.equal(noYes.code, 2, 'no prompt without a TTY');
    assert.match(noYes.stderr, /pass --yes to confirm/);
    assert.equal((await cli.run(['hosts', 'delete', String(w.id), '--yes'])).code, 0);
    assert.equal(json<Host[]>(await cli.run(['hosts', 'list', '--json'])).length, 1);
  });
});

describe('mimir-cli query run', () => {
  it('should stream rows as hosts answer, report the failed host, and exit 6 (0 with --allow-failures)', async (t) => {
    const { srv, admin, cli } = await setup(t);
    const a = await host(t, srv, 'ubuntu', 11);
    const w = await host(t, srv, 'windows', 12, true);
    const m = await host(t, srv, 'macos', 13);

    const run = cli.start(['query', 'run', USERS_SQL, '--all']);
    await until('the live query to exist', async () => (await liveQueries(admin)).length === 1);
    await answer(a);
    // Streaming: the first host's rows are on stdout before the others have answered.
    await until('rows of the first host on stdout', () => run.stdout().includes(a.hostname));
    assert.ok(!run.stdout().includes(m.hostname));
    await answer(w);
    await until('the failure on stderr', () => run.stderr().includes('failed: no such table: users'));
    await answer(m);
    const r = await run.done;
    assert.equal(r.code, 6, r.stderr);
    const out = r.stdout.trimEnd().split('\n');
    assert.match(out[0] ?? '', /^HOSTNAME\s+USERNAME\s+UID$/);
    assert.ok(out.some((l) => l.startsWith(m.hostname)));
    assert.ok(!out.some((l) => l.startsWith(w.hostname)), 'the failed host has no rows');
    assert.match(r.stderr, /Live query \d+: 3 hosts targeted/);
    assert.match(r.stderr, /responded \d\/3/);
    assert.match(r.stderr, new RegExp(`${w.hostname}\\s+failed\\s+0\\s+no such table: users`));
    assert.match(r.stderr, new RegExp(`${a.hostname}\\s+successful`));
    assert.match(r.stderr, /2 successful, 1 failed, 0 expired, 0 cancelled, 0 pending of 3/);
    assert.match(r.stderr, /1 of 3 host answers were not successful \(pass --allow-failures to exit 0\)/);

    const run2 = cli.start(['query', 'run', USERS_SQL, '--hosts', `${a.hostname},${w.id}`, '--allow-failures', '--json']);
    await until('the second live query', async () => (await liveQueries(admin)).length === 2);
    await answer(a);
    await answer(w);
    const r2 = await run2.done;
    assert.equal(r2.code, 0, r2.stderr);
    const lines = r2.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { hostId: number; hostname: string; osquery: Record<string, string> });
    assert.ok(lines.length > 0);
    assert.ok(lines.every((l) => l.hostId === a.id && typeof l.osquery['username'] === 'string'));

    const run3 = cli.start(['query', 'run', USERS_SQL, '--platform', 'darwin', '--csv']);
    await until('the third live query', async () => (await liveQueries(admin)).length === 3);
    await answer(m);
    const r3 = await run3.done;
    assert.equal(r3.code, 0, r3.stderr);
    assert.match(r3.stdout, /^hostname,username,uid\r\n/);
  });

  it('should run a saved query by name, and a pack with a query column per row', async (t) => {
    const { srv, admin, cli } = await setup(t);
    const a = await host(t, srv, 'ubuntu', 21);
    assert.equal((await cli.run(['queries', 'create', '--name', 'who', '--sql', USERS_SQL])).code, 0);
    const saved = cli.start(['query', 'run', '--saved', 'who', '--hosts', a.hostname, '--csv']);
    await until('the saved-query run', async () => (await liveQueries(admin)).length === 1);
    await answer(a);
    const r = await saved.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^hostname,username,uid\r\n/);

    const conf = JSON.stringify({ queries: { os: { query: 'SELECT name, version FROM os_version', interval: 3600 }, who: { query: USERS_SQL, interval: 3600 } } });
    assert.equal((await cli.run(['packs', 'import', '-', '--name', 'triage'], { input: conf })).code, 0);
    const pack = cli.start(['query', 'run', '--pack', 'triage', '--all', '--json']);
    await until('the pack run', async () => (await liveQueries(admin)).length === 2);
    await answer(a);
    const p = await pack.done;
    assert.equal(p.code, 0, p.stderr);
    const rows = p.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { query: string; osquery: Record<string, string> });
    assert.deepEqual([...new Set(rows.map((x) => x.query))].sort(), ['os', 'who']);
    assert.ok(rows.some((x) => x.query === 'os' && typeof x.osquery['version'] === 'string'));
    assert.match(p.stderr, /HOST\s+QUERY\s+STATUS/);
  });

  it('should refuse bad flags before creating anything', async (t) => {
    const { admin, cli } = await setup(t);
    const cases: Array<[string[], RegExp]> = [
      [['query', 'run', 'SELECT 1'], /choose targets: --all, --hosts, --labels, --groups or --platform/],
      [['query', 'run', 'SELECT 1', '--all', '--timeout', '30'], /--timeout: must be between 60 and 900/],
      [['query', 'run', 'SELECT 1', '--all', '--timeout', 'soon'], /--timeout: expected a whole number/],
      [['query', 'run', '--all'], /give the SQL to run, or --saved or --pack/],
      [['query', 'run', 'SELECT 1', '--saved', 'x', '--all'], /give only one of SQL, --saved/],
      [['query', 'run', 'SELECT 1', '--platform', 'beos'], /--platform: "beos" is not one of linux, darwin, windows, freebsd/],
      [['query', 'run', 'SELECT 1', '--hosts', 'a,,b'], /--hosts: empty item/],
      [['query', 'run', 'SELECT 1', '--all', '-o', 'xml'], /--output must be one of table, json, csv/],
    ];
    for (const [args, msg] of cases) {
      const r = await cli.run(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
    const unknownLabel = await cli.run(['query', 'run', 'SELECT 1', '--labels', 'nope']);
    assert.equal(unknownLabel.code, 4);
    assert.equal((await liveQueries(admin)).length, 0, 'nothing was created');
  });
});
