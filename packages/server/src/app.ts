/**
 * Composes the Mimir server from its parts (fastify/demo src/app.ts): storage, services, the
 * osquery surface, jobs. It never opens a port: main.ts (or a test) calls `listen`.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import { OSQUERY_API_PREFIX } from '@mimir/osquery-protocol';
import type { Logger } from './logger.js';
import { createOsqueryHandler, osqueryNotFound } from './osquery/osquery.handler.js';
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
import { singleInstanceCluster, type Cluster } from './cluster/cluster.js';
import { postgresCluster } from './cluster/postgres-cluster.js';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { apiPlugin, SESSION_COOKIE } from './api/api.plugin.js';
import { binaryRoutes } from './osquery/binaries.routes.js';
import type { CoreServices } from './api/api.types.js';
import { AuthService } from './auth/auth.service.js';
import type { ScryptCost } from './auth/password.js';
import { AuditService } from './services/audit.service.js';
import type { ServiceHub } from './services/contracts.js';
import { registerWebConsole } from './web/web.plugin.js';

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
  /** Operator sessions (seconds); `passwordCost` lowers scrypt's cost in tests only. */
  auth: { sessionIdle: number; sessionMax: number; passwordCost?: ScryptCost | undefined };
  liveQueries: { historyRetention: number; maxResultRows: number };
  /** First admin for unattended installs (MIMIR_ADMIN_EMAIL / MIMIR_ADMIN_PASSWORD). */
  admin?: { email?: string | undefined; password?: string | undefined } | undefined;
  logger: Logger;
  /** HTTPS material; omitted in tests that only use `inject()`. */
  https?: (SecureContextOptions & { requestCert?: boolean; rejectUnauthorized?: boolean }) | undefined;
  /** Milliseconds clock, injectable for tests. */
  now?: () => number;
  /** Run background jobs (seen flush, retention, expiry). Default true. */
  jobs?: boolean;
  /** Scale-out on PostgreSQL (issue #10): leader election poll interval (ms), default 5000. */
  cluster?: { leaderPollMs?: number | undefined } | undefined;
  /** Ed25519 public keys trusted for signed updates (MIMIR_UPDATE_PUBLIC_KEYS). Default none. */
  updatePublicKeys?: readonly string[] | undefined;
}

export interface MimirApp {
  fastify: FastifyInstance;
  store: Store;
  /** Peers on the same PostgreSQL (bus and leader); a no-peer stand-in on SQLite. */
  cluster: Cluster;
  services: OsqueryServices & { secrets: SecretResolver; carves: CarveService };
  core: CoreServices;
  /** Every operator route with its declared permission (for the RBAC matrix test and docs). */
  apiRoutes: Array<{ method: string; url: string; permission: string | undefined }>;
  /** The enroll secret of the default group (printed at start). */
  defaultSecret: string;
  /** Stop jobs, flush buffered writes, close sinks and the database. Call after fastify.close(). */
  shutdown(): Promise<void>;
}

