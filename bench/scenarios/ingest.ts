/**
 * Scenario 4 — log ingestion in result rows per second. A few enrolled hosts each send result logs
 * back to back over their own connection: osquery's full batches (`--logger_tls_max_lines`-sized,
 * here 512 event lines of one row each, realistic process rows from the host's template). The body
 * is built once per host by the stand-in; each request only changes the `counter`, so every row is
 * new to the server's dedup index. Rows/s counts what the server stored (its row count before and
 * after the window), not what was sent.
 */
import { join } from 'node:path';
import { OSQUERY_ENDPOINTS } from '@mimir/osquery-protocol';
import {
  OsquerydStandin, OsqueryHttpClient, makeHostProfile, resultEventLine, toOsqueryJson, HOST_TEMPLATES, type JsonValue, type LogLine,
} from '@mimir/osquery-protocol/standin';
import { cpuPercent, percentile, r1, sleep, acquireMimir, type BenchSettings, type Verdict } from '../lib/context.js';
import type { Usage } from '../lib/protocol.js';

export interface IngestResult {
  hosts: number;
  linesPerRequest: number;
  windowSec: number;
  requests: number;
  errors: number;
  rowsStored: number;
  rowsPerSec: number;
  requestP50Ms: number;
  requestP99Ms: number;
  serverCpuPercent: number;
  /** Rows per second of server CPU: what one fully used core would store. */
  rowsPerCoreSecond: number | null;
  bodyBytes: number;
  verdict: Verdict;
  profile?: string;
}

const COUNTER_MARK = 987654321;

/** A log body with a placeholder counter, split so each request joins in a fresh counter. */
function bodyParts(host: OsquerydStandin, nodeKey: string, lines: number): string[] {
  const rows = host.profile.processes;
  const unixTime = Math.floor(Date.now() / 1000);
  const data: LogLine[] = [];
  for (let i = 0; i < lines; i++) {
    const base = rows[i % rows.length] ?? {};
    // Distinct rows: a process table snapshot of a busy host (pid, start time vary).
    const row = { ...base, pid: String(10_000 + i), start_time: String(unixTime - i * 7) };
    data.push(resultEventLine({ name: 'pack/bench/processes', hostIdentifier: host.hostIdentifier, unixTime, counter: COUNTER_MARK, version: host.version }, row, 'added'));
  }
  const body = toOsqueryJson(new Map<string, JsonValue>([['data', data], ['log_type', 'result'], ['node_key', nodeKey]]));
  return body.split(`"counter":${COUNTER_MARK}`);
}

export async function ingest(s: BenchSettings): Promise<IngestResult> {
  const hosts = s.tiny ? 4 : 16;
  const linesPerRequest = s.tiny ? 64 : 512;
  const warmupMs = s.tiny ? 500 : 3_000;
  const windowMs = s.tiny ? 2_000 : 20_000;
  const { srv, release } = await acquireMimir(s, 'ingest');
  const clients: OsqueryHttpClient[] = [];
  let profile: string | undefined;
  try {
    const bodies: string[][] = [];
    const keys: string[] = [];
    for (let i = 0; i < hosts; i++) {
      const host = new OsquerydStandin({
        tlsHostname: srv.tlsHostname, ca: srv.ready.ca, enrollSecret: srv.ready.secret,
        profile: makeHostProfile(HOST_TEMPLATES[i % HOST_TEMPLATES.length] ?? 'ubuntu', `ingest-${i}`), sleep: () => Promise.resolve(),
      });
      const e = await host.enroll();
      if (!e.ok) throw new Error(`ingest: enroll failed: ${e.error}`);
      keys.push(e.nodeKey);
      bodies.push(bodyParts(host, e.nodeKey, linesPerRequest));
      await host.close();
      clients.push(new OsqueryHttpClient({ tlsHostname: srv.tlsHostname, ca: srv.ready.ca }));
    }
    const bodyBytes = Buffer.byteLength((bodies[0] ?? []).join(`"counter":1`));
    let stop = false;
    let counter = 1;
    let requests = 0;
    let errors = 0;
    const latencies: number[] = [];
    let measuring = false;
    const loop = async (i: number): Promise<void> => {
      const client = clients[i];
      const parts = bodies[i];
      const key = keys[i];
      if (client === undefined || parts === undefined || key === undefined) return;
      while (!stop) {
        const body = parts.join(`"counter":${counter++}`);
        const started = performance.now();
        try {
          const res = await client.request({ path: OSQUERY_ENDPOINTS.log, body, nodeKey: key });
          const ok = res.status === 200 && res.body.toString('utf8') === '{}';
          if (measuring) {
            requests++;
            if (!ok) errors++;
            latencies.push(performance.now() - started);
          }
        } catch {
          if (measuring) {
            requests++;
            errors++;
          }
        }
      }
    };
    const loops = clients.map((_, i) => loop(i));
    await sleep(warmupMs);
    if (s.profile) await srv.child.request('profile-start');
    const c0 = await srv.child.request<{ results: number }>('counts');
    const u0: Usage = await srv.usage();
    measuring = true;
    const t0 = Date.now();
    await sleep(windowMs);
    measuring = false;
    const u1: Usage = await srv.usage();
    const c1 = await srv.child.request<{ results: number }>('counts');
    const t1 = Date.now();
    if (s.profile) {
      profile = join(s.workDir, 'ingest.cpuprofile');
      await srv.child.request('profile-stop', { file: profile });
    }
    stop = true;
    await Promise.all(loops);
    // The two counts bracket the window (each COUNT(*) itself takes a moment on a large table).
    const seconds = (t1 - t0) / 1000;
    const rowsStored = c1.results - c0.results;
    const rowsPerSec = rowsStored / seconds;
    latencies.sort((a, b) => a - b);
    const result: IngestResult = {
      hosts, linesPerRequest, windowSec: r1(seconds), requests, errors, rowsStored, rowsPerSec: Math.round(rowsPerSec),
      requestP50Ms: r1(percentile(latencies, 0.5)), requestP99Ms: r1(percentile(latencies, 0.99)), serverCpuPercent: r1(cpuPercent(u0, u1)),
      rowsPerCoreSecond: cpuPercent(u0, u1) > 0 ? Math.round(rowsPerSec / (cpuPercent(u0, u1) / 100)) : null, bodyBytes,
      verdict: {
        target: '≥ 200,000 result rows/s ingested',
        measured: `${Math.round(rowsPerSec).toLocaleString('en-US')} rows/s stored`,
        met: rowsPerSec >= 200_000,
      },
    };
    if (profile !== undefined) result.profile = profile;
    return result;
  } finally {
    for (const c of clients) c.close();
    await release();
  }
}
