/**
 * The simulator against a real Mimir server started in-process (server test harness: temp SQLite,
 * real HTTPS on 127.0.0.1): node-key reuse across restarts, enrollment spread over the window,
 * answer rates as the server sees them, and the command line (summary format, SIGTERM, refusal of
 * non-loopback targets).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DistributedResult } from '@mimir/osquery-protocol';
import { startServer, type TestServer } from '../../server/test/helper.js';
import { decideAnswer } from './answers.js';
import { defaultFleetOptions, Fleet, type FleetOptions } from './fleet.js';
import { NodeKeyStore } from './keystore.js';
import { ENDPOINT_HEADER, SUMMARY_LINE } from './summary.js';
import { parseServerTarget } from './target.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'packages/loadsim/src/bin/loadsim.ts');

function scratch(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'loadsim-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function fleetFor(srv: TestServer, keyStore: NodeKeyStore, overrides: Partial<FleetOptions>): Fleet {
  const fleet = new Fleet({
    ...defaultFleetOptions(parseServerTarget(`https://${srv.tlsHostname}`), srv.secret, keyStore),
    ca: srv.ca,
    enrollWindowMs: 0,
    intervals: { configSec: 60, distributedSec: 1, loggerSec: 1 },
    pinIntervals: true,
    carvesPerHour: 0,
    ...overrides,
  });
  return fleet;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI; `onStdout` sees output as it arrives (to signal the process mid-run). */
