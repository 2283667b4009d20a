/**
 * Scenario 5 — server memory per enrolled host, at 10k and 100k hosts; and scenario 6 — REST
 * host-list latency with filters at that size (same server, so the list runs over the 100k hosts).
 *
 * Hosts are enrolled in bulk through the osquery enroll endpoint by the lighter-weight client path
 * (lib/enroll.ts: stand-in enroll bodies over a few dozen shared connections, no simulated loops),
 * then the server collects garbage twice and reports RSS and heap. Per-host cost = growth over the
 * freshly started server divided by hosts; the connections are closed by then, so this is the
 * state a host costs (host cache, database pages), not its socket.
 */
import { ApiClient, routeExists } from '../lib/api.js';
import { percentile, r1, acquireMimir, type BenchSettings, type Verdict } from '../lib/context.js';
import { bulkEnroll } from '../lib/enroll.js';

export interface MemoryPoint {
  hosts: number;
  enrolled: number;
  enrollPerSec: number;
  rssMiB: number;
  heapUsedMiB: number;
  rssPerHostBytes: number;
  heapPerHostBytes: number;
  cachedHosts: number;
}

export interface HostListQuery {
  name: string;
  path: string;
  status: number;
  p50Ms: number;
  p99Ms: number;
  items: number | null;
}

export interface MemoryResult {
  /** Shared connections the bulk enrollment used. */
  concurrency: number;
  baseline: { rssMiB: number; heapUsedMiB: number };
  points: MemoryPoint[];
  hostList: { status: 'measured' | 'missing'; hosts: number; repetitions: number; queries: HostListQuery[]; worstP99Ms: number | null };
  verdictMemory: Verdict;
  verdictHostList: Verdict;
}

interface Gc {
  memory: NodeJS.MemoryUsage;
  cachedHosts: number;
}

const MiB = 1024 ** 2;

const QUERIES: ReadonlyArray<{ name: string; path: string }> = [
  { name: 'first page (default sort)', path: '/api/v1/hosts?limit=50' },
  { name: 'platform=linux', path: '/api/v1/hosts?platform=linux&limit=50' },
  { name: 'status=online, sort=hostname', path: '/api/v1/hosts?status=online&sort=hostname&limit=100' },
  { name: 'free text q=web', path: '/api/v1/hosts?q=web&limit=50' },
  { name: 'darwin + osquery 5.23.1, lastSeen desc', path: '/api/v1/hosts?platform=darwin&osqueryVersion=5.23.1&sort=lastSeen&order=desc&limit=50' },
  { name: 'osName=Ubuntu, sort=enrolledAt', path: '/api/v1/hosts?osName=Ubuntu&sort=enrolledAt&limit=50' },
];

export async function memory(s: BenchSettings): Promise<MemoryResult> {
  const sizes = s.tiny ? [50, 150] : [10_000, s.memoryHosts];
  const repetitions = s.tiny ? 5 : 50;
  const concurrency = s.tiny ? 8 : 32;
  const { srv, release } = await acquireMimir(s, 'memory');
  let api: ApiClient | undefined;
  try {
    const base = await srv.child.request<Gc>('gc');
    const points: MemoryPoint[] = [];
    let have = 0;
    const deadline = Date.now() + (s.tiny ? 30_000 : 20 * 60_000);
    for (const size of sizes) {
      s.log(`  memory: enrolling up to ${size} hosts`);
      const r = await bulkEnroll({
        tlsHostname: srv.tlsHostname, ca: srv.ready.ca, secret: srv.ready.secret, seed: 'mem', from: have, count: size - have,
        concurrency, deadline,
      });
      have += r.enrolled;
      if (r.failed > 0) s.log(`  memory: ${r.failed} enrolls failed (last: ${r.lastError ?? '?'})`);
      const g = await srv.child.request<Gc>('gc', undefined, 300_000);
      points.push({
        hosts: size, enrolled: have, enrollPerSec: r1(r.perSecond),
        rssMiB: r1(g.memory.rss / MiB), heapUsedMiB: r1(g.memory.heapUsed / MiB),
        rssPerHostBytes: Math.round((g.memory.rss - base.memory.rss) / Math.max(1, have)),
        heapPerHostBytes: Math.round((g.memory.heapUsed - base.memory.heapUsed) / Math.max(1, have)),
        cachedHosts: g.cachedHosts,
      });
      s.log(`  memory: ${have} hosts: RSS ${r1(g.memory.rss / MiB)} MiB, heap ${r1(g.memory.heapUsed / MiB)} MiB`);
      if (Date.now() >= deadline) break;
    }

    const { token } = await srv.child.request<{ token: string }>('token');
    api = new ApiClient(srv.ready.port, srv.ready.ca, token);
    const hostListExists = await routeExists(api, 'GET', '/api/v1/hosts?limit=1');
    const queries: HostListQuery[] = [];
    if (hostListExists) {
      for (const q of QUERIES) {
        const times: number[] = [];
        let status = 0;
        let items: number | null = null;
        for (let i = 0; i < repetitions; i++) {
          const res = await api.call('GET', q.path);
          status = res.status;
          times.push(res.ms);
          const list = (res.json as { items?: unknown[] } | undefined)?.items;
          items = Array.isArray(list) ? list.length : null;
        }
        times.sort((a, b) => a - b);
        queries.push({ name: q.name, path: q.path, status, p50Ms: r1(percentile(times, 0.5)), p99Ms: r1(percentile(times, 0.99)), items });
      }
    }
    const ok = queries.filter((q) => q.status === 200);
    const worst = ok.length > 0 ? Math.max(...ok.map((q) => q.p99Ms)) : null;
    const last = points[points.length - 1];
    const listHosts = have;
    const targetHosts = s.tiny ? sizes[sizes.length - 1] ?? 0 : 100_000;
    return {
      concurrency,
      baseline: { rssMiB: r1(base.memory.rss / MiB), heapUsedMiB: r1(base.memory.heapUsed / MiB) },
      points,
      hostList: { status: hostListExists ? 'measured' : 'missing', hosts: listHosts, repetitions, queries, worstP99Ms: worst },
      verdictMemory: {
        target: '≤ 2 KiB server memory per enrolled host',
        measured: last === undefined ? 'not measured' : `${last.rssPerHostBytes} B RSS / ${last.heapPerHostBytes} B heap per host at ${last.enrolled.toLocaleString('en-US')} hosts`,
        met: last === undefined ? null : last.rssPerHostBytes <= 2048,
        ...(last !== undefined && last.enrolled < targetHosts ? { note: `only ${last.enrolled} of ${targetHosts} hosts enrolled within the time limit` } : {}),
      },
      verdictHostList: {
        target: 'host list p99 < 200 ms at 100k hosts',
        measured: !hostListExists ? 'missing: GET /api/v1/hosts is not implemented yet' : worst === null ? 'no successful answer' : `worst p99 ${worst} ms over ${queries.length} filtered queries at ${listHosts.toLocaleString('en-US')} hosts`,
        met: !hostListExists || worst === null ? null : worst < 200 && listHosts >= targetHosts,
      },
    };
  } finally {
    api?.close();
    await release();
  }
}
