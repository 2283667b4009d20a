/**
 * mimir-cli sign-in against a real server: login (password from stdin, or an existing token) saves
 * a profile with mode 0600, whoami, logout revokes the token login made, profiles, and the failure
 * modes (no TTY, bad password, untrusted certificate, no server) with their exit codes.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { cliEnv, json, setup } from './cli-helper.js';

const PASSWORD = 'correct horse battery staple';

describe('mimir-cli login / whoami / logout', () => {
  it('should sign in with a password, keep only a token in a 0600 profile, and revoke it at logout', async (t) => {
    const { srv, caFile } = await setup(t);
    await srv.app.core.auth.createUser({ email: 'ana@example.com', role: 'operator', password: PASSWORD }, Date.now());
    const cli = cliEnv(t);
    const server = `https://127.0.0.1:${srv.port}`;

    const login = await cli.run(['login', '--server', server, '--ca', caFile, '--email', 'ana@example.com', '--password-stdin'], { input: `${PASSWORD}\n` });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stderr, /Signed in to https:\/\/127\.0\.0\.1:\d+ as ana@example\.com \(operator\)/);
    const file = join(cli.configDir, 'config.yml');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes(PASSWORD), 'the password is never stored');
    const cfg = parse(text) as { current: string; profiles: Partial<Record<string, { server: string; token: string; tokenId: number; ca: string }>> };
    assert.equal(cfg.current, 'default');
    const prof = cfg.profiles['default'];
    assert.ok(prof !== undefined);
    assert.equal(prof.server, server);
    assert.match(prof.token, /^mimir_/);
    assert.ok(prof.ca.includes('BEGIN CERTIFICATE'), 'the CA is pinned in the profile');

    const who = await cli.run(['whoami', '--json']);
    assert.equal(who.code, 0, who.stderr);
    assert.equal(json<{ user: { email: string; role: string } }>(who).user.role, 'operator');
    // The login session was closed: only the token remains.
    assert.equal((await srv.app.store.users.listTokens(undefined)).filter((x) => x.revoked_at === null && x.name.startsWith('mimir-cli')).length, 1);

    const out = await cli.run(['logout']);
    assert.equal(out.code, 0, out.stderr);
    const after = await cli.run(['whoami']);
    assert.equal(after.code, 3, 'not signed in');
    assert.match(after.stderr, /not signed in/);
    // The server no longer accepts the old token either.
    const revoked = await cli.run(['whoami'], { env: { MIMIR_API_TOKEN: prof.token } });
    assert.equal(revoked.code, 3);
    assert.match(revoked.stderr, /invalid or expired API token/);
  });

  it('should accept an existing API token and keep profiles for several servers', async (t) => {
    const a = await setup(t);
    const b = await setup(t);
    const cli = cliEnv(t);
    const one = await cli.run(['login', '--server', `https://127.0.0.1:${a.srv.port}`, '--ca', a.caFile, '--token', a.admin.token]);
    assert.equal(one.code, 0, one.stderr);
    const two = await cli.run(['login', '--profile', 'second', '--server', `127.0.0.1:${b.srv.port}`, '--ca', b.caFile], { env: { MIMIR_API_TOKEN: b.admin.token } });
    assert.equal(two.code, 0, two.stderr);
    const list = await cli.run(['profiles', 'list', '--json']);
    assert.deepEqual(json<Array<{ name: string; current: boolean }>>(list).map((p) => [p.name, p.current]), [['default', false], ['second', true]]);
    const whoA = json<{ user: { email: string } }>(await cli.run(['whoami', '--json', '--profile', 'default']));
    assert.equal(whoA.user.email, a.admin.email);
    const whoB = json<{ user: { email: string } }>(await cli.run(['whoami', '--json'], { env: { MIMIR_PROFILE: 'second' } }));
    assert.equal(whoB.user.email, b.admin.email);
    // A profile's token is never sent to another server named with --server.
    const cross = await cli.run(['whoami', '--server', `https://127.0.0.1:${b.srv.port}`, '--ca', b.caFile, '--profile', 'default']);
    assert.equal(cross.code, 3);
  });

  it('should refuse to prompt without a terminal, and report bad credentials, certificates and servers clearly', async (t) => {
    const { srv, caFile, admin } = await setup(t);
    const cli = cliEnv(t);
    const server = `https://127.0.0.1:${srv.port}`;
    const noTty = await cli.run(['login', '--server', server, '--ca', caFile]);
    assert.equal(noTty.code, 2);
    assert.match(noTty.stderr, /stdin is not a terminal, so mimir-cli will not prompt: pass --email and --password-stdin, or --token/);

    const bad = await cli.run(['login', '--server', server, '--ca', caFile, '--email', admin.email, '--password-stdin'], { input: 'wrong password here\n' });
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /mimir-cli: /);

    const untrusted = await cli.run(['whoami', '--server', server, '--token', admin.token]);
    assert.equal(untrusted.code, 7);
    assert.match(untrusted.stderr, /certificate is not trusted .*--ca/);

    const http = await cli.run(['whoami', '--server', `http://127.0.0.1:${srv.port}`, '--token', admin.token]);
    assert.equal(http.code, 2);
    assert.match(http.stderr, /only speaks HTTPS/);

    const nothing = await cli.run(['whoami']);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /no server: pass --server/);

    const closed = await cli.run(['whoami', '--server', 'https://127.0.0.1:1', '--token', admin.token, '--ca', caFile]);
    assert.equal(closed.code, 7);
    assert.match(closed.stderr, /connection refused/);

    const badCa = await cli.run(['whoami', '--server', server, '--token', admin.token, '--ca', '/nonexistent/ca.pem']);
    assert.equal(badCa.code, 2);
    assert.match(badCa.stderr, /--ca: cannot read/);
  });

  it('should read flags from MIMIR_* variables and refuse unclear booleans', async (t) => {
    const { cli } = await setup(t);
    const ok = await cli.run(['hosts', 'list'], { env: { MIMIR_JSON: 'true' } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), []);
    const off = await cli.run(['hosts', 'list'], { env: { MIMIR_JSON: '0' } });
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /^ID\s+HOSTNAME/);
    const bad = await cli.run(['hosts', 'list'], { env: { MIMIR_JSON: 'maybe' } });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /MIMIR_JSON="maybe": use 1\/true\/yes or 0\/false\/no/);
    const help = await cli.run(['hosts', 'list', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /\(env: MIMIR_STATUS\)/);
    assert.match(help.stdout, /Examples:/);
    const unknown = await cli.run(['hosts', 'list', '--no-such-flag']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option '--no-such-flag'/);
  });
});
