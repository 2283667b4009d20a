/**
 * Composes the Mimir server from its parts (fastify/demo src/app.ts): storage, services, the
 * osquery surface, jobs. It never opens a port: main.ts (or a test) calls `listen`.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Server as HttpsServer } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import { OSQUERY_API_PREFIX } from '@mimir/osquery-protocol';
import type { Logger } from './logger.js';
import { osqueryRoutes } from './osquery/osquery.routes.js';
import type { OsqueryServices } from './osquery/osquery.types.js';
import { CarveService } from './services/carves/carve.service.js';
import { DistributedService } from './services/distributed.service.js';
import { ensureDefaultGroup, SecretResolver } from './services/enroll-secrets.js';
import { EnrollmentService } from './services/enrollment.service.js';
import { HostCache } from './services/host-cache.js';
import { LogIngestService } from './services/log-ingest.service.js';
import { NdjsonSink } from './services/ndjson-sink.js';
import { OsqueryConfigService } from './services/osquery-config.service.js';
import { VitalsService } from './services/vitals/vitals.service.js';
import { openStore, type Store } from './storage/store.js';
import { DEFAULT_GROUP } from './storage/repositories/groups.repository.js';
import { startJobs, type Jobs } from './jobs/jobs.js';

export interface AppOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  /** MIMIR_ENROLL_SECRET; a secret is generated on first start when unset. */
  enrollSecret?: string | undefined;
  enrollSecretKey: string;
  /** Intervals in seconds. */
  osquery: { distributedInterval: number; configRefresh: number; loggerPeriod: number; detailInterval: number; onlineBuffer: number };
  limits: { logBody: number; distributedWriteBody: number; otherBody: number };
  carves: { maxBlockSize: number; maxSize: number; expiry: number };
  results: { retention: number; ndjsonFile?: string | undefined; statusNdjsonFile?: string | undefined };
  /** Group for hosts identified by a TLS client certificate. */
  clientCertGroup: string;
  logger: Logger;
  /** HTTPS material; omitted in tests that only use `inject()`. */
  https?: (SecureContextOptions & { requestCert?: boolean; rejectUnauthorized?: boolean }) | undefined;
  /** Milliseconds clock, injectable for tests. */
  now?: () => number;
  /** Run background jobs (seen flush, retention, expiry). Default true. */
  jobs?: boolean;
}

export interface MimirApp {
  fastify: FastifyInstance;
  store: Store;
  services: OsqueryServices & { secrets: SecretResolver; carves: CarveService };
  /** The enroll secret of the default group (printed at start). */
  defaultSecret: string;
  /** Stop jobs, flush buffered writes, close sinks and the database. Call after fastify.close(). */
  shutdown(): Promise<void>;
}

export async function buildApp(opts: AppOptions): Promise<MimirApp> {
  const now = opts.now ?? Date.now;
  const log = opts.logger;
  const store = await openStore({ dataDir: opts.dataDir, databaseUrl: opts.databaseUrl });
  const sinks = {
    results: opts.results.ndjsonFile !== undefined ? new NdjsonSink(opts.results.ndjsonFile) : undefined,
    statuses: opts.results.statusNdjsonFile !== undefined ? new NdjsonSink(opts.results.statusNdjsonFile) : undefined,
  };
  try {
    const defaults = await ensureDefaultGroup(store, opts.enrollSecret, now());
    const cache = new HostCache(store);
    const secrets = new SecretResolver(store);
    const o = opts.osquery;
    // A host is live (for the clone rule) if it checked in within the online window.
    const onlineWindowMs = (Math.max(o.distributedInterval, o.configRefresh) + o.onlineBuffer) * 1000;
    const enrollment = new EnrollmentService(store, cache, secrets, {
      cloneWindowMs: onlineWindowMs,
      cooldownMs: 60_000,
      clientCertGroupId: async () => {
        const g = (await store.groups.findByName(opts.clientCertGroup)) ?? (await store.groups.findByName(DEFAULT_GROUP));
        if (g === undefined) throw new Error(`group ${opts.clientCertGroup} does not exist`);
        return g.id;
      },
    });
    const vitals = new VitalsService({ detailIntervalMs: o.detailInterval * 1000 });
    const distributed = new DistributedService(store, vitals);
    const carves = new CarveService(store, {
      dataDir: opts.dataDir,
      maxBlockSize: opts.carves.maxBlockSize,
      maxCarveSize: opts.carves.maxSize,
      expiryMs: opts.carves.expiry * 1000,
      log,
    });
    await distributed.init(now());
    const services: MimirApp['services'] = {
      cache,
      secrets,
      enrollment,
      config: new OsqueryConfigService(store, { distributedInterval: o.distributedInterval, loggerPeriod: o.loggerPeriod, configRefresh: o.configRefresh }),
      logs: new LogIngestService(store, sinks),
      distributed,
      carves,
      certificateHost: (identity, remoteIp) => enrollment.hostForCertificate(identity, remoteIp, now()),
      enrollSecretKey: opts.enrollSecretKey,
      limits: { ...opts.limits, carveMaxBlockSize: opts.carves.maxBlockSize },
      now,
    };

    const fastifyOpts = {
      loggerInstance: log,
      // Per-request logs at 10k+ check-ins/s would drown everything else; errors are still logged.
      logController: new LogController({ disableRequestLogging: true }),
      // osquery keeps one connection per host for up to an hour (--tls_session_timeout=3600): keep
      // idle sockets longer than the check-in intervals so each check-in skips a TLS handshake.
      keepAliveTimeout: 120_000,
      requestTimeout: 60_000,
      return503OnClosing: true,
      forceCloseConnections: 'idle' as const,
    };
    const fastify = (
      opts.https !== undefined
        ? Fastify<HttpsServer>({ ...fastifyOpts, https: { ...opts.https, minVersion: 'TLSv1.2' } })
        : Fastify(fastifyOpts)
    ) as unknown as FastifyInstance;

    await fastify.register(osqueryRoutes(services), { prefix: OSQUERY_API_PREFIX });
    fastify.get('/healthz', async (_req, reply) => {
      await store.hosts.count();
      return reply.send({ status: 'ok' });
    });
    fastify.setNotFoundHandler((req, reply) => reply.code(404).send({ error: { code: 'not_found', message: `not found: ${req.method} ${req.url.split('?')[0] ?? ''}` } }));

    const jobs: Jobs | undefined = opts.jobs === false ? undefined : startJobs({ store, cache, carves, log, now, retentionSeconds: opts.results.retention });

    return {
      fastify,
      store,
      services,
      defaultSecret: defaults.secret,
      async shutdown() {
        await jobs?.stop();
        await cache.flushSeen();
        await sinks.results?.close();
        await sinks.statuses?.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
