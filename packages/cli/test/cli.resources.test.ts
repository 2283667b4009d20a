/**
 * The everyday resource commands against a real server: saved queries, packs (importing one of
 * osquery's own .conf packs), labels, groups with enroll secrets and the flagfile, users, tokens and
 * the audit log; plus Ctrl-C during `query run` cancelling the live query.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AuditEntry, LiveQuery, LiveQuerySummary } from '@mimir/api-contract';
import { OsquerydStandin, makeHostProfile } from '@mimir/osquery-protocol/standin';
import { api, tempDir } from '../../server/test/helper.js';
import { json, setup, until } from './cli-helper.js';

/** osquery's own example packs, shipped with the server. */
const PACKS = fileURLToPath(new URL('../../server/assets/osquery-example-packs/', import.meta.url));

describe('mimir-cli resources', () => {
  it('should create, show, list and delete saved queries, and import osquery .conf packs', async (t) => {
    const { cli } = await setup(t);
    const created = await cli.run(['queries', 'create', '--name', 'ports', '--sql', 'SELECT pid, port FROM listening_ports', '--timeout', '120', '--json']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(json<{ name: string; timeout: number }>(created).timeout, 120);
    assert.match(created.stderr, /Saved query ports created/);
    const dup = await cli.run(['queries', 'create', '--name', 'ports', '--sql', 'SELECT 1']);
    assert.equal(dup.code, 5, 'a second query with the same name is a conflict');
    const badSql = await cli.run(['queries', 'create', '--name', 'bad', '--sql', 'SELECT * FROM no_such_table']);
    assert.equal(badSql.code, 5);
    const got = await cli.run(['queries', 'get', 'ports']);
    assert.match(got.stdout, /sql\s+SELECT pid, port FROM listening_ports/);
    const mine = json<Array<{ name: string }>>(await cli.run(['queries', 'list', '--mine', '--json']));
    assert.deepEqual(mine.map((q) => q.name), ['ports']);
    assert.equal((await cli.run(['queries', 'delete', 'ports', '--yes'])).code, 0);
    assert.equal((await cli.run(['queries', 'get', 'ports'])).code, 4);

    const conf = join(PACKS, 'incident-response.conf');
    const imported = await cli.run(['packs', 'import', conf, '--inactive', '--json']);
    assert.equal(imported.code, 0, imported.stderr);
    const pack = json<{ pack: { name: string; enabled: boolean; queries: unknown[] } }>(imported).pack;
    assert.equal(pack.name, 'incident-response');
    assert.equal(pack.enabled, false);
    const queryCount = Object.keys((JSON.parse(readFileSync(conf, 'utf8')) as { queries: Record<string, unknown> }).queries).length;
    assert.equal(pack.queries.length, queryCount);
    assert.equal((await cli.run(['packs', 'enable', 'incident-response'])).code, 0);
    const listed = json<Array<{ name: string; enabled: boolean }>>(await cli.run(['packs', 'list', '--json']));
    assert.equal(listed.find((p) => p.name === 'incident-response')?.enabled, true);
    const shown = await cli.run(['packs', 'get', 'incident-response']);
    assert.match(shown.stdout, /QUERY\s+INTERVAL/);
    const notConf = await cli.run(['packs', 'import', '-', '--name', 'x'], { input: 'not json at all' });
    assert.equal(notConf.code, 5);
    assert.equal((await cli.run(['packs', 'delete', 'incident-response', '--yes'])).code, 0);
  });

  it('should manage labels, groups, enroll secrets and write a working flagfile', async (t) => {
    const { srv, cli } = await setup(t);
    const os = new OsquerydStandin({ tlsHostname: srv.tlsHostname, ca: srv.ca, enrollSecret: srv.secret, profile: makeHostProfile('ubuntu', 5), sleep: () => Promise.resolve() });
    t.after(() => os.close());
    assert.equal((await os.enroll()).ok, true);
    const h = await srv.app.services.cache.authenticate(await os.getNodeKey());
    assert.ok(h);

    const dyn = await cli.run(['labels', 'create', '--name', 'has-sshd', '--query', "SELECT 1 FROM processes WHERE name = 'sshd'", '--platforms', 'linux']);
    assert.equal(dyn.code, 0, dyn.stderr);
    assert.equal((await cli.run(['labels', 'create', '--name', 'canary', '--hosts', h.hostname])).code, 0);
    const canary = json<{ type: string; hostCount: number }>(await cli.run(['labels', 'get', 'canary', '--json']));
    assert.deepEqual([canary.type, canary.hostCount], ['manual', 1]);
    assert.match((await cli.run(['labels', 'remove-hosts', 'canary', String(h.id)])).stderr, /1 host removed; the label has 0/);
    const wrong = await cli.run(['labels', 'create', '--name', 'x', '--type', 'manual', '--query', 'SELECT 1']);
    assert.equal(wrong.code, 2);

    const g = await cli.run(['groups', 'create', '--name', 'production', '--options', '{"distributed_interval": 30}']);
    assert.equal(g.code, 0, g.stderr);
    const badOpt = await cli.run(['groups', 'create', '--name', 'y', '--options', '{"distributed_interval": {"a": 1}}']);
    assert.equal(badOpt.code, 2);
    assert.match(badOpt.stderr, /must be a string, number or boolean/);
    assert.equal((await cli.run(['groups', 'move-hosts', 'production', h.hostname])).code, 0);
    const refused = await cli.run(['groups', 'delete', 'production', '--yes']);
    assert.equal(refused.code, 5, 'a group with hosts needs --move-hosts-to');
    const secrets = json<Array<{ id: number; active: boolean }>>(await cli.run(['groups', 'secrets', 'list', 'production', '--json']));
    assert.equal(secrets.filter((s) => s.active).length, 1);
    const rotated = await cli.run(['groups', 'secrets', 'rotate', 'production', '--revoke-old', '--json']);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.equal(json<{ revoked: unknown[] }>(rotated).revoked.length, 1);

    const dir = tempDir(t);
    const ff = await cli.run(['flagfile', '--group', 'production', '--write-secret', join(dir, 'enroll_secret'), '--write-ca', join(dir, 'ca.pem')]);
    assert.equal(ff.code, 0, ff.stderr);
    assert.match(ff.stdout, /--tls_hostname=/);
    assert.match(ff.stdout, /--enroll_secret_path=/);
    assert.equal(statSync(join(dir, 'enroll_secret')).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, 'ca.pem'), 'utf8'), srv.ca);
    // The written secret really enrolls a host into the group.
    const secret = readFileSync(join(dir, 'enroll_secret'), 'utf8').trim();
    const os2 = new OsquerydStandin({ tlsHostname: srv.tlsHostname, ca: srv.ca, enrollSecret: secret, profile: makeHostProfile('ubuntu', 6), sleep: () => Promise.resolve() });
    t.after(() => os2.close());
    assert.equal((await os2.enroll()).ok, true);
    const prod = json<Array<{ name: string; hostCount: number }>>(await cli.run(['groups', 'list', '--json'])).find((x) => x.name === 'production');
    assert.equal(prod?.hostCount, 2);
    assert.equal((await cli.run(['groups', 'delete', 'production', '--move-hosts-to', 'default', '--yes'])).code, 0);
  });

  it('should manage users and tokens, and search the audit log', async (t) => {
    const { cli } = await setup(t);
    const u = await cli.run(['users', 'create', '--email', 'ana@example.com', '--role', 'operator', '--password-stdin'], { input: 'a long enough password\n' });
    assert.equal(u.code, 0, u.stderr);
    const short = await cli.run(['users', 'create', '--email', 'bob@example.com', '--role', 'operator', '--password-stdin'], { input: 'short\n' });
    assert.notEqual(short.code, 0);
    assert.equal((await cli.run(['users', 'update', 'ana@example.com', '--role', 'readonly'])).code, 0);
    const users = json<Array<{ email: string; role: string }>>(await cli.run(['users', 'list', '--json']));
    assert.equal(users.find((x) => x.email === 'ana@example.com')?.role, 'readonly');
    const badRole = await cli.run(['users', 'update', 'ana@example.com', '--role', 'root']);
    assert.equal(badRole.code, 2);

    const tok = await cli.run(['tokens', 'create', '--name', 'ci', '--days', '30', '--role', 'readonly']);
    assert.equal(tok.code, 0, tok.stderr);
    const token = tok.stdout.trim();
    assert.match(token, /^mimir_/);
    const asCi = await cli.run(['whoami', '--json'], { env: { MIMIR_API_TOKEN: token } });
    assert.equal(json<{ user: { role: string } }>(asCi).user.role, 'readonly');
    const forbidden = await cli.run(['users', 'list'], { env: { MIMIR_API_TOKEN: token } });
    assert.equal(forbidden.code, 3, 'readonly may not list users');
    const id = json<Array<{ id: number; name: string }>>(await cli.run(['tokens', 'list', '--json'])).find((x) => x.name === 'ci')?.id;
    assert.ok(id !== undefined);
    assert.equal((await cli.run(['tokens', 'revoke', String(id)])).code, 0);
    assert.equal((await cli.run(['whoami'], { env: { MIMIR_API_TOKEN: token } })).code, 3);

    const audit = json<AuditEntry[]>(await cli.run(['audit', 'list', '--action', 'user.create', '--json']));
    assert.equal(audit.length, 1);
    const csv = await cli.run(['audit', 'list', '--limit', '0', '--csv']);
    assert.match(csv.stdout, /^ID,AT,ACTOR,ACTION,TARGET,IP,DETAILS\r\n/);
    assert.equal((await cli.run(['audit', 'list', '--since', 'last tuesday'])).code, 2);
    assert.equal((await cli.run(['users', 'delete', 'ana@example.com', '--yes'])).code, 0);
  });

  it('should cancel the live query on Ctrl-C and exit 130', async (t) => {
    const { srv, admin, cli } = await setup(t);
    const os = new OsquerydStandin({ tlsHostname: srv.tlsHostname, ca: srv.ca, enrollSecret: srv.secret, profile: makeHostProfile('ubuntu', 7), sleep: () => Promise.resolve() });
    t.after(() => os.close());
    assert.equal((await os.enroll()).ok, true);
    const run = cli.start(['query', 'run', 'SELECT * FROM os_version', '--all']);
    let id = 0;
    await until('the live query', async () => {
      const items = (await api<{ items: LiveQuerySummary[] }>(admin, 'GET', '/api/v1/live-queries', undefined, 200)).items;
      id = items[0]?.id ?? 0;
      return id > 0 && run.stderr().includes('targeted');
    });
    run.signal('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, new RegExp(`Live query ${id} cancelled`));
    const lq = await api<LiveQuery>(admin, 'GET', `/api/v1/live-queries/${id}`, undefined, 200);
    assert.equal(lq.status, 'cancelled');
    assert.equal(lq.counts.cancelled, 1);
    const history = json<Array<{ id: number; status: string }>>(await cli.run(['query', 'list', '--json']));
    assert.deepEqual(history.map((q) => [q.id, q.status]), [[id, 'cancelled']]);

    // `query cancel` from another terminal: the run that follows it ends with the cancelled host as a failure.
    const run2 = cli.start(['query', 'run', 'SELECT * FROM os_version', '--all']);
    let id2 = 0;
    await until('the second live query', async () => {
      id2 = (await api<{ items: LiveQuerySummary[] }>(admin, 'GET', '/api/v1/live-queries', undefined, 200)).items[0]?.id ?? 0;
      return id2 !== id && id2 > 0;
    });
    const cancel = await cli.run(['query', 'cancel', String(id2)]);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stderr, /1 pending host cancelled/);
    const r2 = await run2.done;
    assert.equal(r2.code, 6, r2.stderr);
    assert.match(r2.stderr, /0 successful, 0 failed, 0 expired, 1 cancelled/);
  });
});
