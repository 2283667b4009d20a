/**
 * How much of the machine other people's processes used while the benchmark ran. Every figure in
 * the report assumes the server and the load each had a core; on a shared machine that is not
 * true, and the report says so. Samples /proc every second: total busy CPU minus the CPU of this
 * process and its descendants.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

function busyTicks(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …: busy = all but idle and iowait.
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return user + nice + system + irq + softirq + steal;
  } catch {
    return undefined;
  }
}

/**
 * Steal ticks (time the hypervisor ran something else while this VM wanted a CPU) and all ticks,
 * machine-wide, from /proc/stat; undefined where /proc is unavailable. A window's steal share
 * tells whether every process of the benchmark was paused at once, which no per-process measure
 * (CPU used, run-queue wait) shows.
 */
export function stealTicks(): { steal: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    return { steal: f[7] ?? 0, total: f.reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

/** Steal as a percent of all CPU time between two stealTicks() readings (null without /proc). */
export function stealPercent(a: ReturnType<typeof stealTicks>, b: ReturnType<typeof stealTicks>): number | null {
  if (a === undefined || b === undefined || b.total <= a.total) return null;
  return Math.round(((b.steal - a.steal) / (b.total - a.total)) * 1000) / 10;
}

/** utime+stime (ticks) of this process and its descendants, per pid. */
function ourTicks(): Map<number, number> {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(f[1]));
      ticks.set(Number(name), Number(f[11]) + Number(f[12]));
    } catch {
      // the process exited while we looked
    }
  }
  const mine = new Map<number, number>();
  for (const [pid, t] of ticks) {
    for (let p: number | undefined = pid, depth = 0; p !== undefined && p > 1 && depth < 64; p = parent.get(p), depth++) {
      if (p === process.pid) {
        mine.set(pid, t);
        break;
      }
    }
  }
  return mine;
}

export class MachineLoad {
  private timer: NodeJS.Timeout | undefined;
  private lastBusy: number | undefined;
  private lastOurs = new Map<number, number>();
  private lastAt = 0;
  private otherTicks = 0;
  private capacityTicks = 0;

  start(): void {
    this.lastBusy = busyTicks();
    if (this.lastBusy === undefined) return;
    this.lastOurs = ourTicks();
    this.lastAt = Date.now();
    this.timer = setInterval(() => this.sample(), 1_000);
    this.timer.unref();
  }

  private sample(): void {
    const busy = busyTicks();
    if (busy === undefined || this.lastBusy === undefined) return;
    const ours = ourTicks();
    let ourDelta = 0;
    // A pid new since the last sample started within it: all its ticks belong to this interval.
    for (const [pid, t] of ours) ourDelta += Math.max(0, t - (this.lastOurs.get(pid) ?? 0));
    const now = Date.now();
    const elapsedTicks = ((now - this.lastAt) / 1000) * 100 * cpus().length;
    this.otherTicks += Math.max(0, busy - this.lastBusy - ourDelta);
    this.capacityTicks += elapsedTicks;
    this.lastBusy = busy;
    this.lastOurs = ours;
    this.lastAt = now;
  }

  /** Percent of the machine's CPU others used since start (null where /proc is unavailable). */
  stop(): number | null {
    if (this.timer === undefined) return null;
    this.sample();
    clearInterval(this.timer);
    this.timer = undefined;
    return this.capacityTicks > 0 ? Math.round((this.otherTicks / this.capacityTicks) * 1000) / 10 : null;
  }
}
