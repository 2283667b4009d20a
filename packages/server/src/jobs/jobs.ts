/**
 * In-process timers: batched last-seen writes, result retention, carve and queue expiry. Each job
 * runs on its own interval; a job never overlaps itself, and failures are logged, not thrown.
 */
import type { Logger } from '../logger.js';
import type { CarveService } from '../services/carves/carve.service.js';
import type { HostCache } from '../services/host-cache.js';
import type { Store } from '../storage/store.js';

export interface Jobs {
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
  if (deps.retentionSeconds > 0) {
    specs.push({
      name: 'result-retention',
      everyMs: 10 * 60_000,
      run: () => store.transaction((tx) => tx.logs.deleteReceivedBefore(now() - deps.retentionSeconds * 1000)),
    });
  }
  const running = new Map<string, Promise<unknown>>();
  const timers = specs.map((spec) =>
    setInterval(() => {
      if (running.has(spec.name)) return;
      const p = spec
        .run()
        .catch((err: unknown) => log.error({ err, job: spec.name }, 'job failed'))
        .finally(() => running.delete(spec.name));
      running.set(spec.name, p);
    }, spec.everyMs).unref(),
  );
  return {
    async stop() {
      for (const t of timers) clearInterval(t);
      await Promise.all(running.values());
    },
  };
}