export async function buildApp(opts: AppOptions): Promise<MimirApp> {
  const now = opts.now ?? Date.now;
  const log = opts.logger;
  const store = await openStore({ dataDir: opts.dataDir, databaseUrl: opts.databaseUrl });
  let cluster: Cluster | undefined;
  const sinkError = (err: Error) => log.error({ err }, 'NDJSON log mirror write failed');
  const sinks = {
    results: opts.results.ndjsonFile !== undefined ? new NdjsonSink(opts.results.ndjsonFile, { onError: sinkError }) : undefined,
    statuses: opts.results.statusNdjsonFile !== undefined ? new NdjsonSink(opts.results.statusNdjsonFile, { onError: sinkError }) : undefined,
  };
  try {
    cluster =
      store.dialect.name === 'postgres' && opts.databaseUrl !== undefined
        ? await postgresCluster({ url: opts.databaseUrl, log, leaderPollMs: opts.cluster?.leaderPollMs })
        : singleInstanceCluster();
    const defaults = await ensureDefaultGroup(store, opts.enrollSecret, now());
    const cache = new HostCache(store, { cluster });
    const secrets = new SecretResolver(store, cluster);
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
    const distributed = new DistributedService(store, vitals, cluster, now);
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
      config: new OsqueryConfigService(store, { distributedInterval: o.distributedInterval, loggerPeriod: o.loggerPeriod, configRefresh: o.configRefresh }, cluster),
      logs: new LogIngestService(store, sinks, () => hub.applyEcs),
      distributed,
      carves,
      certificateHost: (identity, remoteIp) => enrollment.hostForCertificate(identity, remoteIp, now()),
      enrollSecretKey: opts.enrollSecretKey,
      limits: { ...opts.limits, carveMaxBlockSize: opts.carves.maxBlockSize },
      now,
    };

    // The osquery endpoints are answered before Fastify sees the request (osquery.handler.ts says why).
    const osquery = createOsqueryHandler(services, log);
    const serverFactory = (fastifyHandler: (req: IncomingMessage, res: ServerResponse) => void) => {
      const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
        if (!osquery.handle(req, res)) fastifyHandler(req, res);
      };
      const server = opts.https !== undefined ? createHttpsServer({ ...opts.https, minVersion: 'TLSv1.2' }, onRequest) : createHttpServer(onRequest);
      // osquery keeps one connection per host for up to an hour (--tls_session_timeout=3600): keep
      // idle sockets longer than the check-in intervals so each check-in skips a TLS handshake.
      server.keepAliveTimeout = 120_000;
      server.requestTimeout = 60_000;
      return server as HttpsServer;
    };
    const fastify = Fastify<HttpsServer>({
      loggerInstance: log,
      // Per-request logs at 10k+ check-ins/s would drown everything else; errors are still logged.
      logController: new LogController({ disableRequestLogging: true }),
      serverFactory,
      // The factory makes the server; Fastify reads this only to print https:// addresses.
      ...(opts.https !== undefined ? { https: opts.https } : {}),
      return503OnClosing: true,
      forceCloseConnections: 'idle',
    }) as unknown as FastifyInstance;
    fastify.addHook('preClose', (done) => {
      osquery.close();
      done();
    });

    const hub: ServiceHub = {};
    const auth = new AuthService(store, {
      sessionIdleMs: opts.auth.sessionIdle * 1000,
      sessionMaxMs: opts.auth.sessionMax * 1000,
      passwordCost: opts.auth.passwordCost,
    });
    if (opts.admin?.email !== undefined && opts.admin.password !== undefined && (await auth.needsSetup())) {
      await auth.setup({ email: opts.admin.email, password: opts.admin.password }, now());
      log.info({ email: opts.admin.email }, 'created the first admin from MIMIR_ADMIN_EMAIL');
    }
    const core: CoreServices = {
      store,
      auth,
      audit: new AuditService(store, now),
      cache,
      distributed,
      osqueryConfig: services.config,
      secrets,
      carves,
      hub,
      log,
      now,
      cluster,
      settings: {
        dataDir: opts.dataDir,
        distributedInterval: o.distributedInterval,
        configRefresh: o.configRefresh,
        onlineBuffer: o.onlineBuffer,
        liveQueryHistoryDays: Math.round(opts.liveQueries.historyRetention / 86_400),
        liveQueryMaxRows: opts.liveQueries.maxResultRows,
        updatePublicKeys: opts.updatePublicKeys ?? [],
      },
    };

    const apiRoutes: MimirApp['apiRoutes'] = [];
    fastify.addHook('onRoute', (r) => {
      if (!r.url.startsWith('/api/v1/') || r.url.startsWith(`${OSQUERY_API_PREFIX}/`)) return;
      for (const method of [r.method].flat()) {
        if (method !== 'HEAD') apiRoutes.push({ method, url: r.url, permission: r.config?.permission });
      }
    });

    // OpenAPI from the route schemas, browsable at /api/docs (fastify/demo's swagger plugin).
    await fastify.register(swagger, {
      openapi: {
        info: { title: 'Mimir operator API', version: '1', description: 'Operator REST API. Authenticate with a session cookie (POST /api/v1/session) or `Authorization: Bearer <API token>`.' },
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer' },
            session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
          },
        },
        security: [{ bearer: [] }, { session: [] }],
      },
    });
    await fastify.register(swaggerUi, { routePrefix: '/api/docs' });
    await fastify.register(osqueryNotFound, { prefix: OSQUERY_API_PREFIX });
    await fastify.register(apiPlugin(core), { prefix: '/api/v1' });
    await fastify.register(binaryRoutes(core), { prefix: OSQUERY_API_PREFIX });
    const clusterNow = cluster;
    fastify.get('/healthz', async (_req, reply) => {
      await store.hosts.count();
      // Which instance answered and whether it leads: load balancer checks and the scale-out test.
      return reply.send({ status: 'ok', instance: clusterNow.instanceId, leader: clusterNow.isLeader() });
    });
    // The console at `/` (and the JSON 404 for everything else that is not an API route).
    await registerWebConsole(fastify);

    const jobs: Jobs | undefined = opts.jobs === false ? undefined : startJobs({ store, cache, carves, log, now, retentionSeconds: opts.results.retention, isLeader: () => clusterNow.isLeader() });

    return {
      fastify,
      store,
      cluster,
      services,
      core,
      apiRoutes,
      defaultSecret: defaults.secret,
      async shutdown() {
        await jobs?.stop();
        await cache.flushSeen();
        await sinks.results?.close();
        await sinks.statuses?.close();
        await clusterNow.close();
        await store.close();
      },
    };
  } catch (err) {
    await cluster?.close();
    await store.close();
    throw err;
  }
}
