/**
 * Runs osqueryd as a child: starts it, keeps its stdout/stderr in the agent's log line by line,
 * restarts it with exponential backoff when it dies (a process that ran a minute counts as healthy
 * again, so one crash a day never waits long), and passes signals on. osqueryd exits when its
 * enrollment fails (osquery-protocol.md §9 item 22), so restarts are capped by the backoff, not
 * abandoned.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { AgentLogger } from './log.js';

export interface SupervisorOptions {
  /** Resolved at every start, so a switched `current` link takes effect on restart. */
  command: () => { file: string; args: string[] };
  log: AgentLogger;
  backoffMs: number;
  backoffMaxMs: number;
  /** Uptime after which the backoff resets. */
  stableMs?: number;
  /** Called before each start (e.g. to write the flagfile). */
  beforeStart?: () => Promise<void>;
  env?: NodeJS.ProcessEnv;
}

export interface ExitInfo {
  /** Which start this was (1, 2, …; compare with `starts`). */
  startNo: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  uptimeMs: number;
  at: number;
}

const STOP_GRACE_MS = 15_000;

export class OsquerydSupervisor {
  private child: ChildProcess | undefined;
  private startedAt = 0;
  private quickExits = 0;
  private wanted = false;
  private timer: NodeJS.Timeout | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** Every exit (expected or not), newest last; bounded. */
  readonly exits: ExitInfo[] = [];
  starts = 0;

  constructor(private readonly opts: SupervisorOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Start time of the running process (ms), 0 when not running. */
  get runningSince(): number {
    return this.child === undefined ? 0 : this.startedAt;
  }

  start(): void {
    this.wanted = true;
    if (this.child === undefined && this.timer === undefined) void this.launch();
  }

  private async launch(): Promise<void> {
    this.timer = undefined;
    if (!this.shouldLaunch()) return;
    try {
      await this.opts.beforeStart?.();
    } catch (e) {
      this.opts.log.error('cannot prepare osqueryd start', { err: e });
      this.scheduleRestart();
      return;
    }
    if (!this.shouldLaunch()) return;
    const { file, args } = this.opts.command();
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: this.opts.env ?? process.env });
    this.child = child;
    this.startedAt = Date.now();
    this.starts++;
    const startNo = this.starts;
    const log = this.opts.log;
    for (const [stream, s] of [['stdout', child.stdout], ['stderr', child.stderr]] as const) {
      createInterface({ input: s }).on('line', (line) => log.info('osqueryd', { stream, line }));
    }
    log.info('osqueryd started', { pid: child.pid, file });
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null, err?: Error) => {
        if (this.child !== child) return;
        this.child = undefined;
        const info: ExitInfo = { startNo, code, signal, uptimeMs: Date.now() - this.startedAt, at: Date.now() };
        this.exits.push(info);
        if (this.exits.length > 100) this.exits.shift();
        if (this.wanted) log.warn('osqueryd exited', { ...info, err });
        else log.info('osqueryd stopped', { code, signal });
        resolve();
        if (this.wanted) {
          if (info.uptimeMs >= (this.opts.stableMs ?? 60_000)) this.quickExits = 0;
          this.scheduleRestart();
        }
      };
      child.on('exit', (code, signal) => done(code, signal));
      child.on('error', (err) => done(null, null, err));
    });
  }

  private shouldLaunch(): boolean {
    return this.wanted && this.child === undefined;
  }

  private scheduleRestart(): void {
    const delay = Math.min(this.opts.backoffMaxMs, this.opts.backoffMs * 2 ** this.quickExits);
    this.quickExits = Math.min(this.quickExits + 1, 30);
    this.opts.log.info('osqueryd restart scheduled', { inMs: delay });
    this.timer = setTimeout(() => void this.launch(), delay);
  }

  /** Stop osqueryd: SIGTERM, then SIGKILL after a grace period. */
  async stop(): Promise<void> {
    this.wanted = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const child = this.child;
    if (child === undefined) return;
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(kill);
  }

  /** Stop and start again at once (a new build, a new flagfile); the backoff starts over. */
  async restart(): Promise<void> {
    await this.stop();
    this.quickExits = 0;
    this.start();
  }

  /** Pass a signal on (SIGHUP). */
  signal(sig: NodeJS.Signals): void {
    this.child?.kill(sig);
  }
}
