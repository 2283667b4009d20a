/**
 * `mimir-agent install`: lay out the versioned tree under the root (docs/agent.md "Layout"), copy
 * the pinned CA and the enroll secret, install the first osqueryd and agent builds, point the
 * `current` links at them, write the config and a systemd unit. Every bad option is reported at
 * once and nothing is written then. Installing again over an existing root keeps its state
 * (agent key, osquery database) and re-points `current`.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError, layout, parseConfig, type AgentConfig } from './config.js';
import { loadPublicKey } from './manifest.js';
import { installBuild, switchCurrent } from './tree.js';
import { AGENT_VERSION, BUNDLED } from './version.js';

/** Single-quote for sh. */
const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface InstallOptions {
  root: string;
  serverUrl: string;
  /** The secret itself, or … */
  enrollSecret?: string | undefined;
  /** … a file holding it. */
  enrollSecretFile?: string | undefined;
  caFile: string;
  updateKeys: string[];
  osquerydFile: string;
  /** Default: what `<osqueryd> --version` prints. */
  osqueryVersion?: string | undefined;
  /** Default: this agent (a bundled build), or a wrapper that runs this installation with Node. */
  agentFile?: string | undefined;
  osqueryAutoUpdate?: boolean | undefined;
  /** Directory for `mimir-agent.service` ("" = do not write a unit). */
  unitDir?: string | undefined;
  /** Further config keys (JSON object), e.g. intervals. */
  extraConfig?: Record<string, unknown> | undefined;
}

export interface InstallResult {
  config: AgentConfig;
  configFile: string;
  osqueryVersion: string;
  agentVersion: string;
  unitFile: string | undefined;
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    execFile(file, args, { timeout: 30_000 }, (err, stdout) => (err === null ? res(stdout) : rej(new Error(err.message))));
  });
}

/** `osqueryd --version` prints `osqueryd version 5.12.1`; `mimir-agent --version` prints `mimir-agent 0.1.0`. */
export async function versionOf(file: string): Promise<string> {
  const out = await run(file, ['--version']);
  const m = /(?:version\s+|mimir-agent\s+)(\S+)/.exec(out);
  if (m?.[1] === undefined) throw new Error(`${file} --version printed no version: ${JSON.stringify(out.slice(0, 200))}`);
  return m[1];
}

export function systemdUnit(root: string, configFile: string): string {
  return `[Unit]
Description=Mimir agent: supervises osqueryd and applies signed updates
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=${join(root, 'agent', 'current', 'mimir-agent')} run --config ${configFile}
Restart=always
RestartSec=5
# SIGTERM goes to the launcher only; it stops the worker, which stops osqueryd cleanly.
KillMode=mixed
TimeoutStopSec=30

[Install]
WantedBy=multi-user.target
`;
}

