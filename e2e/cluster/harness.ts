/**
 * Multi-instance harness (issue #10): N `mimir serve` processes on one PostgreSQL database and one
 * shared data directory (CA, server certificate, carves), with Debian's nginx in front of them as
 * the load balancer: started as a child process with a private prefix and `daemon off`, so it
 * needs no root, no system config and dies with the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { rawRequest, type RawResponse } from '../../packages/server/test/helper.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MIMIR_BIN = join(ROOT, 'packages/server/src/bin/mimir.ts');
export const ADMIN = { email: 'admin@example.com', password: 'cluster test password 0123' };
export const SECRET = 'cluster-enroll-secret-0123456789';

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  srv.close();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 20_000, every = 100): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** One HTTPS request to 127.0.0.1:`port`, trusting the cluster's CA (the server harness's request). */
export function request(port: number, ca: string, path: string, opts: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  return rawRequest({ port, ca }, path, {
    method: opts.method ?? 'GET',
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    ...(opts.headers !== undefined ? { headers: opts.headers } : {}),
  });
}

export interface Instance {
  name: string;
  port: number;
  proc: ChildProcess;
  /** Everything the process wrote (for failure messages). */
  output(): string;
  alive(): boolean;
  /** SIGKILL: no graceful shutdown, no flush: what a crash or an OOM kill does. */
  kill(): Promise<void>;
}

export async function startInstance(t: TestContext, name: string, env: Record<string, string>): Promise<Instance> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--conditions=mimir-source', '--import', 'tsx', MIMIR_BIN, 'serve'], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      ...env,
      MIMIR_HOST: '127.0.0.1',
      MIMIR_PORT: String(port),
      MIMIR_PUBLIC_HOSTNAME: `localhost:${port}`,
      MIMIR_LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'warn',
      MIMIR_LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out = (out + c.toString('utf8')).slice(-20_000)));
  proc.stderr.on('data', (c: Buffer) => (out = (out + c.toString('utf8')).slice(-20_000)));
  const exited = once(proc, 'exit');
  const inst: Instance = {
    name,
    port,
    proc,
    output: () => out,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    async kill() {
      if (!inst.alive()) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
  t.after(async () => {
    if (!inst.alive()) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  });
  return inst;
}

/** Wait until `inst` answers /healthz with the CA at `caPath` (written by the first instance). */
export async function ready(inst: Instance, caPath: string): Promise<{ instance: string; leader: boolean }> {
  return waitFor(`${inst.name} to answer /healthz`, async () => {
    if (!inst.alive()) throw new Error(`${inst.name} exited:\n${inst.output()}`);
    if (!existsSync(caPath)) return undefined;
    const r = await request(inst.port, readFileSync(caPath, 'utf8'), '/healthz');
    return r.status === 200 ? (r.json as { instance: string; leader: boolean }) : undefined;
  }, 90_000, 250);
}

export interface Nginx {
  port: number;
  alive(): boolean;
}

/**
 * nginx in front of the instances: TLS with the cluster's own certificate (hosts pin one CA),
 * round robin to the instances over HTTPS, the next instance on a refused connection, and no
 * buffering so Server-Sent Events pass through as they are written.
 */
export async function startNginx(t: TestContext, dir: string, tlsDir: string, upstreamPorts: readonly number[]): Promise<Nginx> {
  const port = await freePort();
  const prefix = join(dir, 'nginx');
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  mkdirSync(join(prefix, 'tmp'), { recursive: true });
  const conf = `
worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  client_max_body_size 20m;
  upstream mimir {
${upstreamPorts.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join('\n')}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${tlsDir}/server.pem;
    ssl_certificate_key ${tlsDir}/server.key;
    location / {
      proxy_pass https://mimir;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_ssl_trusted_certificate ${tlsDir}/ca.pem;
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;
      proxy_buffering off;
      proxy_read_timeout 120s;
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
      proxy_connect_timeout 2s;
    }
  }
}
`;
  writeFileSync(join(prefix, 'nginx.conf'), conf);
  const bin = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p)) ?? 'nginx';
  const proc = spawn(bin, ['-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = once(proc, 'exit');
  t.after(async () => {
    if (proc.exitCode !== null) return;
    proc.kill('SIGQUIT');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  });
  await waitFor('nginx to listen', async () => {
    if (proc.exitCode !== null) throw new Error(`nginx exited: ${out}`);
    const r = await request(port, readFileSync(join(tlsDir, 'ca.pem'), 'utf8'), '/healthz').catch(() => undefined);
    return r?.status === 200 ? true : undefined;
  });
  return { port, alive: () => proc.exitCode === null };
}
