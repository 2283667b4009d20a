/**
 * In-process timers: batched last-seen writes, result retention, carve and queue expiry. Each job
 * runs on its own interval; a job never overlaps itself, and failures are logged, not thrown.
 */
import { retentionOverride } from '../services/settings/retention.js';
import type { Logger } from '../logger.js';
import type { CarveService } from '../services/carves/carve.service.js';
import type { HostCache } from '../services/host-cache.js';
import type { Store } from '../storage/store.js';

export interface Jobs {
  /** Job names and their intervals, as scheduled. */
  readonly schedule: ReadonlyArray<{ name: string; everyMs: number }>;
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
  run(): Promise<unknown>;
}

export function startJobs(deps: {
  store: Store;
  cache: HostCache;
  carves: CarveService;
  log: Logger;
  now: () => number;
  retentionSeconds: number;
}): Jobs {
  const { store, cache, carves, log, now } = deps;
  const specs: JobSpec[] = [
    { name: 'flush-seen', everyMs: 5_000, run: () => cache.flushSeen() },
    { name: 'expire-carves', everyMs: 60_000, run: () => carves.expireStale(now()) },
    { name: 'expire-queue', everyMs: 60_000, run: () => store.transaction((tx) => tx.distributed.deleteExpired(now())) },
  ];
  {
    specs.push({
      name: 'result-retention',
      everyMs: 10 * 60_000,
      run: async () => {
        // An admin's retention setting (Settings → retention) overrides MIMIR_RESULT_RETENTION.
        const override = await retentionOverride(store, 'resultRetentionDays');
        const seconds = override !== undefined ? override * 86_400 : deps.retentionSeconds;
        if (seconds <= 0) return 0; // 0 keeps results forever
        const before = now() - seconds * 1000;
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
  const timers = specs.map((spec) => setInterval(() => void tick(spec), spec.everyMs).unref());
  return {
    schedule: specs.map(({ name, everyMs }) => ({ name, everyMs })),
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
