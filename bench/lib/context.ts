/** Shared plumbing of the benchmark: settings, the machine description, starting the server. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { Child } from './child.js';
import type { ServerReady, Usage } from './protocol.js';

export interface BenchSettings {
  tiny: boolean;
  /** Where the report goes. */
  outDir: string;
  /** Scratch space: data directories, logs, profiles. */
  workDir: string;
  /** Profile the server during the hot path, capacity and ingest scenarios. */
  profile: boolean;
  /** Upper bound of the capacity ramp. */
  maxHosts: number;
  /** Hosts for the memory scenario's second point. */
  memoryHosts: number;
  /** CPU for the server under test and for the load (taskset), when there are two or more. */
  serverCpu: number | undefined;
  loadCpu: number | undefined;
  /** One server for every scenario (tiny runs). */
  shared?: MimirServer;
  log: (message: string) => void;
}

export interface Machine {
  nproc: number;
  cpuModel: string;
  ramGiB: number;
  node: string;
  platform: string;
  /** 1-minute load average at start and end: other work on the machine skews every figure. */
  loadAvgStart: number;
  loadAvgEnd?: number;
  /** Whether server and load were pinned to separate CPUs. */
  pinned: boolean;
  /** Niceness the benchmark ran at (`--nice`); 0 = normal. */
  niceness: number;
}

export function describeMachine(pinned: boolean): Machine {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1] !== undefined) model = m[1].trim();
  } catch {
    // not Linux: os.cpus() is good enough
  }
  return {
    nproc: cpus().length,
    cpuModel: model,
    ramGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAvgStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    pinned,
    niceness: 0,
  };
}

export interface MimirServer {
  child: Child;
  ready: ServerReady;
  tlsHostname: string;
  dataDir: string;
  caFile: string;
  usage: () => Promise<Usage>;
  stop: () => Promise<void>;
}

/** Start a fresh Mimir server (production defaults, own data dir) in its own process. */
export async function startMimir(s: BenchSettings, name: string, env: Record<string, string> = {}): Promise<MimirServer> {
  const dataDir = join(s.workDir, name);
  mkdirSync(dataDir, { recursive: true });
  const child = Child.start({
    script: 'bench/server-process.ts',
    env: { MIMIR_DATA_DIR: dataDir, MIMIR_LOG_LEVEL: 'warn', ...env },
    execArgv: ['--expose-gc', '--max-old-space-size=8192'],
    ...(s.serverCpu !== undefined ? { cpu: s.serverCpu } : {}),
    logFile: join(s.workDir, `${name}.server.log`),
  });
  const ready = await child.waitFor((m) => ((m as Partial<ServerReady>).type === 'ready' ? (m as ServerReady) : undefined), 120_000, `${name} server start`);
  const caFile = join(dataDir, 'bench-ca.pem');
  writeFileSync(caFile, ready.ca);
  return {
    child,
    ready,
    tlsHostname: `127.0.0.1:${ready.port}`,
    dataDir,
    caFile,
    usage: () => child.request<Usage>('usage'),
    stop: () => child.stop(30_000),
  };
}

/**
 * The server a scenario runs against: its own fresh one, or (tiny runs, where start-up would
 * dominate) the one shared by every scenario. `release` stops only a server the scenario started.
 */
export async function acquireMimir(s: BenchSettings, name: string, env: Record<string, string> = {}): Promise<{ srv: MimirServer; release: () => Promise<void> }> {
  if (s.shared !== undefined) return { srv: s.shared, release: () => Promise.resolve() };
  const srv = await startMimir(s, name, env);
  return { srv, release: () => srv.stop() };
}

/** CPU use between two usage samples, percent of one core. */
export function cpuPercent(a: Usage, b: Usage): number {
  const cpuMs = (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1000;
  return (cpuMs / Math.max(1, b.at - a.at)) * 100;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Round for the report. */
export function r1(n: number): number {
  return Math.round(n * 10) / 10;
}

export function r2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Nearest-rank quantile `q` (0–1) of an ascending array; NaN when it is empty. */
export function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** A target's verdict: `null` when the figure could not be measured. */
export interface Verdict {
  target: string;
  measured: string;
  met: boolean | null;
  note?: string;
}
