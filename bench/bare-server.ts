/**
 * The yardstick for the check-in hot path: a bare `node:https` server that reads the request body
 * and answers the same fixed JSON an empty distributed/read gets from Mimir, with the same
 * certificate, TLS floor and keep-alive settings. Whatever Mimir spends beyond this is routing,
 * authentication, the host cache and serialization.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { ChildRequest } from './lib/protocol.js';

const BODY = Buffer.from('{"queries":{}}');

/** Main-thread time waiting for a CPU (ms), as the Mimir server process reports it. */
function runQueueWaitMs(): number | undefined {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').trim().split(/\s+/)[1]) / 1e6;
  } catch {
    return undefined;
  }
}

function send(m: unknown): void {
  if (process.connected) process.send?.(m);
}

process.once('message', (first: unknown) => {
  const { cert, key } = first as { cert: string; key: string };
  const server = createServer({ cert, key, minVersion: 'TLSv1.2', keepAliveTimeout: 120_000, requestTimeout: 60_000 }, (req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': BODY.length });
      res.end(BODY);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no port');
    send({ type: 'ready', port: addr.port, pid: process.pid });
  });
  process.on('message', (m: unknown) => {
    const req = m as ChildRequest;
    if (typeof req !== 'object' || typeof req.id !== 'number') return;
    if (req.cmd === 'usage') {
      send({ id: req.id, ok: true, result: { at: Date.now(), cpu: process.cpuUsage(), memory: process.memoryUsage(), elu: 0, runQueueWaitMs: runQueueWaitMs(), cachedHosts: 0 } });
    } else if (req.cmd === 'stop') {
      server.closeAllConnections();
      server.close(() => {
        send({ id: req.id, ok: true, result: { stopped: true } });
        setTimeout(() => process.exit(0), 50);
      });
    } else {
      send({ id: req.id, ok: false, error: `bare server does not do ${req.cmd}` });
    }
  });
  process.on('disconnect', () => process.exit(0));
});
