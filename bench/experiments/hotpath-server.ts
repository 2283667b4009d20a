/**
 * Child process of the hot-path experiment: one Mimir app (Fastify, as shipped) and, in the same
 * process and on the same services, two raw `node:https` servers: a prototype osquery fast path
 * for `distributed/read` (the recommendation in docs/performance.md: authenticate, touch, read,
 * serialize, with no Fastify in between) and the bare fixed-body server. Only one of the three is
 * loaded at a time, so this process's CPU per request is each variant's cost.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OSQUERY_ENDPOINTS } from '@mimir/osquery-protocol';
import { buildApp } from '../../packages/server/src/app.js';
import { loadConfig } from '../../packages/server/src/config/config.js';
import { createLogger } from '../../packages/server/src/logger.js';
import { appOptionsFromConfig } from '../../packages/server/src/main.js';
import { ensureTlsMaterial } from '../../packages/server/src/tls/tls.service.js';
import type { ChildRequest } from '../lib/protocol.js';

const JSON_TYPE = 'application/json; charset=utf-8';

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a !== null ? a.port : 0);
    });
  });
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const tls = await ensureTlsMaterial({ dataDir: config.dataDir, hostnames: ['127.0.0.1', 'localhost'] });
  const app = await buildApp({ ...appOptionsFromConfig(config, createLogger({ level: 'warn', format: 'json' })), https: { cert: tls.cert, key: tls.key } });
  await app.fastify.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.fastify.server.address();
  const mimirPort = typeof addr === 'object' && addr !== null ? addr.port : 0;
  const { cache, distributed } = app.services;
  const tlsOptions = { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' as const, keepAliveTimeout: 120_000, requestTimeout: 60_000 };

  const answer = (res: ServerResponse, status: number, body: string): void => {
    res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const fast = createServer(tlsOptions, (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST' || req.url !== OSQUERY_ENDPOINTS.distributedRead) {
      answer(res, 404, '{"error":"not found"}');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          answer(res, 400, '{"error":"invalid JSON"}');
          return;
        }
        const h = req.headers.authorization;
        const fromHeader = h !== undefined && h.startsWith('NodeKey ') ? h.slice(8).trim() : undefined;
        const fromBody = (body as { node_key?: unknown }).node_key;
        const key = fromHeader ?? (typeof fromBody === 'string' ? fromBody : '');
        const host = await cache.authenticate(key);
        if (host === undefined) {
          answer(res, 401, '{"node_invalid":true,"error":"invalid node key"}');
          return;
        }
        const now = Date.now();
        cache.touch(host, now);
        answer(res, 200, JSON.stringify(await distributed.read(host, now)));
      })();
    });
  });
  const BARE = Buffer.from('{"queries":{}}');
  const bare = createServer(tlsOptions, (req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': BARE.length });
      res.end(BARE);
    });
  });
  const fastPort = await listen(fast);
  const barePort = await listen(bare);
  process.on('message', (m: unknown) => {
    const req = m as ChildRequest;
    if (req.cmd === 'usage') process.send?.({ id: req.id, ok: true, result: { at: Date.now(), cpu: process.cpuUsage(), memory: process.memoryUsage(), elu: 0, cachedHosts: cache.size } });
    else if (req.cmd === 'stop') {
      fast.closeAllConnections();
      bare.closeAllConnections();
      fast.close();
      bare.close();
      void app.fastify.close().then(() => app.shutdown()).then(() => {
        process.send?.({ id: req.id, ok: true, result: {} });
        setTimeout(() => process.exit(0), 50);
      });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready', ports: { mimir: mimirPort, fast: fastPort, bare: barePort }, ca: tls.caPath, secret: app.defaultSecret });
}

void main();
