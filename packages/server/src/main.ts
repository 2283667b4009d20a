/**
 * Process entry for `mimir serve`: load config, prepare TLS material, open the store, listen on
 * HTTPS, shut down gracefully (fastify/demo src/server.ts). Only this file creates the listener.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { buildApp, type AppOptions, type MimirApp } from './app.js';
import { loadConfig, type Config } from './config/config.js';
import { renderFlagfile } from './flagfile.js';
import { createLogger, type Logger } from './logger.js';
import { ensureTlsMaterial, type TlsMaterial } from './tls/tls.service.js';
import { writeAgentFiles } from './agent-files.js';
import { redactDatabaseUrl } from './storage/postgres/postgres.js';

export function appOptionsFromConfig(config: Config, logger: Logger): AppOptions {
  return {
    dataDir: config.dataDir,
    databaseUrl: config.database.url,
    enrollSecret: config.enroll.secret,
    enrollSecretKey: config.enroll.secretKey,
    osquery: { ...config.osquery },
    limits: { ...config.limits },
    carves: { ...config.carves },
    results: { ...config.results },
    clientCertGroup: config.tls.clientGroup,
    auth: { ...config.auth },
    liveQueries: { ...config.liveQueries },
    admin: { ...config.admin },
    updatePublicKeys: config.updates.publicKeys,
    logger,
  };
}

/** `host[:port]` agents use for --tls_hostname. */
export function publicHostname(config: Config): string {
  return config.server.publicHostname ?? `${hostname()}:${config.server.port}`;
}

export interface Running {
  app: MimirApp;
  tls: TlsMaterial;
  url: string;
  stop(): Promise<void>;
}

export async function startServer(config: Config, logger: Logger): Promise<Running> {
  const hostName = publicHostname(config).replace(/:\d+$/, '');
  const tls = await ensureTlsMaterial({
    dataDir: config.dataDir,
    certPath: config.tls.cert,
    keyPath: config.tls.key,
    hostnames: [...config.tls.hostnames, hostName],
  });
  const clientCa = config.tls.clientCa !== undefined ? readFileSync(config.tls.clientCa, 'utf8') : undefined;
  const app = await buildApp({
    ...appOptionsFromConfig(config, logger),
    https: {
      cert: tls.cert,
      key: tls.key,
      // TLS client-auth enrollment (seed 001): ask for a certificate, verify it against the
      // configured CA, but let hosts without one in (they authenticate with secrets/node keys).
      ...(clientCa !== undefined ? { ca: clientCa, requestCert: true, rejectUnauthorized: false } : {}),
    },
  });
  const address = await app.fastify.listen({ host: config.server.host, port: config.server.port });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await app.fastify.close();
      await app.shutdown();
    })());
  return { app, tls, url: address, stop };
}

export function banner(config: Config, run: Running): string {
  const caPath = run.tls.caPath ?? config.tls.cert ?? '<your CA bundle>';
  const flags = renderFlagfile({
    tlsHostname: publicHostname(config),
    caPath: '/etc/osquery/mimir/ca.pem',
    secretPath: '/etc/osquery/mimir/enroll_secret',
    configRefresh: config.osquery.configRefresh,
    distributedInterval: config.osquery.distributedInterval,
    loggerPeriod: config.osquery.loggerPeriod,
    carverBlockSize: Math.min(2_000_000, config.carves.maxBlockSize),
  });
  return [
    '',
    `Mimir is listening on https://${publicHostname(config)} (bound to ${config.server.host}:${config.server.port})`,
    `  database:       ${config.database.url !== undefined ? redactDatabaseUrl(config.database.url) : join(config.dataDir, 'mimir.db')}`,
    `  CA certificate: ${caPath}   (agents pin it with --tls_server_certs)`,
    `  enroll secret:  ${run.app.defaultSecret}`,
    '',
    'To enroll a host running osquery 5.x, copy the CA and the secret to it, then start osqueryd with this flagfile:',
    `  sudo mkdir -p /etc/osquery/mimir && sudo cp ${caPath} /etc/osquery/mimir/ca.pem`,
    `  echo '${run.app.defaultSecret}' | sudo tee /etc/osquery/mimir/enroll_secret >/dev/null`,
    `  sudo osqueryd --flagfile=/etc/osquery/mimir/osquery.flags`,
    '',
    '--- /etc/osquery/mimir/osquery.flags ---',
    flags.trimEnd(),
    '---',
    `(also written to ${join(config.dataDir, 'osquery')}; \`mimir flagfile\` prints it again)`,
    '',
  ].join('\n');
}

/** `mimir serve`. Exits the process on SIGTERM/SIGINT after a graceful stop. */
export async function serve(env: Record<string, string | undefined>): Promise<void> {
  const config = loadConfig(env);
  const logger = createLogger(config.log);
  const run = await startServer(config, logger);
  writeAgentFiles(config, run.app.defaultSecret, run.tls.caPath, publicHostname(config));
  process.stdout.write(banner(config, run));
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const timer = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.server.shutdownTimeout * 1000);
    timer.unref();
    run.stop().then(
      () => {
        logger.info('stopped cleanly');
        logger.flush();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
