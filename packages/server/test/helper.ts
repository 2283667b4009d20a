/**
 * Test harness (fastify/demo test/helper.ts): a real Mimir server on a temp SQLite file, over real
 * HTTPS on 127.0.0.1 with a generated CA, closed when the test ends.
 *
 * `MIMIR_TEST_DATABASE=postgres` runs the same servers on PostgreSQL instead (issue #10): each data
 * directory gets a fresh database on `MIMIR_TEST_PG_URL` (default
 * postgres://postgres@127.0.0.1:5432/test), dropped when the test that made it ends.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { pino } from 'pino';
import { buildApp, type AppOptions, type MimirApp } from '../src/app.js';
import { ensureTlsMaterial } from '../src/tls/tls.service.js';
import type { Kysely } from 'kysely';
import { openPostgres } from '../src/storage/postgres/postgres.js';
import type { Database } from '../src/storage/schema.js';
import { openSqlite } from '../src/storage/sqlite/sqlite.js';

export interface TestServer {
  app: MimirApp;
  port: number;
  /** `127.0.0.1:<port>` — what osquery's --tls_hostname would be. */
  tlsHostname: string;
  ca: string;
  /** The PEM certificate chain the server presents (its leaf first). */
  cert: string;
  dataDir: string;
  /** Set when the server runs on PostgreSQL. */
  databaseUrl: string | undefined;
  secret: string;
  /** Stop the server the way SIGTERM does (close, then flush and close storage). */
  stop(): Promise<void>;
}

export const TEST_SECRET = 'test-enroll-secret-0123456789';

