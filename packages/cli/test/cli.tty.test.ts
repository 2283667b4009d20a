/**
 * The terminal paths, under a real pseudo-terminal (util-linux `script`): interactive login
 * prompts for email and password without echoing the password, and tables are coloured on a
 * terminal but not with NO_COLOR. Skipped where `script` is not installed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { CLI, cliEnv, setup, until } from './cli-helper.js';

const HAVE_SCRIPT = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const PASSWORD = 'a password typed at a terminal';

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Run the CLI on a pseudo-terminal; `answers` are typed when their prompt appears. */
function onTty(args: readonly string[], env: Record<string, string>, answers: Array<[string, string]> = []): Promise<{ code: number | null; out: string }> {
  const command = [process.execPath, CLI, ...args].map(quote).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  const done = new Promise<{ code: number | null; out: string }>((resolve) => child.on('close', (code) => resolve({ code, out })));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  void (async () => {
    for (const [prompt, answer] of answers) {
      await until(`the prompt ${prompt}`, () => out.includes(prompt), 30_000).catch(() => undefined);
      child.stdin.write(`${answer}\r`);
    }
  })();
  return done.finally(() => clearTimeout(timer));
}

describe('mimir-cli on a terminal', { skip: !HAVE_SCRIPT && 'util-linux script is not installed' }, () => {
  it('should prompt for email and password, never echo the password, and sign in', async (t) => {
    const { srv, caFile } = await setup(t);
    await srv.app.core.auth.createUser({ email: 'tty@example.com', role: 'admin', password: PASSWORD }, Date.now());
    const cli = cliEnv(t);
    const r = await onTty(['login', '--server', `https://127.0.0.1:${srv.port}`, '--ca', caFile], cli.env, [['Email: ', 'tty@example.com'], ['Password: ', PASSWORD]]);
    assert.equal(r.code, 0, r.out);
    assert.ok(!r.out.includes(PASSWORD), `the password was echoed:\n${r.out}`);
    assert.match(r.out, /Signed in to .* as tty@example\.com \(admin\)/);
    const who = await cli.run(['whoami', '--json']);
    assert.equal(who.code, 0, who.stderr);
  });

  it('should colour tables on a terminal, and not with NO_COLOR', async (t) => {
    const { cli } = await setup(t);
    const coloured = await onTty(['groups', 'list'], cli.env);
    assert.equal(coloured.code, 0, coloured.out);
    assert.ok(coloured.out.includes('\u001b[1mID'), coloured.out);
    const plain = await onTty(['groups', 'list'], { ...cli.env, NO_COLOR: '1' });
    assert.equal(plain.code, 0, plain.out);
    assert.ok(!plain.out.includes('\u001b['), plain.out);
    assert.match(plain.out, /ID\s+NAME\s+HOSTS/);
  });
});
