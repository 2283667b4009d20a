/**
 * The live summary the simulator prints every few seconds, and its final form: one status line,
 * then one row per endpoint that saw traffic (requests/s, p50/p99 in ms, errors).
 *
 *   [   35s] hosts 9 981/10 000 started (9 981 enrolled, 0 resumed, 0 enroll failures) | 2 205 req/s | errors 0 (0.00%) | in flight 12 | lag p99 3 ms | cpu 61%
 *     endpoint            req/s   p50 ms   p99 ms   errors
 *     distributed/read   1000.2     0.91     3.10        0
 */
import { Histogram } from './histogram.js';
import type { FleetSnapshot } from './fleet.js';
import { ENDPOINTS, type EndpointData } from './stats.js';

function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function ms(n: number): string {
  if (!Number.isFinite(n)) return '-';
  return n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0);
}

export function percentiles(d: EndpointData): { p50: number; p99: number } {
  const h = Histogram.from(d.latency);
  return { p50: h.percentile(0.5), p99: h.percentile(0.99) };
}

/** The header line pattern tests (and people's scripts) can rely on. */
export const SUMMARY_LINE = /^\[\s*\d+s\] hosts [\d,]+\/[\d,]+ started \([\d,]+ enrolled, [\d,]+ resumed, [\d,]+ enroll failures\) \| [\d,]+ req\/s \| errors [\d,]+ \(\d+\.\d\d%\) \| in flight [\d,]+ \| lag p99 \S+ ms \| cpu \d+%$/;
export const ENDPOINT_HEADER = '  endpoint              req/s    p50 ms    p99 ms    errors';

export function formatSummary(s: FleetSnapshot, opts: { final?: boolean } = {}): string {
  const h = s.hosts;
  const final = opts.final === true;
  let requests = s.requests;
  let errors = s.errors;
  if (final) {
    requests = 0;
    errors = 0;
    for (const e of ENDPOINTS) {
      requests += s.totals[e].requests;
      errors += s.totals[e].errors + s.totals[e].transport;
    }
  }
  const rps = final ? requests / Math.max(0.001, s.elapsedMs / 1000) : s.rps;
  const errPct = requests === 0 ? 0 : (errors / requests) * 100;
  const lag = Histogram.from(s.lag).percentile(0.99);
  const head =
    `[${String(Math.round(s.elapsedMs / 1000)).padStart(5)}s] hosts ${int(h.started)}/${int(h.target)} started ` +
    `(${int(h.enrolled)} enrolled, ${int(h.resumed)} resumed, ${int(h.enrollFailures)} enroll failures) | ` +
    `${int(rps)} req/s | errors ${int(errors)} (${errPct.toFixed(2)}%) | in flight ${int(s.inflight)} | ` +
    `lag p99 ${Number.isFinite(lag) ? ms(lag) : '-'} ms | cpu ${Math.round(s.cpuPercent)}%`;
  const lines = [head, ENDPOINT_HEADER];
  const table = final ? s.totals : s.endpoints;
  const seconds = final ? Math.max(0.001, s.elapsedMs / 1000) : s.intervalMs / 1000;
  for (const e of ENDPOINTS) {
    const d = table[e];
    if (d.requests === 0) continue;
    const p = percentiles(d);
    lines.push(
      `  ${e.padEnd(18)} ${(d.requests / seconds).toFixed(1).padStart(9)} ${ms(p.p50).padStart(9)} ${ms(p.p99).padStart(9)} ${int(d.errors + d.transport).padStart(9)}`,
    );
  }
  const a = s.answers;
  const answered = a.live.answer + a.live.empty + a.live.fail + a.label.answer + a.label.empty + a.label.fail + a.detail.answer + a.detail.empty + a.detail.fail;
  if (answered > 0) {
    lines.push(
      `  answers: live ${a.live.answer}/${a.live.empty}/${a.live.fail}, label ${a.label.answer}/${a.label.empty}/${a.label.fail}, ` +
        `detail ${a.detail.answer}/${a.detail.empty}/${a.detail.fail} (rows/empty/failed)`,
    );
  }
  if (s.warnings.count > 0 && s.warnings.last !== undefined) lines.push(`  warnings: ${s.warnings.count}, last: ${s.warnings.last}`);
  for (const [endpoint, detail] of Object.entries(s.lastErrors)) lines.push(`  last ${endpoint} error: ${detail}`);
  if (final) {
    lines.push(`  total: result lines ${int(s.logLines.result)}, status lines ${int(s.logLines.status)}, carves ${s.carves.ok} ok / ${s.carves.failed} failed`);
  }
  return lines.join('\n');
}
