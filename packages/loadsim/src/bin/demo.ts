#!/usr/bin/env node
/**
 * `npm run demo`: starts `mimir serve` with its embedded defaults (data directory `./data-demo`
 * unless MIMIR_DATA_DIR is set, bound to 127.0.0.1 unless MIMIR_HOST is set) and a few hundred
 * simulated hosts, so the console has something to show. Prints the URL and a sign-in, stops
 * cleanly on Ctrl-C / SIGTERM (or after --duration).
 *
 * The server runs as its own process (`mimir serve`), exactly as an operator would start it; this
 * package talks to it only over the osquery wire protocol, like real hosts do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultFleetOptions, Fleet } from '../fleet.js';
import { NodeKeyStore } from '../keystore.js';
import { parseServerTarget } from '../target.js';

const USAGE = `Usage: npm run demo -- [--hosts N] [--duration SEC]

Starts Mimir (data in ./data-demo, or MIMIR_DATA_DIR) on https://localhost:8080 (MIMIR_PORT) with
simulated osquery hosts (default 300). Ctrl-C stops both.
`;

const DEMO_EMAIL = 'admin@mimir.demo';
/** How long the server gets to start (first start generates TLS material and migrates the database). */
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 20_000;

interface ServerInfo {
  host: string;
  port: number;
  caPath: string;
  secret: string;
}

function here(): { root: string; source: boolean } {
  const file = fileURLToPath(import.meta.url);
  // src/bin/demo.ts (through tsx) or dist/bin/demo.js (built): the repository root is four directories above bin/.
  return { root: resolve(file, '../../../../..'), source: file.endsWith('.ts') };
}

