/**
 * Test harness (fastify/demo test/helper.ts): a real Mimir server on a temp SQLite file, over real
 * HTTPS on 127.0.0.1 with a generated CA, closed when the test ends.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { buildApp, type AppOptions, type MimirApp } from '../src/app.js';
import { ensureTlsMaterial } from '../src/tls/tls.service.js';

export interface TestServer {
  app: MimirApp;
  port: number;
  /** `127.0.0.1:<port>` — what osquery's --tls_hostname would be. */
  tlsHostname: string;
  ca: string;
  dataDir: string;
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
  const app = await buildApp(baseOptions(dataDir, { https: { cert: tls.cert, key: tls.key, ...clientAuth }, ...opts.overrides }));
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
  t.after(stop);
  return {
    app,
    port: addr.port,
    tlsHostname: `127.0.0.1:${addr.port}`,
    ca: readFileSync(tls.caPath ?? '', 'utf8'),
    dataDir,
    secret: app.defaultSecret,
    stop,
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

/** A plain HTTPS request with full control over method, headers and body bytes. */
export function rawRequest(
  srv: TestServer,
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