export function tempDir(t: TestContext, prefix = 'mimir-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Which database test servers use: `MIMIR_TEST_DATABASE=postgres` or the default SQLite. */
export const TEST_DATABASE: 'sqlite' | 'postgres' = process.env['MIMIR_TEST_DATABASE'] === 'postgres' ? 'postgres' : 'sqlite';

/** The PostgreSQL server tests use: its `test` database is only used to create and drop others. */
export const TEST_PG_URL = process.env['MIMIR_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** `TEST_PG_URL` with another database name. */
export function pgUrlFor(database: string): string {
  const u = new URL(TEST_PG_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/**
 * A fresh, empty PostgreSQL database for this test, dropped (with any connections still open) when
 * it ends. Returns its URL.
 */
export async function freshPgDatabase(t: TestContext, name = `mimir_t_${randomBytes(6).toString('hex')}`): Promise<string> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad test database name ${name}`);
  await adminQuery(`CREATE DATABASE ${name}`);
  t.after(() => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  return pgUrlFor(name);
}

/**
 * PostgreSQL databases of data directories in this process: a restart on the same `dataDir` must
 * find the same data, so the database follows the directory. Its drop waits for every server
 * started on it to stop first (stop is idempotent).
 */
const pgByDataDir = new Map<string, { url: string; stops: Set<() => Promise<void>> }>();

async function pgDatabaseFor(t: TestContext, dataDir: string): Promise<{ url: string; stops: Set<() => Promise<void>> }> {
  const known = pgByDataDir.get(dataDir);
  if (known !== undefined) return known;
  const name = `mimir_t_${createHash('sha256').update(`${process.pid}:${dataDir}:${randomBytes(4).toString('hex')}`).digest('hex').slice(0, 16)}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const entry = { url: pgUrlFor(name), stops: new Set<() => Promise<void>>() };
  pgByDataDir.set(dataDir, entry);
  t.after(async () => {
    await Promise.all([...entry.stops].map((stop) => stop()));
    pgByDataDir.delete(dataDir);
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
  return entry;
}

/**
 * Environment for a `mimir` subprocess that must use the same database as servers started on
 * `dataDir` (`MIMIR_DATABASE_URL` on PostgreSQL; nothing on SQLite, where the file is in dataDir).
 */
export async function databaseEnv(t: TestContext, dataDir: string): Promise<Record<string, string>> {
  if (TEST_DATABASE !== 'postgres') return {};
  return { MIMIR_DATABASE_URL: (await pgDatabaseFor(t, dataDir)).url };
}

export function baseOptions(dataDir: string, overrides: Partial<AppOptions> = {}): AppOptions {
  return {
    dataDir,
    enrollSecret: TEST_SECRET,
    enrollSecretKey: 'enroll_secret',
    osquery: { distributedInterval: 10, configRefresh: 60, loggerPeriod: 10, detailInterval: 3600, onlineBuffer: 60 },
    limits: { logBody: 10 * 1024 * 1024, distributedWriteBody: 10 * 1024 * 1024, otherBody: 1024 * 1024 },
    carves: { maxBlockSize: 8 * 1024 * 1024, maxSize: 1024 * 1024 * 1024, expiry: 86_400 },
    results: { retention: 0 },
    clientCertGroup: 'default',
    auth: { sessionIdle: 3600, sessionMax: 86_400, passwordCost: { N: 1024, r: 8, p: 1 } },
    liveQueries: { historyRetention: 30 * 86_400, maxResultRows: 100_000 },
    logger: pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }),
    jobs: false,
    ...overrides,
  };
}

/**
 * Start a real HTTPS server. `dataDir` lets a test restart on the same data. `clientCa` (PEM) turns
 * on TLS client-auth the way main.ts startServer does (seed 001): ask for a certificate, verify it
 * against this CA, but let hosts without one in.
 */
export async function startServer(
  t: TestContext,
  opts: { dataDir?: string; overrides?: Partial<AppOptions>; clientCa?: string } = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDir(t);
  const tls = await ensureTlsMaterial({ dataDir, hostnames: [] });
  const clientAuth = opts.clientCa !== undefined ? { ca: opts.clientCa, requestCert: true, rejectUnauthorized: false } : {};
  const pgDb = TEST_DATABASE === 'postgres' && opts.overrides?.databaseUrl === undefined ? await pgDatabaseFor(t, dataDir) : undefined;
  const database = pgDb !== undefined ? { databaseUrl: pgDb.url } : {};
  const app = await buildApp(baseOptions(dataDir, { https: { cert: tls.cert, key: tls.key, ...clientAuth }, ...database, ...opts.overrides }));
  await app.fastify.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.fastify.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.fastify.close();
    await app.shutdown();
  };
  pgDb?.stops.add(stop);
  t.after(stop);
  return {
    app,
    port: addr.port,
    tlsHostname: `127.0.0.1:${addr.port}`,
    ca: readFileSync(tls.caPath ?? '', 'utf8'),
    cert: tls.cert,
    dataDir,
    databaseUrl: opts.overrides?.databaseUrl ?? pgDb?.url,
    secret: app.defaultSecret,
    stop,
  };
}

/**
 * A second Kysely handle on a running server's database (SQLite file or PostgreSQL), for tests that
 * change tables behind the server's back; closed when the test ends.
 */
export function secondHandle(t: TestContext, srv: TestServer): Kysely<Database> {
  if (srv.databaseUrl !== undefined) {
    const { db } = openPostgres(srv.databaseUrl, { max: 2 });
    t.after(() => db.destroy());
    return db;
  }
  const sqlite = openSqlite(join(srv.dataDir, 'mimir.db'));
  t.after(() => sqlite.close());
  return sqlite.db;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

/** A plain HTTPS request with full control over method, headers and body bytes. */
export function rawRequest(
  srv: Pick<TestServer, 'port' | 'ca'>,
  path: string,
  opts: { method?: string; body?: string | Buffer | undefined; headers?: Record<string, string>; gzip?: boolean } = {},
): Promise<RawResponse> {
  let body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
  const headers: Record<string, string> = { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers };
  if (opts.gzip === true && body !== undefined) {
    body = gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  if (body !== undefined) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: srv.port, path, method: opts.method ?? 'POST', headers, ca: srv.ca, servername: 'localhost', agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** POST a JSON object to an osquery endpoint. */
export function post(srv: TestServer, path: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(srv, path, { body: JSON.stringify(body), headers });
}

export async function enroll(srv: TestServer, hostIdentifier = 'host-uuid-1', instanceId = 'inst-1'): Promise<string> {
  const r = await post(srv, '/api/v1/osquery/enroll', {
    enroll_secret: srv.secret,
    host_identifier: hostIdentifier,
    platform_type: '9',
    host_details: {
      os_version: { name: 'Ubuntu', platform: 'ubuntu', version: '22.04.4 LTS (Jammy Jellyfish)', major: '22', minor: '4', arch: 'x86_64' },
      osquery_info: { version: '5.23.1', instance_id: instanceId, uuid: hostIdentifier },
      system_info: { hostname: `host-${hostIdentifier}`, uuid: hostIdentifier, hardware_serial: 'SER1', cpu_type: 'x86_64' },
    },
  });
  const key = (r.json as { node_key?: unknown } | undefined)?.node_key;
  if (r.status !== 200 || typeof key !== 'string') throw new Error(`enroll failed: ${r.status} ${r.text}`);
  return key;
}

/** Row counts of the tables a request could write to: "nothing stored" means these don't move. */
export async function storedCounts(srv: TestServer) {
  const db = srv.app.store;
  return {
    hosts: await db.hosts.count(),
    results: await db.logs.countResults(),
    statuses: await db.logs.countStatuses(),
    distributedResults: await db.distributed.countResults(),
    carves: await db.carves.count(),
    carveBlocks: await db.carves.countBlocks(),
  };
}

export type TestRole = 'admin' | 'operator' | 'readonly';

export interface ApiCaller {
  token: string;
  userId: number;
  email: string;
  /** Call the operator API with this caller's bearer token. */
  call(method: string, path: string, body?: unknown): Promise<RawResponse>;
}

/** Create a user with `role` and an API token for it (no HTTP sign-in needed). */
export async function apiUser(srv: TestServer, role: TestRole, email = `${role}-${Math.random().toString(36).slice(2, 8)}@example.com`): Promise<ApiCaller> {
  const core = srv.app.core;
  const now = Date.now();
  const userId = await core.auth.createUser({ email, role, password: 'correct horse battery staple' }, now);
  const { token } = await core.auth.createToken({ kind: 'session', userId, email, role }, { name: `${role} test token` }, now);
  return {
    token,
    userId,
    email,
    call: (method, path, body) =>
      rawRequest(srv, path, {
        method,
        headers: { authorization: `Bearer ${token}` },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      }),
  };
}

/** GET/POST/… an operator API path as `caller` and parse the JSON answer. */
export async function api<T = unknown>(caller: ApiCaller, method: string, path: string, body?: unknown, expectStatus?: number): Promise<T> {
  const r = await caller.call(method, path, body);
  if (expectStatus !== undefined && r.status !== expectStatus) throw new Error(`${method} ${path}: expected ${expectStatus}, got ${r.status} ${r.text}`);
  return r.json as T;
}
