/**
 * Agent test harness: real builds (the stand-in osqueryd and the agent bundled into one file each,
 * with their version baked in, exactly like distributable builds), a real Mimir server
 * (packages/server/test/helper.ts), signing with a test Ed25519 key, publishing through the real
 * operator API (upload → register → approve → rollout), and the agent started the way its systemd
 * unit starts it. Every wait polls with a deadline.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { api, apiUser, rawRequest, startServer, tempDir, type ApiCaller, type TestServer } from '../../server/test/helper.js';
import { canonicalManifest, type UpdateKind } from '../src/manifest.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const STANDIN_ENTRY = join(REPO, 'packages/osquery-protocol/src/standin/bin/osqueryd.ts');
const AGENT_ENTRY = join(REPO, 'packages/agent/src/bin/mimir-agent.ts');
const V1 = '/api/v1';

/** Poll `fn` until it returns a value other than undefined/false, or fail after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await delay(200);
  }
}

async function bundle(entry: string, out: string, define: Record<string, string>): Promise<string> {
  await build({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', format: 'cjs', target: 'node20', define, conditions: ['mimir-source'], logLevel: 'error' });
  chmodSync(out, 0o755);
  return out;
}

/** An osqueryd build: the stand-in bundled with its version baked in; `broken` crashes at start. */
export function buildOsqueryd(dir: string, version: string, broken = false): Promise<string> {
  return bundle(STANDIN_ENTRY, join(dir, `osqueryd-${version}${broken ? '-broken' : ''}`), {
    MIMIR_STANDIN_VERSION: JSON.stringify(version),
    MIMIR_STANDIN_BROKEN: String(broken),
  });
}

/** A mimir-agent build that dies at start (answers --version only). */
export function buildBrokenAgent(dir: string, version: string): Promise<string> {
  return bundle(join(REPO, 'packages/agent/test/fixtures/broken-agent.ts'), join(dir, `mimir-agent-${version}-broken`), { MIMIR_AGENT_BUILD_VERSION: JSON.stringify(version) });
}

/** A mimir-agent build: the agent bundled into one file with its version baked in. */
export function buildAgent(dir: string, version: string): Promise<string> {
  return bundle(AGENT_ENTRY, join(dir, `mimir-agent-${version}`), { MIMIR_AGENT_BUILD_VERSION: JSON.stringify(version) });
}

export interface SigningKey {
  privateKey: KeyObject;
  /** Raw public key, 64 hex characters (a MIMIR_UPDATE_PUBLIC_KEYS / updatePublicKeys entry). */
  publicHex: string;
}

export function makeSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const x = publicKey.export({ format: 'jwk' }).x ?? '';
  return { privateKey, publicHex: Buffer.from(x, 'base64url').toString('hex') };
}

export function binaryUrl(kind: UpdateKind, version: string, os = 'linux', arch = 'amd64'): string {
  return kind === 'osquery' ? `${V1}/osquery/binary/${os}/${arch}/${version}/osqueryd` : `${V1}/osquery/agent-binary/${os}/${arch}/${version}/mimir-agent`;
}

/** The platform the agent reports (update vocabulary). */
export function hostPlatform(): { os: string; arch: string } {
  return { os: process.platform === 'win32' ? 'windows' : process.platform, arch: process.arch === 'x64' ? 'amd64' : process.arch };
}

export interface TestEnv {
  srv: TestServer;
  admin: ApiCaller;
  key: SigningKey;
  /** Trusted by the server but not pinned by agents (a key agents never received). */
  otherKey: SigningKey;
  builds: string;
}

/** A server trusting two signing keys, with short osquery intervals so versions show up quickly. */
export async function startEnv(t: TestContext): Promise<TestEnv> {
  const key = makeSigningKey();
  const otherKey = makeSigningKey();
  const srv = await startServer(t, {
    overrides: {
      updatePublicKeys: [key.publicHex, otherKey.publicHex],
      osquery: { distributedInterval: 1, configRefresh: 60, loggerPeriod: 2, detailInterval: 3600, onlineBuffer: 60 },
    },
  });
  const admin = await apiUser(srv, 'admin');
  return { srv, admin, key, otherKey, builds: tempDir(t, 'mimir-builds-') };
}

