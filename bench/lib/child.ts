/**
 * Child processes of the benchmark: forked Node processes (TypeScript through tsx) with an IPC
 * channel for commands, optionally pinned to one CPU with taskset so the server under test and the
 * load generator do not take turns on the same core.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import type { ChildRequest, ChildResponse } from './protocol.js';

export const TS_EXEC_ARGV = ['--conditions=mimir-source', '--import', 'tsx'];

let tasksetChecked: boolean | undefined;

/** Pin every thread of `pid` to `cpu` (no-op when taskset is missing or there is one CPU). */
export function pinToCpu(pid: number, cpu: number): boolean {
  if (tasksetChecked === false) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    tasksetChecked = true;
    return true;
  } catch {
    tasksetChecked = false;
    return false;
  }
}

export interface ChildOptions {
  script: string;
  args?: string[];
  env?: Record<string, string>;
  execArgv?: string[];
  /** Pin to this CPU after start. */
  cpu?: number;
  /** Append the child's stdout and stderr here. */
  logFile?: string;
}

/**
 * This process's environment without the harness's own `MIMIR_TEST_*` / `MIMIR_BENCH_*` variables:
 * the server refuses unknown `MIMIR_*` settings (config.ts, typo guard), so passing e.g.
 * MIMIR_BENCH_PG_URL or a test runner's MIMIR_TEST_POSTGRES through would stop it from starting.
 */
function harnessFreeEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^MIMIR_(TEST|BENCH)_/.test(k)));
}

export class Child {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<(m: unknown) => void>();
  private readonly log: WriteStream | undefined;
  readonly exited: Promise<number | null>;
  pinned = false;

  private constructor(readonly proc: ChildProcess, logFile: string | undefined) {
    this.log = logFile === undefined ? undefined : createWriteStream(logFile, { flags: 'a' });
    if (this.log !== undefined) {
      proc.stdout?.pipe(this.log, { end: false });
      proc.stderr?.pipe(this.log, { end: false });
    } else {
      proc.stdout?.resume();
      proc.stderr?.resume();
    }
    proc.on('message', (m: unknown) => {
      const r = m as Partial<ChildResponse>;
      if (typeof r.id === 'number' && this.pending.has(r.id)) {
        const p = this.pending.get(r.id);
        this.pending.delete(r.id);
        if (r.ok === true) p?.resolve((r as { result: unknown }).result);
        else p?.reject(new Error((r as { error?: string }).error ?? 'child error'));
        return;
      }
      for (const l of this.listeners) l(m);
    });
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code) => {
        for (const p of this.pending.values()) p.reject(new Error(`child exited (${code ?? 'signal'})`));
        this.pending.clear();
        resolve(code);
      });
    });
  }

  static start(o: ChildOptions): Child {
    const proc = fork(o.script, o.args ?? [], {
      execArgv: [...TS_EXEC_ARGV, ...(o.execArgv ?? [])],
      env: { ...harnessFreeEnv(), ...o.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const c = new Child(proc, o.logFile);
    if (o.cpu !== undefined && proc.pid !== undefined) c.pinned = pinToCpu(proc.pid, o.cpu);
    return c;
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** Send a command and wait for its answer (bounded by `timeoutMs`). */
  request<T>(cmd: ChildRequest['cmd'], args?: unknown, timeoutMs = 120_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`child ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      const req: ChildRequest = { id, cmd, args };
      this.proc.send(req);
    });
  }

  /** Send a message that has no answer. */
  post(m: unknown): void {
    if (this.proc.connected) this.proc.send(m as never);
  }

  onMessage(fn: (m: unknown) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The first message for which `match` returns a value, within `timeoutMs`. */
  waitFor<T>(match: (m: unknown) => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const off = this.onMessage((m) => {
        const v = match(m);
        if (v === undefined) return;
        clearTimeout(timer);
        off();
        resolve(v);
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        off();
        reject(new Error(`child exited (${code ?? 'signal'}) while waiting for ${what}`));
      });
    });
  }

  /** Ask nicely (a `stop` command or SIGTERM), then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000, viaCommand = true): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    if (viaCommand && this.proc.connected) {
      await this.request('stop', undefined, graceMs).catch(() => undefined);
    } else {
      this.proc.kill('SIGTERM');
    }
    const killer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(killer);
    this.log?.end();
  }
}

/** CPU time (user + system, ms) of a process from /proc, for processes without an IPC channel. */
export function procCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of /proc/<pid>/stat, in clock ticks (USER_HZ = 100 on Linux).
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100;
  } catch {
    return undefined;
  }
}
