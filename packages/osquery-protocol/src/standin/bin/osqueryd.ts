#!/usr/bin/env node
/**
 * A stand-in `osqueryd` executable for agent tests (issue #6): behaves towards the server like
 * osqueryd (reads its `--flagfile`, enrolls, polls config and distributed, sends logs, reports its
 * version in `osquery_info`), keeps its node key and instance id in `--database_path` across
 * restarts as osquery keeps them in RocksDB, answers `--version` like osqueryd, writes
 * `--pidfile`, and exits cleanly on SIGTERM/SIGINT.
 *
 * A "build" is this file bundled with its version baked in (esbuild `define`
 * MIMIR_STANDIN_VERSION); MIMIR_STANDIN_BROKEN=true makes a build that crashes at start, like a
 * bad osquery release. The machine's hardware UUID (osquery's `system_info.uuid`) comes from
 * MIMIR_STANDIN_HARDWARE_UUID (tests run several fake machines on one host), else DMI or
 * /etc/machine-id as on Linux.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFlagfile } from '../flagfile.js';
import { makeHostProfile, type HostProfile } from '../host-templates.js';
import { OsquerydStandin } from '../osqueryd.js';
import { DEFAULT_OSQUERY_VERSION } from '../version.js';

declare const MIMIR_STANDIN_VERSION: string | undefined;
declare const MIMIR_STANDIN_BROKEN: boolean | undefined;

const version = typeof MIMIR_STANDIN_VERSION === 'string' ? MIMIR_STANDIN_VERSION : (process.env['MIMIR_STANDIN_VERSION'] ?? DEFAULT_OSQUERY_VERSION);
const broken = typeof MIMIR_STANDIN_BROKEN === 'boolean' ? MIMIR_STANDIN_BROKEN : process.env['MIMIR_STANDIN_BROKEN'] === 'true';

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function machineUuid(): string {
  const fromEnv = process.env['MIMIR_STANDIN_HARDWARE_UUID'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv.toUpperCase();
  const dmi = read('/sys/class/dmi/id/product_uuid');
  if (dmi !== undefined && dmi !== '') return dmi.toUpperCase();
  const mid = (read('/etc/machine-id') ?? randomUUID().replace(/-/g, '')).toUpperCase();
  return `${mid.slice(0, 8)}-${mid.slice(8, 12)}-${mid.slice(12, 16)}-${mid.slice(16, 20)}-${mid.slice(20, 32)}`;
}

interface Persisted {
  nodeKey: string;
  instanceId: string;
}

function argValue(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === `--${name}`) return args[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--version')) {
    process.stdout.write(`osqueryd version ${version}\n`);
    return 0;
  }
  if (broken) {
    // A bad release: dies during initialisation, before talking to anyone.
    say(`osqueryd ${version}: Fatal: cannot initialise (this build is broken on purpose)`);
    return 78;
  }
  const flagfile = argValue(args, 'flagfile');
  if (flagfile === undefined) {
    say('osqueryd (stand-in): --flagfile is required');
    return 1;
  }
  const loaded = loadFlagfile(flagfile);
  for (const w of loaded.warnings) say(`W flagfile: ${w}`);
  const db = loaded.flags.get('database_path') ?? '';
  const stateFile = db === '' ? undefined : join(db, 'standin.json');
  if (db !== '') mkdirSync(db, { recursive: true, mode: 0o700 });
  let saved: Persisted = { nodeKey: '', instanceId: randomUUID() };
  if (stateFile !== undefined) {
    try {
      saved = { ...saved, ...(JSON.parse(readFileSync(stateFile, 'utf8')) as Partial<Persisted>) };
    } catch { /* first start */ }
  }
  const save = (): void => {
    if (stateFile === undefined) return;
    writeFileSync(`${stateFile}.tmp`, JSON.stringify(saved), { mode: 0o600 });
    renameSync(`${stateFile}.tmp`, stateFile);
  };
  save();
  const pidfile = loaded.flags.get('pidfile');
  if (pidfile !== undefined && pidfile !== '') writeFileSync(pidfile, String(process.pid));

  // The fake machine: a deterministic profile seeded by the hardware UUID, with that UUID and the
  // persisted instance id in the tables osquery reports (system_info.uuid, osquery_info).
  const uuid = machineUuid();
  const base = makeHostProfile('ubuntu', uuid, { version });
  const profile: HostProfile = {
    ...base,
    uuid,
    instanceId: saved.instanceId,
    tables: {
      ...base.tables,
      system_info: { ...base.tables.system_info, uuid },
      osquery_info: { ...base.tables.osquery_info, uuid, instance_id: saved.instanceId, version },
    },
  };
  const standin = new OsquerydStandin({
    ...loaded.options,
    version,
    profile,
    ...(saved.nodeKey !== '' ? { nodeKey: saved.nodeKey } : {}),
    onLog: (severity, message) => say(`${['I', 'W', 'E'][severity] ?? 'I'} ${message}`),
  });
  say(`I osqueryd ${version} (stand-in) starting, host identifier ${standin.hostIdentifier}`);
  let stopping = false;
  const persistKey = (): void => {
    if (standin.nodeKey !== saved.nodeKey) {
      saved = { ...saved, nodeKey: standin.nodeKey };
      save();
    }
  };
  const keyTimer = setInterval(persistKey, 1000);
  const stopped = new Promise<number>((resolve) => {
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      say(`I osqueryd received ${sig}, shutting down`);
      clearInterval(keyTimer);
      void standin.close().then(() => {
        persistKey();
        resolve(0);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => say('I osqueryd received SIGHUP'));
  });
  try {
    await standin.start();
  } catch (e) {
    // osquery exits when the TLS logger cannot activate (no node key): osquery-protocol.md §9 item 22.
    say(`E ${e instanceof Error ? e.message : String(e)}`);
    clearInterval(keyTimer);
    standin.http.close();
    return 1;
  }
  persistKey();
  say(`I osqueryd ${version} enrolled and running`);
  return stopped;
}

main().then((code) => process.exit(code), (e: unknown) => {
  say(`E osqueryd crashed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
});