/** The demo admin's password: generated once per data directory and kept there (owner-only). */
function demoPassword(dataDir: string): string {
  const file = join(dataDir, 'demo-admin-password');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const password = randomBytes(12).toString('base64url');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

function startServer(env: NodeJS.ProcessEnv): { child: ChildProcess; ready: Promise<ServerInfo> } {
  const { root, source } = here();
  const args = source
    ? ['--conditions=mimir-source', '--import', 'tsx', join(root, 'packages/server/src/bin/mimir.ts'), 'serve']
    : [join(root, 'packages/server/dist/bin/mimir.js'), 'serve'];
  const child = spawn(process.execPath, args, { cwd: process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ready = new Promise<ServerInfo>((resolveReady, reject) => {
    let banner = '';
    const timer = setTimeout(() => reject(new Error(`the server did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    child.stdout.on('data', (b: Buffer) => {
      banner += b.toString('utf8');
      const bound = /\(bound to (.+):(\d+)\)/.exec(banner);
      const ca = /CA certificate:\s+(\S+)/.exec(banner);
      const secret = /enroll secret:\s+(\S+)/.exec(banner);
      if (bound?.[1] === undefined || bound[2] === undefined || ca?.[1] === undefined || secret?.[1] === undefined) return;
      clearTimeout(timer);
      const listen = bound[1];
      // Connect over loopback whatever the server is bound to.
      const host = listen === '0.0.0.0' || listen === '::' || listen === '127.0.0.1' ? '127.0.0.1' : listen;
      resolveReady({ host, port: Number(bound[2]), caPath: ca[1], secret: secret[1] });
    });
    // Server logs (JSON) go to the demo's stderr untouched.
    child.stderr.pipe(process.stderr);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code ?? 'signal'}) before it was ready${banner === '' ? '' : `:\n${banner}`}`));
    });
  });
  return { child, ready };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function main(): Promise<number> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { hosts: { type: 'string' }, duration: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const hosts = Number(values.hosts ?? 300);
  const duration = Number(values.duration ?? 0);
  if (!Number.isInteger(hosts) || hosts < 0 || hosts > 20_000) {
    process.stderr.write('demo: --hosts must be a whole number from 0 to 20000\n');
    return 2;
  }
  if (!Number.isFinite(duration) || duration < 0) {
    process.stderr.write('demo: --duration must be seconds ≥ 0\n');
    return 2;
  }
  const dataDir = resolve(process.env['MIMIR_DATA_DIR'] ?? './data-demo');
  const email = process.env['MIMIR_ADMIN_EMAIL'] ?? DEMO_EMAIL;
  const password = process.env['MIMIR_ADMIN_PASSWORD'] ?? (process.env['MIMIR_ADMIN_PASSWORD_FILE'] === undefined ? demoPassword(dataDir) : undefined);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MIMIR_DATA_DIR: dataDir,
    // A demo is for this machine: listen on loopback unless told otherwise.
    MIMIR_HOST: process.env['MIMIR_HOST'] ?? '127.0.0.1',
    MIMIR_ADMIN_EMAIL: email,
    ...(password !== undefined ? { MIMIR_ADMIN_PASSWORD: password } : {}),
    MIMIR_LOG_LEVEL: process.env['MIMIR_LOG_LEVEL'] ?? 'warn',
    MIMIR_LOG_FORMAT: process.env['MIMIR_LOG_FORMAT'] ?? 'json',
  };
  process.stdout.write(`demo: starting Mimir (data in ${dataDir})…\n`);
  const server = startServer(env);
  // Shared with the signal handlers, which may run at any await below.
  const state: { stopping: boolean; fleet: Fleet | undefined; ticker: NodeJS.Timeout | undefined } = { stopping: false, fleet: undefined, ticker: undefined };
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((r) => {
    finish = r;
  });
  const stop = (why: string): void => {
    if (state.stopping) return;
    state.stopping = true;
    if (state.ticker !== undefined) clearInterval(state.ticker);
    process.stdout.write(`demo: stopping (${why})…\n`);
    void (async () => {
      await state.fleet?.stop();
      await stopServer(server.child);
      process.stdout.write('demo: stopped cleanly\n');
      finish(0);
    })();
  };
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++signals > 1) {
      server.child.kill('SIGKILL');
      process.exit(1);
    }
    stop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let info: ServerInfo;
  try {
    info = await server.ready;
  } catch (e) {
    if (state.stopping) return done; // Ctrl-C during start-up: the server was stopped on purpose
    process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`);
    await stopServer(server.child);
    return 1;
  }
  if (state.stopping) return done;
  const target = parseServerTarget(`${info.host}:${info.port}`);
  const keyLoad = NodeKeyStore.load(join(dataDir, 'loadsim-node-keys.json'), target.tlsHostname, 'demo');
  if (keyLoad.warning !== undefined) process.stdout.write(`demo: ${keyLoad.warning}\n`);
  const fleet = new Fleet({
    ...defaultFleetOptions(target, info.secret, keyLoad.store),
    ca: readFileSync(info.caPath, 'utf8'),
    hosts,
    seed: 'demo',
    enrollWindowMs: Math.min(30_000, hosts * 100),
  });
  state.fleet = fleet;
  fleet.start();
  const url = `https://localhost:${info.port}/`;
  process.stdout.write(
    [
      '',
      `Mimir demo is running: ${url}`,
      `  sign in as ${email}${password !== undefined ? ` / ${password}` : ''}   (the browser will warn about the local CA: ${info.caPath})`,
      `  ${hosts} simulated osquery hosts ${keyLoad.store.size > 0 ? `(${keyLoad.store.size} resuming with saved node keys)` : 'enrolling over the next seconds'}`,
      '  Ctrl-C stops the hosts and the server.',
      '',
    ].join('\n') + '\n',
  );
  state.ticker = setInterval(() => {
    const s = fleet.snapshot();
    process.stdout.write(`demo: ${s.hosts.started}/${s.hosts.target} hosts running, ${Math.round(s.rps)} req/s, ${s.errors} errors\n`);
  }, 10_000);
  server.child.once('exit', (code) => {
    if (!state.stopping) {
      process.stderr.write(`demo: the server exited (${code ?? 'signal'})\n`);
      stop('server exited');
    }
  });
  if (duration > 0) setTimeout(() => stop(`--duration ${duration} s reached`), duration * 1000).unref();
  return done;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`demo: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
