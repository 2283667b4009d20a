/**
 * In-process timers: batched last-seen writes, result retention, carve and queue expiry. Each job
 * runs on its own interval; a job never overlaps itself, and failures are logged, not thrown.
 *
 * With several instances on one PostgreSQL (issue #10), jobs that act on the shared database run
 * on the leader only (`scope: 'leader'`); flushing this instance's own last-seen buffer runs
 * everywhere. On SQLite the single instance is always the leader.
 */
import { retentionOverride } from '../services/settings/retention.js';
import type { Logger } from '../logger.js';
import type { CarveService } from '../services/carves/carve.service.js';
import type { HostCache } from '../services/host-cache.js';
import type { Store } from '../storage/store.js';

export interface Jobs {
  /** Job names and their intervals, as scheduled. */
  readonly schedule: ReadonlyArray<{ name: string; everyMs: number; scope: 'instance' | 'leader' }>;
  /**
   * Run one job now, exactly as its timer would (tests, shutdown paths); resolves when it is done.
   * A run already in progress is awaited rather than overlapped.
   */
  run(name: string): Promise<void>;
  stop(): Promise<void>;
}

interface JobSpec {
  name: string;
  everyMs: number;
  /** `instance`: this process's own state; `leader`: shared data, once per fleet. */
  scope: 'instance' | 'leader';
  run(): Promise<unknown>;
}

export function startJobs(deps: {
  store: Store;
  cache: HostCache;
  carves: CarveService;
  log: Logger;
  now: () => number;
  retentionSeconds: number;
  /** Default: always the leader (one instance). */
  isLeader?: () => boolean;
}): Jobs {
  const { store, cache, carves, log, now } = deps;
  const specs: JobSpec[] = [
    { name: 'flush-seen', everyMs: 5_000, scope: 'instance', run: () => cache.flushSeen() },
    { name: 'expire-carves', everyMs: 60_000, scope: 'leader', run: () => carves.expireStale(now()) },
    { name: 'expire-queue', everyMs: 60_000, scope: 'leader', run: () => store.transaction((tx) => tx.distributed.deleteExpired(now())) },
    // PostgreSQL: daily result/status log partitions created a week ahead (SQLite: nothing to do).
    { name: 'log-partitions', everyMs: 3_600_000, scope: 'leader', run: () => store.logs.ensurePartitions(now()) },
  ];
  const isLeader = deps.isLeader ?? (() => true);
  {
    specs.push({
      name: 'result-retention',
      everyMs: 10 * 60_000,
      scope: 'leader',
      run: async () => {
        // An admin's retention setting (Settings → retention) overrides MIMIR_RESULT_RETENTION.
        const override = await retentionOverride(store, 'resultRetentionDays');
        const seconds = override !== undefined ? override * 86_400 : deps.retentionSeconds;
        if (seconds <= 0) return 0; // 0 keeps results forever
        const before = now() - seconds * 1000;
        // PostgreSQL: whole days first (DROP TABLE of a partition); what is left (late lines, the
        // default partition, SQLite) goes row by row below.
        await store.logs.dropPartitionsBefore(before);
        let removed = 0;
        // Batches in their own short transactions: osquery check-ins keep writing in between.
        for (;;) {
          const n = await store.transaction((tx) => tx.logs.deleteReceivedBefore(before));
          removed += n;
          if (n === 0) return removed;
        }
      },
    });
  }
  const running = new Map<string, Promise<unknown>>();
  let stopped = false;
  const tick = (spec: JobSpec): Promise<unknown> => {
    const current = running.get(spec.name);
    if (current !== undefined) return current;
    const p = spec
      .run()
      .catch((err: unknown) => log.error({ err, job: spec.name }, 'job failed'))
      .finally(() => running.delete(spec.name));
    running.set(spec.name, p);
    return p;
  };
  const timers = specs.map((spec) =>
    setInterval(() => {
      if (spec.scope === 'instance' || isLeader()) void tick(spec);
    }, spec.everyMs).unref(),
  );
  return {
    schedule: specs.map(({ name, everyMs, scope }) => ({ name, everyMs, scope })),
    async run(name) {
      const spec = specs.find((s) => s.name === name);
      if (spec === undefined) throw new Error(`no job named ${name}`);
      if (stopped) throw new Error('jobs are stopped');
      await tick(spec);
    },
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await Promise.all(running.values());
    },
  };
}
