/**
 * Experiment behind docs/performance.md's hot-path recommendation: server CPU per empty
 * `distributed/read` for (1) Mimir as shipped (Fastify route), (2) a raw `node:https` fast path on
 * the same services, (3) a bare fixed-body server — all in one server process, loaded in turn by
 * the same generator, three interleaved rounds. CPU per request (not requests/s) is compared, so
 * the result holds on a machine shared with other work.
 *
 *   node --conditions=mimir-source --import tsx bench/experiments/hotpath.ts [seconds-per-phase]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OSQUERY_ENDPOINTS } from '@mimir/osquery-protocol';
import { OsquerydStandin, makeHostProfile } from '@mimir/osquery-protocol/standin';
import { runClosedLoop } from '@mimir/loadsim';
import { Child, pinToCpu } from '../lib/child.js';
import type { Usage } from '../lib/protocol.js';

interface Ready {
  type: 'ready';
  ports: { mimir: number; fast: number; bare: number };
  ca: string;
  secret: string;
}

const seconds = Number(process.argv[2] ?? 8);
const dir = mkdtempSync(join(tmpdir(), 'hotpath-exp-'));
pinToCpu(process.pid, 0);
const child = Child.start({ script: 'bench/experiments/hotpath-server.ts', env: { MIMIR_DATA_DIR: dir, MIMIR_LOG_LEVEL: 'warn' }, cpu: 1, logFile: join(dir, 'server.log') });
try {
  const ready = await child.waitFor((m) => ((m as Partial<Ready>).type === 'ready' ? (m as Ready) : undefined), 120_000, 'server');
  const ca = readFileSync(ready.ca, 'utf8');
  const keys: string[] = [];
  for (let i = 0; i < 16; i++) {
    const h = new OsquerydStandin({ tlsHostname: `127.0.0.1:${ready.ports.mimir}`, ca, enrollSecret: ready.secret, profile: makeHostProfile('ubuntu', `exp-${i}`) });
    const e = await h.enroll();
    if (!e.ok) throw new Error(e.error);
    await h.runDistributedOnce();
    keys.push(e.nodeKey);
    await h.close();
  }
  const results: Record<string, number[]> = { mimir: [], fast: [], bare: [] };
  for (let round = 0; round < 3; round++) {
    for (const variant of ['mimir', 'fast', 'bare'] as const) {
      const u0 = await child.request<Usage>('usage');
      const r = await runClosedLoop({
        tlsHostname: `127.0.0.1:${ready.ports[variant]}`, ca, connections: keys.length, durationMs: seconds * 1000, warmupMs: 0,
        request: (i) => ({ path: OSQUERY_ENDPOINTS.distributedRead, body: `{"node_key":"${keys[i] ?? ''}"}`, nodeKey: keys[i] ?? '' }),
        check: (res) => res.body.toString('utf8') === '{"queries":{}}',
      });
      const u1 = await child.request<Usage>('usage');
      const cpuUs = u1.cpu.user + u1.cpu.system - u0.cpu.user - u0.cpu.system;
      const perReq = cpuUs / Math.max(1, r.requests);
      results[variant]?.push(perReq);
      process.stdout.write(`round ${round + 1} ${variant.padEnd(5)} ${r.rps.toFixed(0).padStart(6)} req/s  ${perReq.toFixed(0).padStart(4)} µs CPU/request  errors ${r.errors + r.transport}\n`);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const m = median(results['mimir'] ?? []);
  const f = median(results['fast'] ?? []);
  const b = median(results['bare'] ?? []);
  process.stdout.write(`median µs CPU/request: mimir ${m.toFixed(0)}, fast path ${f.toFixed(0)}, bare ${b.toFixed(0)}\n`);
  process.stdout.write(`per-core throughput vs bare: mimir ${((b / m) * 100).toFixed(0)}%, fast path ${((b / f) * 100).toFixed(0)}%\n`);
} finally {
  await child.stop();
  rmSync(dir, { recursive: true, force: true });
}
