/**
 * Unit tests of the simulator's pieces: target checks (loopback only), option parsing, answer rates
 * (statistically, bounded), the latency histogram, the timer heap and the summary format.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyQuery, decideAnswer, unitHash, validateRate } from './answers.js';
import { TimerHeap } from './heap.js';
import { Histogram } from './histogram.js';
import { parseCli } from './options.js';
import { newEndpointTable, endpointTableData } from './stats.js';
import { ENDPOINT_HEADER, formatSummary, SUMMARY_LINE } from './summary.js';
import { assertTargetAllowed, isLoopbackHost, parseServerTarget, TargetError } from './target.js';
import type { FleetSnapshot } from './fleet.js';

void describe('target', () => {
  void it('should accept only loopback addresses and localhost names', () => {
    for (const h of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST', 'mimir.localhost']) {
      assert.equal(isLoopbackHost(h), true, h);
    }
    for (const h of ['10.0.0.1', '192.168.1.2', '8.8.8.8', '::2', 'fe80::1', 'example.com', 'localhost.example.com', '128.0.0.1', '::ffff:10.0.0.1', '0.0.0.0']) {
      assert.equal(isLoopbackHost(h), false, h);
    }
  });

  void it('should parse https URLs and host:port, and refuse other schemes and paths', () => {
    assert.deepEqual(parseServerTarget('https://127.0.0.1:8080'), { host: '127.0.0.1', port: 8080, tlsHostname: '127.0.0.1:8080', loopback: true });
    assert.deepEqual(parseServerTarget('[::1]:9000'), { host: '::1', port: 9000, tlsHostname: '[::1]:9000', loopback: true });
    assert.equal(parseServerTarget('https://localhost').port, 443);
    assert.throws(() => parseServerTarget('http://127.0.0.1:8080'), /only https/);
    assert.throws(() => parseServerTarget('https://127.0.0.1:8080/api'), /only https:\/\/host:port/);
    assert.throws(() => parseServerTarget('127.0.0.1:99999'), /bad port/);
  });

  void it('should refuse a non-loopback server unless remote traffic is allowed', () => {
    const remote = parseServerTarget('https://10.1.2.3:8080');
    assert.throws(() => assertTargetAllowed(remote, false), (e: unknown) => e instanceof TargetError && /refusing to send load to 10\.1\.2\.3:8080/.test(e.message));
    assert.doesNotThrow(() => assertTargetAllowed(remote, true));
    assert.doesNotThrow(() => assertTargetAllowed(parseServerTarget('https://127.0.0.1:1'), false));
  });
});

void describe('options', () => {
  void it('should refuse non-loopback servers and report every problem at once', () => {
    const r = parseCli(['--server', 'https://example.com:8080', '--hosts=-3', '--live-fail-rate', '2', '--templates', 'beos']);
    if (r.ok) assert.fail('expected errors');
    assert.ok(r.errors.some((e) => e.includes('refusing to send load to example.com:8080')), r.errors.join('\n'));
    assert.ok(r.errors.some((e) => e.startsWith('--hosts')), r.errors.join('\n'));
    assert.ok(r.errors.some((e) => e.startsWith('--live-fail-rate')), r.errors.join('\n'));
    assert.ok(r.errors.some((e) => e.startsWith('--templates')), r.errors.join('\n'));
  });

  void it('should accept a remote server only with --allow-remote', () => {
    const r = parseCli(['--server', 'https://10.0.0.5:8443', '--allow-remote', '--secret', 's']);
    if (!r.ok) assert.fail(r.errors.join('\n'));
    assert.equal(r.options.target.loopback, false);
  });

  void it('should default to osquery-perf-like settings', () => {
    const r = parseCli([]);
    assert.ok(r.ok);
    const o = r.options;
    assert.deepEqual(o.intervals, { configSec: 60, distributedSec: 10, loggerSec: 10 });
    assert.equal(o.rates.live.fail, 0);
    assert.equal(o.rates.live.empty, 0.2);
    assert.equal(o.target.tlsHostname, '127.0.0.1:8080');
    assert.equal(o.nodeKeyFile, 'data/loadsim/node-keys.json');
    assert.equal(parseCli(['--no-node-key-file']).ok && (parseCli(['--no-node-key-file']) as { options: { nodeKeyFile?: string } }).options.nodeKeyFile, undefined);
  });

  void it('should refuse rates summing past 1', () => {
    const r = parseCli(['--live-fail-rate', '0.7', '--live-empty-rate', '0.5']);
    assert.equal(r.ok, false);
    assert.equal(validateRate('x', { fail: 0.5, empty: 0.5 }), undefined);
  });
});

void describe('answer rates', () => {
  void it('should classify queries by name prefix', () => {
    assert.equal(classifyQuery('mimir_detail_os_version'), 'detail');
    assert.equal(classifyQuery('mimir_label_12'), 'label');
    assert.equal(classifyQuery('live_7_1'), 'live');
  });

  void it('should honour failure and no-result rates over many hosts (within 5 standard deviations)', () => {
    const n = 20_000;
    for (const rate of [{ fail: 0.1, empty: 0.2 }, { fail: 0, empty: 0.5 }, { fail: 0.33, empty: 0 }]) {
      let fail = 0;
      let empty = 0;
      for (let i = 0; i < n; i++) {
        const d = decideAnswer(`loadsim-${i}`, 'live_42', rate);
        if (d === 'fail') fail++;
        else if (d === 'empty') empty++;
      }
      for (const [seen, p] of [[fail, rate.fail], [empty, rate.empty]] as const) {
        const sd = Math.sqrt(n * p * (1 - p));
        assert.ok(Math.abs(seen - n * p) <= 5 * sd + 1, `rate ${p}: ${seen} of ${n}`);
      }
    }
  });

  void it('should answer the same query the same way on the same host', () => {
    const rate = { fail: 0.3, empty: 0.3 };
    for (let i = 0; i < 100; i++) assert.equal(decideAnswer(`h-${i}`, 'q', rate), decideAnswer(`h-${i}`, 'q', rate));
    assert.equal(decideAnswer('h', 'q', { fail: 0, empty: 0 }), 'answer');
    const u = unitHash('anything');
    assert.ok(u >= 0 && u < 1);
  });
});

void describe('histogram', () => {
  void it('should report percentiles within 2% and merge', () => {
    const h = new Histogram();
    for (let i = 1; i <= 1000; i++) h.record(i);
    const p50 = h.percentile(0.5);
    const p99 = h.percentile(0.99);
    assert.ok(Math.abs(p50 - 500) / 500 < 0.025, String(p50));
    assert.ok(Math.abs(p99 - 990) / 990 < 0.025, String(p99));
    const copy = Histogram.from(JSON.parse(JSON.stringify(h.toJSON())) as ReturnType<Histogram['toJSON']>);
    assert.equal(copy.percentile(0.99), p99);
    copy.merge(h);
    assert.equal(copy.count, 2000);
    assert.ok(Number.isNaN(new Histogram().percentile(0.5)));
  });
});

void describe('timer heap', () => {
  void it('should pop in time order', () => {
    const heap = new TimerHeap<{ at: number }>();
    const times = Array.from({ length: 500 }, (_, i) => (i * 7919) % 1000);
    for (const at of times) heap.push({ at });
    const out: number[] = [];
    for (let t = heap.pop(); t !== undefined; t = heap.pop()) out.push(t.at);
    assert.deepEqual(out, [...times].sort((a, b) => a - b));
  });
});

void describe('summary', () => {
  void it('should print a status line and one row per endpoint with traffic', () => {
    const interval = newEndpointTable();
    for (let i = 0; i < 100; i++) interval['distributed/read'].record(1 + i / 100, 'ok');
    interval.log.record(3, 'ok');
    interval.log.record(5, 'error');
    const data = endpointTableData(interval);
    const snap: FleetSnapshot = {
      at: Date.now(), elapsedMs: 35_000, intervalMs: 5_000,
      hosts: { target: 10_000, started: 9_981, enrolled: 9_981, resumed: 0, enrollFailures: 0, withKey: 9_981 },
      requests: 102, rps: 20.4, errors: 1, endpoints: data, totals: data,
      answers: { detail: { answer: 0, empty: 0, fail: 0 }, label: { answer: 0, empty: 0, fail: 0 }, live: { answer: 3, empty: 1, fail: 0 } },
      liveAnswers: {}, logLines: { result: 10, status: 2 }, carves: { ok: 0, failed: 0 },
      lag: new Histogram().toJSON(), inflight: 12, poolWaitMs: 0, cpuPercent: 61.4, rssMiB: 80, connects: 0, resends: 0, timeouts: 0,
      warnings: { count: 0, last: undefined }, lastErrors: { log: 'HTTP 500 {"error":"internal error (request 7)"}' },
    };
    const lines = formatSummary(snap).split('\n');
    assert.match(lines[0] ?? '', SUMMARY_LINE);
    assert.equal(lines[0], '[   35s] hosts 9,981/10,000 started (9,981 enrolled, 0 resumed, 0 enroll failures) | 20 req/s | errors 1 (0.98%) | in flight 12 | lag p99 - ms | cpu 61%');
    assert.equal(lines[1], ENDPOINT_HEADER);
    assert.match(lines[2] ?? '', /^ {2}distributed\/read +20\.0 +1\.\d\d +1\.\d\d +0$/);
    assert.match(lines[3] ?? '', /^ {2}log +0\.4 +\d\.\d\d +\d\.\d\d +1$/);
    assert.match(lines[4] ?? '', /^ {2}answers: live 3\/1\/0/);
    assert.equal(lines[5], '  last log error: HTTP 500 {"error":"internal error (request 7)"}');
    assert.equal(lines.length, 6);
  });
});