function multipart(fields: Record<string, string>, file: Buffer): { body: Buffer; type: string } {
  const boundary = `----mimir${randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bin"\r\nContent-Type: application/octet-stream\r\n\r\n`), file, Buffer.from(`\r\n--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

export interface PublishOptions {
  /** Rollout preset after approval (0 = approved but paused). */
  rollout: number;
  /** Signing key (default the pinned one). */
  key?: SigningKey;
  timestamp?: string;
}

/** Upload a build, sign its manifest, register, approve and roll it out through the operator API. */
export async function publish(env: TestEnv, kind: UpdateKind, version: string, file: string, o: PublishOptions): Promise<{ id: number; sha256: string }> {
  const { os, arch } = hostPlatform();
  const data = readFileSync(file);
  const { body, type } = multipart({ kind, os, arch, version }, data);
  const up = await rawRequest(env.srv, `${V1}/updates/binaries`, { body, headers: { authorization: `Bearer ${env.admin.token}`, 'content-type': type } });
  if (up.status !== 201 && up.status !== 200) throw new Error(`upload failed: ${up.status} ${up.text}`);
  const sha256 = (up.json as { binary: { sha256: string } }).binary.sha256;
  const url = binaryUrl(kind, version, os, arch);
  const timestamp = o.timestamp ?? `${new Date().toISOString().slice(0, 19)}Z`;
  const signature = sign(null, canonicalManifest({ kind, version, os, arch, url, sha256, timestamp }), (o.key ?? env.key).privateKey).toString('hex');
  const base = `${V1}/updates/${kind}/artifacts`;
  const reg = await api<{ artifact: { id: number } }>(env.admin, 'POST', base, { version, os, arch, url, sha256, signature, timestamp }, 201);
  const id = reg.artifact.id;
  await api(env.admin, 'POST', `${base}/${id}/approve`, undefined, 200);
  if (o.rollout > 0) await api(env.admin, 'PUT', `${base}/${id}/rollout`, { percent: o.rollout }, 200);
  return { id, sha256 };
}

export interface InstalledAgent {
  root: string;
  configFile: string;
  hardwareUuid: string;
  unitDir: string;
}

/** Short intervals for tests; everything else as installed for real. */
export const TEST_CONFIG = {
  pollSeconds: 1,
  pollJitterSeconds: 0,
  staggerSeconds: 0,
  healthTimeoutSeconds: 40,
  healthUptimeSeconds: 2,
  healthPollSeconds: 0.5,
  restartBackoffMs: 200,
  restartBackoffMaxMs: 2000,
  osquery: { distributedInterval: 1, configRefresh: 60, loggerPeriod: 2 },
};

function execFileText(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }));
  });
}

/** `mimir-agent install` run from the agent build, as an installer would. */
export async function installAgent(t: TestContext, env: TestEnv, o: { agent: string; osqueryd: string; extraArgs?: string[]; config?: Record<string, unknown> }): Promise<InstalledAgent> {
  const root = tempDir(t, 'mimir-agent-root-');
  const hardwareUuid = randomUUID().toUpperCase();
  const caFile = join(env.builds, `ca-${randomBytes(4).toString('hex')}.pem`);
  await import('node:fs/promises').then((fs) => fs.writeFile(caFile, env.srv.ca));
  const unitDir = join(root, 'systemd');
  const r = await execFileText(o.agent, [
    'install', '--root', root, '--server', `https://${env.srv.tlsHostname}`, '--enroll-secret', env.srv.secret, '--ca', caFile,
    '--update-key', env.key.publicHex, '--osqueryd', o.osqueryd, '--agent-binary', o.agent, '--unit-dir', unitDir,
    '--config-json', JSON.stringify({ ...TEST_CONFIG, hardwareUuid, ...o.config }), ...(o.extraArgs ?? []),
  ]);
  if (r.code !== 0) throw new Error(`install failed (${r.code}): ${r.stderr}`);
  return { root, configFile: join(root, 'etc', 'agent.json'), hardwareUuid, unitDir };
}

/** `mimir-agent status` of an installed agent, parsed. */
export async function agentStatus(a: InstalledAgent): Promise<Record<string, unknown>> {
  const r = await execFileText(join(a.root, 'agent', 'current', 'mimir-agent'), ['status', '--config', a.configFile]);
  if (r.code !== 0) throw new Error(`status failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

export interface RunningAgent {
  proc: ChildProcess;
  /** Parsed JSON log lines (stdout). */
  logs: Array<Record<string, unknown>>;
  stderr: string[];
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Start the agent as its systemd unit does: `<root>/agent/current/mimir-agent run --config …`. */
export function runAgent(t: TestContext, a: InstalledAgent): RunningAgent {
  // The stand-in osqueryd reads its fake machine's hardware UUID from here (the agent passes its environment on).
  const proc = spawn(join(a.root, 'agent', 'current', 'mimir-agent'), ['run', '--config', a.configFile], {
    env: { ...process.env, MIMIR_STANDIN_HARDWARE_UUID: a.hardwareUuid },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  let buf = '';
  proc.stdout.on('data', (c: Buffer) => {
    buf += c.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ raw: line });
      }
      if (process.env['AGENT_TEST_LOG'] === '1') process.stderr.write(`${line}\n`);
    }
  });
  proc.stderr.on('data', (c: Buffer) => {
    stderr.push(c.toString('utf8'));
    if (process.env['AGENT_TEST_LOG'] === '1') process.stderr.write(c);
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const stop = async (): Promise<number | null> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    const code = await exited;
    clearTimeout(killer);
    return code;
  };
  t.after(stop);
  return { proc, logs, stderr, exited, stop };
}

/** The pid osqueryd wrote to its `--pidfile`, if that process is alive. */
export function osquerydPid(root: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(root, 'state', 'osqueryd.pid'), 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}