function runCli(args: string[], onStdout?: (text: string, kill: (s: NodeJS.Signals) => void) => void, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=mimir-source', '--import', 'tsx', CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`loadsim did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString('utf8');
      onStdout?.(stdout, (s) => child.kill(s));
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

void describe('loadsim against a real server', () => {
  void it('should reuse saved node keys after a restart instead of enrolling again', async (t) => {
    const srv = await startServer(t);
    const file = join(scratch(t), 'keys.json');
    const server = srv.tlsHostname;

    const first = fleetFor(srv, NodeKeyStore.load(file, server, 'reuse').store, { hosts: 6, seed: 'reuse' });
    first.start();
    await until('6 hosts started', () => first.progress().started === 6);
    await first.stop();
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { keys: Record<string, string>; server: string };
    assert.equal(Object.keys(saved.keys).length, 6);
    assert.equal(saved.server, server);
    assert.equal(await srv.app.store.hosts.count(), 6);

    const loaded = NodeKeyStore.load(file, server, 'reuse');
    assert.equal(loaded.warning, undefined);
    assert.equal(loaded.store.size, 6);
    const second = fleetFor(srv, loaded.store, { hosts: 6, seed: 'reuse' });
    second.start();
    await until('6 hosts resumed', () => second.progress().started === 6);
    // Let each host make a few check-ins on its old key.
    await new Promise((r) => setTimeout(r, 1_500));
    const snap = await second.stop();
    assert.equal(snap.hosts.enrolled, 0, 'no host enrolled again');
    assert.equal(snap.hosts.resumed, 6);
    assert.equal(snap.totals.enroll.requests, 0, 'not a single enroll request');
    assert.ok(snap.totals['distributed/read'].requests >= 6, 'hosts checked in');
    assert.equal(snap.totals['distributed/read'].errors + snap.totals.config.errors, 0, 'the old keys are still valid');
    assert.equal(await srv.app.store.hosts.count(), 6, 'no new hosts on the server');

    // A key file for another server is not used.
    const other = NodeKeyStore.load(file, '127.0.0.1:1', 'reuse');
    assert.equal(other.store.size, 0);
    assert.match(other.warning ?? '', /holds keys for server/);
  });

  void it('should spread enrollment over the window', async (t) => {
    const srv = await startServer(t);
    const enrolledAt: number[] = [];
    const fleet = fleetFor(srv, NodeKeyStore.memory(srv.tlsHostname, 'spread'), { hosts: 12, seed: 'spread', enrollWindowMs: 2_400 });
    const enroll = srv.app.services.enrollment;
    const original = enroll.enroll.bind(enroll);
    // Record when the server receives each enroll (the server's view of the spread).
    enroll.enroll = async (...args: Parameters<typeof original>) => {
      enrolledAt.push(Date.now());
      return original(...args);
    };
    t.after(() => {
      enroll.enroll = original;
    });
    const t0 = Date.now();
    fleet.start();
    await until('12 hosts started', () => fleet.progress().started === 12);
    await fleet.stop();
    assert.equal(enrolledAt.length, 12);
    const offsets = enrolledAt.map((x) => x - t0).sort((a, b) => a - b);
    const span = (offsets[11] ?? 0) - (offsets[0] ?? 0);
    assert.ok(span >= 1_500, `enrollments span ${span} ms: ${offsets.join(', ')}`);
    // Evenly spread: every fifth of the window saw at least one enrollment, none saw more than half.
    for (let k = 0; k < 5; k++) {
      const inSlice = offsets.filter((o) => o >= k * 480 && o < (k + 1) * 480 + 150).length;
      assert.ok(inSlice >= 1 && inSlice <= 6, `slice ${k}: ${inSlice} (${offsets.join(', ')})`);
    }
  });

  void it('should answer live and label queries at the configured failure and no-result rates', async (t) => {
    const srv = await startServer(t);
    const hosts = 80;
    const rates = { live: { fail: 0.25, empty: 0.25 }, label: { fail: 0, empty: 0.5 }, detail: { fail: 0, empty: 0 } };
    const fleet = fleetFor(srv, NodeKeyStore.memory(srv.tlsHostname, 'rates'), { hosts, seed: 'rates', rates });
    const seen = new Map<string, Map<number, DistributedResult>>();
    srv.app.core.distributed.on('result', (hostId, result) => {
      const m = seen.get(result.id) ?? new Map<number, DistributedResult>();
      seen.set(result.id, m);
      m.set(hostId, result);
    });
    fleet.start();
    t.after(() => fleet.stop());
    await until('hosts started', () => fleet.progress().started === hosts);
    // Host ids in this fresh database are 1…hosts (which host got which id does not matter here).
    const ids = Array.from({ length: hosts }, (_, i) => i + 1);
    const now = Date.now();
    await srv.app.core.distributed.enqueue(ids.flatMap((hostId) => [
      { hostId, name: 'live_q1', sql: 'SELECT * FROM osquery_info', source: 'live' },
      { hostId, name: 'mimir_label_linux', sql: 'SELECT 1 FROM os_version', source: 'label' },
    ]), now);
    await until('every host answered both queries', () => (seen.get('live_q1')?.size ?? 0) === hosts && (seen.get('mimir_label_linux')?.size ?? 0) === hosts, 30_000);

    const snap = await fleet.stop();
    const live = [...(seen.get('live_q1')?.values() ?? [])];
    const label = [...(seen.get('mimir_label_linux')?.values() ?? [])];
    const failed = live.filter((r) => r.status !== 0).length;
    const empty = live.filter((r) => r.status === 0 && r.rows.length === 0).length;
    const answered = live.filter((r) => r.rows.length > 0).length;
    assert.equal(failed + empty + answered, hosts);
    // What the fleet decided (deterministic per host and query) is what the server received, in
    // total over the same set of hosts…
    let wantFail = 0;
    let wantEmpty = 0;
    for (let i = 0; i < hosts; i++) {
      const d = decideAnswer(`rates-${i}`, 'live_q1', rates.live);
      if (d === 'fail') wantFail++;
      else if (d === 'empty') wantEmpty++;
    }
    assert.equal(failed, wantFail);
    assert.equal(empty, wantEmpty);
    assert.deepEqual(snap.answers.live, { fail: failed, empty, answer: answered }, 'the fleet counted the same answers');
    // …and within 4 standard deviations of the rates (n = 80, p = 0.25: 20 ± 15.5).
    const sd = Math.sqrt(hosts * 0.25 * 0.75);
    assert.ok(Math.abs(failed - hosts * 0.25) <= 4 * sd, `failed ${failed}`);
    assert.ok(Math.abs(empty - hosts * 0.25) <= 4 * sd, `empty ${empty}`);
    assert.ok(live.filter((r) => r.status !== 0).every((r) => r.message !== ''), 'failures carry a message');
    const members = label.filter((r) => r.rows.length > 0).length;
    assert.ok(label.every((r) => r.status === 0), 'label queries do not fail at rate 0');
    assert.ok(Math.abs(members - hosts / 2) <= 4 * Math.sqrt(hosts * 0.25), `label members ${members}`);
  });

  void it('should print the live summary, stop cleanly on SIGTERM and save node keys', async (t) => {
    const srv = await startServer(t);
    const dir = scratch(t);
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, srv.ca);
    const keyFile = join(dir, 'keys.json');
    let signalled = false;
    const run = await runCli(
      ['--hosts', '4', '--server', `https://${srv.tlsHostname}`, '--secret', srv.secret, '--ca', caFile, '--enroll-window', '0.5',
        '--summary-interval', '0.5', '--distributed-interval', '0.5', '--pin-intervals', '--node-key-file', keyFile, '--carves-per-hour', '0'],
      (out, kill) => {
        // SIGTERM once a summary showed all four hosts started.
        if (!signalled && / hosts 4\/4 started/.test(out)) {
          signalled = true;
          kill('SIGTERM');
        }
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.ok(signalled, run.stdout);
    const lines = run.stdout.split('\n');
    assert.match(lines[0] ?? '', /^loadsim: 4 hosts → https:\/\/127\.0\.0\.1:\d+ over 0\.5 s; intervals config 60 s, distributed 0\.5 s, logs 10 s \(pinned\)/);
    const heads = lines.filter((l) => l.startsWith('['));
    assert.ok(heads.length >= 2, run.stdout);
    for (const h of heads) assert.match(h, SUMMARY_LINE);
    assert.ok(lines.includes(ENDPOINT_HEADER));
    assert.ok(lines.some((l) => /^ {2}distributed\/read +[\d.]+ +[\d.]+ +[\d.]+ +\d+$/.test(l)), run.stdout);
    assert.ok(lines.some((l) => l.startsWith('loadsim: stopping (SIGTERM)')), run.stdout);
    assert.ok(lines.some((l) => l.startsWith('  total: result lines')), run.stdout);
    assert.ok(lines.some((l) => l === `loadsim: stopped cleanly; 4 node keys in ${keyFile}`), run.stdout);
    const saved = JSON.parse(readFileSync(keyFile, 'utf8')) as { keys: Record<string, string> };
    assert.equal(Object.keys(saved.keys).length, 4);
  });

  void it('should refuse a non-loopback server before sending anything', async () => {
    // Other spellings (names, IPv6) are covered by the parser's unit tests; this is the process.
    const run = await runCli(['--hosts', '1', '--server', 'https://10.20.30.40:8080', '--secret', 'x'], undefined, 30_000);
    assert.equal(run.code, 2, `${run.stdout}${run.stderr}`);
    assert.match(run.stderr, /refusing to send load to 10\.20\.30\.40:8080: not a loopback address/);
    assert.match(run.stderr, /--allow-remote/);
    assert.doesNotMatch(run.stdout, /hosts → /, 'no fleet was started');
  });

  void it('should stop by itself after --duration', async (t) => {
    const srv = await startServer(t);
    const dir = scratch(t);
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, srv.ca);
    const started = Date.now();
    const run = await runCli(['--hosts', '2', '--server', `https://${srv.tlsHostname}`, '--secret', srv.secret, '--ca', caFile,
      '--enroll-window', '0', '--duration', '1.5', '--no-node-key-file', '--json', '--summary-interval', '0.5']);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(Date.now() - started < 30_000);
    const json = run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; hosts: { started: number } });
    assert.ok(json.some((j) => j.type === 'summary'));
    assert.equal(json[json.length - 1]?.type, 'final');
    assert.equal(json[json.length - 1]?.hosts.started, 2);
    assert.match(run.stdout, /loadsim: stopping \(--duration 1\.5 s reached\)/);
  });
});
