/**
 * Test harness for mimir-cli: the BUILT CLI (packages/cli/dist, compiled here with `tsc -b` once
 * per test process, under a lock so parallel test files never read half-written output) runs as a
 * subprocess against a real Mimir server over HTTPS (packages/server/test/helper.ts), with a clean
 * environment and a private config directory.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { apiUser, startServer, tempDir, type ApiCaller, type TestServer } from '../../server/test/helper.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(ROOT, 'packages/cli/dist/bin/mimir-cli.js');
// Outside the tree, so a crashed run leaves nothing in the checkout (a lock older than 3 minutes is taken as stale).
const LOCK = join(tmpdir(), 'mimir-cli-build.lock');
let built = false;

/** Compile packages/cli (and api-contract) with `tsc -b`; incremental, so cheap when up to date. */
export function buildCli(): void {
  if (built) return;
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another test process is building: wait for it (a lock older than 3 minutes is stale).
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 180_000) rmdirSync(LOCK);
      } catch { /* gone already */ }
      if (Date.now() > deadline) throw new Error('timed out waiting for the mimir-cli build lock');
      spawnSync('sleep', ['0.5']);
    }
  }
  try {
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'packages/cli'], { cwd: ROOT, encoding: 'utf8', timeout: 170_000 });
    if (r.status !== 0) throw new Error(`tsc -b packages/cli failed:\n${r.stdout}${r.stderr}`);
  } finally {
    rmdirSync(LOCK);
  }
  built = true;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
}

/** A CLI run in progress: output so far, and its end. */
export interface Running {
  stdout(): string;
  stderr(): string;
  done: Promise<CliResult>;
  signal(sig: NodeJS.Signals): void;
}

export interface CliEnv {
  /** Environment of every run (MIMIR_SERVER, MIMIR_CA, …) on top of a clean base. */
  env: Record<string, string>;
  configDir: string;
  run(args: readonly string[], opts?: RunOptions): Promise<CliResult>;
  start(args: readonly string[], opts?: RunOptions): Running;
}

/** A clean environment: no MIMIR_* or NODE_OPTIONS from the outer shell (the runner's --conditions must not leak in). */
function baseEnv(home: string): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, XDG_CONFIG_HOME: join(home, '.config'), LANG: 'C.UTF-8' };
}

export function cliEnv(t: TestContext, env: Record<string, string> = {}): CliEnv {
  const home = tempDir(t, 'mimir-cli-home-');
  const base = { ...baseEnv(home), ...env };
  const start = (args: readonly string[], opts: RunOptions = {}): Running => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...base, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = { stdout: '', stderr: '' };
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out.stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out.stderr += c));
    const done = new Promise<CliResult>((resolve, reject) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout: out.stdout, stderr: out.stderr });
      });
    });
    child.stdin.end(opts.input ?? '');
    return { stdout: () => out.stdout, stderr: () => out.stderr, done, signal: (sig) => child.kill(sig) };
  };
  return { env: base, configDir: join(home, '.config', 'mimir'), start, run: (args, opts) => start(args, opts).done };
}

export interface CliSetup {
  srv: TestServer;
  admin: ApiCaller;
  caFile: string;
  cli: CliEnv;
}

/** A server, an admin with an API token, its CA in a file, and a CLI environment pointed at it. */
export async function setup(t: TestContext, overrides: Parameters<typeof startServer>[1] = {}): Promise<CliSetup> {
  buildCli();
  const srv = await startServer(t, overrides);
  const admin = await apiUser(srv, 'admin');
  const dir = tempDir(t, 'mimir-cli-ca-');
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, srv.ca);
  const cli = cliEnv(t, { MIMIR_SERVER: `https://127.0.0.1:${srv.port}`, MIMIR_CA: caFile, MIMIR_API_TOKEN: admin.token });
  return { srv, admin, caFile, cli };
}

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the test names the shape it expects
export function json<T>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

/** Wait (bounded) until `cond` holds. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