export async function install(o: InstallOptions): Promise<InstallResult> {
  const problems: string[] = [];
  const abs = (p: string) => resolve(p);
  if (!isAbsolute(o.root)) problems.push('--root: must be an absolute path');
  if ((o.enrollSecret ?? '') === '' && (o.enrollSecretFile ?? '') === '') problems.push('--enroll-secret or --enroll-secret-file is required');
  let secret = o.enrollSecret ?? '';
  if ((o.enrollSecretFile ?? '') !== '') secret = (await readFile(o.enrollSecretFile ?? '', 'utf8').catch(() => { problems.push(`--enroll-secret-file: cannot read ${o.enrollSecretFile ?? ''}`); return ''; })).trim();
  const ca = await readFile(o.caFile, 'utf8').catch(() => { problems.push(`--ca: cannot read ${o.caFile}`); return ''; });
  if (ca !== '' && !ca.includes('BEGIN CERTIFICATE')) problems.push('--ca: not a PEM certificate');
  if (o.updateKeys.length === 0) problems.push('--update-key: at least one Ed25519 public key is required');
  for (const k of o.updateKeys) {
    try {
      loadPublicKey(k);
    } catch (e) {
      problems.push(`--update-key ${k}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  let osqueryVersion = o.osqueryVersion ?? '';
  if (osqueryVersion === '') {
    osqueryVersion = await versionOf(o.osquerydFile).catch((e: unknown) => { problems.push(`--osqueryd: ${e instanceof Error ? e.message : String(e)}`); return ''; });
  }
  let agentVersion = AGENT_VERSION;
  if (o.agentFile !== undefined) agentVersion = await versionOf(o.agentFile).catch((e: unknown) => { problems.push(`--agent-binary: ${e instanceof Error ? e.message : String(e)}`); return ''; });

  const paths = layout(o.root);
  // Keys given as PEM files are copied next to the config so the tree is self-contained.
  const keys = o.updateKeys.map((k, i) => (/^[0-9a-fA-F]{64}$|^[A-Za-z0-9+/_-]{43}=?$/.test(k.trim()) ? k.trim() : join(paths.etc, `update-key-${i + 1}.pem`)));
  let config: AgentConfig | undefined;
  try {
    config = parseConfig({
      ...o.extraConfig,
      root: o.root,
      serverUrl: o.serverUrl,
      enrollSecretPath: join(paths.etc, 'enroll_secret'),
      caPath: join(paths.etc, 'ca.pem'),
      updatePublicKeys: keys,
      ...(o.osqueryAutoUpdate !== undefined ? { osqueryAutoUpdate: o.osqueryAutoUpdate } : {}),
    });
  } catch (e) {
    if (e instanceof ConfigError) problems.push(...e.problems);
    else throw e;
  }
  if (problems.length > 0 || config === undefined) throw new ConfigError(problems);

  await mkdir(paths.etc, { recursive: true, mode: 0o755 });
  await mkdir(paths.state, { recursive: true, mode: 0o700 });
  await writeFile(config.caPath, ca, { mode: 0o644 });
  await writeFile(config.enrollSecretPath, `${secret}\n`, { mode: 0o600 });
  await Promise.all(o.updateKeys.map(async (k, i) => {
    const dest = keys[i];
    if (dest !== undefined && dest !== k.trim()) await copyFile(abs(k), dest);
  }));
  await installBuild(paths.osqueryDir, osqueryVersion, o.osquerydFile, 'osqueryd');
  await switchCurrent(paths.osqueryDir, osqueryVersion);

  let agentFile = o.agentFile;
  let tmp: string | undefined;
  if (agentFile === undefined) {
    if (BUNDLED && process.argv[1] !== undefined) agentFile = process.argv[1];
    else {
      // Running from the npm package (several files): the installed "build" starts it with this Node.
      tmp = await mkdtemp(join(tmpdir(), 'mimir-agent-'));
      agentFile = join(tmp, 'mimir-agent');
      await writeFile(agentFile, `#!/bin/sh\nexec ${shq(process.execPath)} ${shq(abs(process.argv[1] ?? ''))} "$@"\n`, { mode: 0o755 });
    }
  }
  try {
    await installBuild(paths.agentDir, agentVersion, agentFile, 'mimir-agent');
  } finally {
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  }
  await switchCurrent(paths.agentDir, agentVersion);

  await writeFile(paths.configFile, `${JSON.stringify({ ...o.extraConfig, ...configFileView(config) }, null, 2)}\n`, { mode: 0o600 });
  let unitFile: string | undefined;
  if (o.unitDir !== '') {
    const dir = o.unitDir ?? '/etc/systemd/system';
    await mkdir(dir, { recursive: true });
    unitFile = join(dir, 'mimir-agent.service');
    await writeFile(unitFile, systemdUnit(o.root, paths.configFile), { mode: 0o644 });
  }
  return { config, configFile: paths.configFile, osqueryVersion, agentVersion, unitFile };
}

/** The config as written: the required keys plus the switches an operator looks for first. */
function configFileView(c: AgentConfig): Record<string, unknown> {
  return {
    root: c.root, serverUrl: c.serverUrl, enrollSecretPath: c.enrollSecretPath, caPath: c.caPath, updatePublicKeys: c.updatePublicKeys,
    osqueryAutoUpdate: c.osqueryAutoUpdate, agentAutoUpdate: c.agentAutoUpdate, pollSeconds: c.pollSeconds, pollJitterSeconds: c.pollJitterSeconds,
    staggerSeconds: c.staggerSeconds,
  };
}
