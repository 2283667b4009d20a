#!/usr/bin/env node
/**
 * `npm run loadsim -- --hosts 10000 --server https://127.0.0.1:8080 --secret … --ca data/tls/ca.pem`
 *
 * Runs a simulated fleet until Ctrl-C, SIGTERM or --duration, printing a summary every few seconds.
 * When started with an IPC channel (the benchmark forks it), it also sends each snapshot as a
 * message and accepts `{type: "grow", hosts, windowSec}` and `{type: "stop"}`.
 */
import { readFileSync } from 'node:fs';
import { defaultFleetOptions, Fleet, type FleetOptions, type FleetSnapshot } from '../fleet.js';
import { NodeKeyStore } from '../keystore.js';
import { parseCli, USAGE } from '../options.js';
import { ENDPOINTS } from '../stats.js';
import { formatSummary, percentiles } from '../summary.js';

/** Messages a parent process may send over IPC. */
type ControlMessage = { type: 'grow'; hosts: number; windowSec?: number } | { type: 'stop' };

function isControl(m: unknown): m is ControlMessage {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  return t === 'stop' || (t === 'grow' && typeof (m as { hosts?: unknown }).hosts === 'number');
}

/** One JSON line per summary: per-endpoint rates and percentiles, no raw histograms. */
function jsonLine(s: FleetSnapshot, final: boolean): string {
  const table = final ? s.totals : s.endpoints;
  const seconds = final ? Math.max(0.001, s.elapsedMs / 1000) : s.intervalMs / 1000;
  const endpoints: Record<string, { rps: number; p50: number | null; p99: number | null; errors: number }> = {};
  for (const e of ENDPOINTS) {
    const d = table[e];
    if (d.requests === 0) continue;
    const p = percentiles(d);
    endpoints[e] = {
      rps: Math.round((d.requests / seconds) * 10) / 10,
      p50: Number.isFinite(p.p50) ? Math.round(p.p50 * 100) / 100 : null,
      p99: Number.isFinite(p.p99) ? Math.round(p.p99 * 100) / 100 : null,
      errors: d.errors + d.transport,
    };
  }
  let requests = 0;
  let errors = 0;
  for (const e of ENDPOINTS) {
    requests += table[e].requests;
    errors += table[e].errors + table[e].transport;
  }
  return JSON.stringify({
    type: final ? 'final' : 'summary', elapsedSec: Math.round(s.elapsedMs / 1000), hosts: s.hosts, rps: Math.round(requests / seconds),
    errors, inflight: s.inflight, cpuPercent: Math.round(s.cpuPercent), endpoints, answers: s.answers,
    logLines: s.logLines, carves: s.carves, warnings: s.warnings, lastErrors: s.lastErrors,
  });
}

function main(): void {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const parsed = parseCli(argv);
  if (!parsed.ok) {
    for (const e of parsed.errors) process.stderr.write(`loadsim: ${e}\n`);
    process.stderr.write('loadsim: see --help\n');
    process.exitCode = 2;
    return;
  }
  const o = parsed.options;
  let secret = o.secret;
  let ca: string | undefined;
  try {
    if (o.secretFile !== undefined) secret = readFileSync(o.secretFile, 'utf8').trim();
    if (o.caPath !== undefined) ca = readFileSync(o.caPath, 'utf8');
  } catch (e) {
    process.stderr.write(`loadsim: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
    return;
  }
  if (secret === undefined || secret === '') {
    process.stderr.write('loadsim: an enroll secret is required (--secret or --secret-file; `npm run mimir -- flagfile` prints it)\n');
    process.exitCode = 2;
    return;
  }
  let keyStore = NodeKeyStore.memory(o.target.tlsHostname, o.seed);
  if (o.nodeKeyFile !== undefined) {
    const loaded = NodeKeyStore.load(o.nodeKeyFile, o.target.tlsHostname, o.seed);
    keyStore = loaded.store;
    if (loaded.warning !== undefined) process.stderr.write(`loadsim: ${loaded.warning}\n`);
  }
  const fo: FleetOptions = {
    ...defaultFleetOptions(o.target, secret, keyStore),
    hosts: o.hosts,
    seed: o.seed,
    templates: o.templates,
    enrollWindowMs: o.enrollWindowSec * 1000,
    intervals: o.intervals,
    pinIntervals: o.pinIntervals,
    rates: o.rates,
    prefixes: o.prefixes,
    carvesPerHour: o.carvesPerHour,
    carveBytes: o.carveBytes,
    connections: o.connections,
    schedule: o.schedule,
    statusLogs: o.statusLogs,
    maxInflight: o.maxInflight,
    loggerCompress: o.compress,
  };
  if (ca !== undefined) fo.ca = ca;
  if (o.osqueryVersion !== undefined) fo.osqueryVersion = o.osqueryVersion;
  const fleet = new Fleet(fo);
  const ipc = typeof process.send === 'function';
  const send = (m: unknown): void => {
    if (ipc && process.connected) process.send?.(m);
  };

  process.stdout.write(
    `loadsim: ${o.hosts} hosts → https://${o.target.tlsHostname} over ${o.enrollWindowSec} s; intervals config ${o.intervals.configSec} s, ` +
      `distributed ${o.intervals.distributedSec} s, logs ${o.intervals.loggerSec} s${o.pinIntervals ? ' (pinned)' : ''}; ` +
      `${o.connections === 0 ? 'one connection per host' : `${o.connections} shared connections`}; ` +
      `node keys: ${o.nodeKeyFile ?? 'not kept'}${keyStore.size > 0 ? ` (${keyStore.size} saved)` : ''}\n`,
  );
  fleet.start();

  const report = (): void => {
    const s = fleet.snapshot();
    process.stdout.write(`${o.json ? jsonLine(s, false) : formatSummary(s)}\n`);
    send({ type: 'summary', snapshot: s });
  };
  const ticker = setInterval(report, o.summaryIntervalSec * 1000);
  let durationTimer: NodeJS.Timeout | undefined;

  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    clearInterval(ticker);
    if (durationTimer !== undefined) clearTimeout(durationTimer);
    process.stdout.write(`loadsim: stopping (${why}); letting in-flight requests finish\n`);
    fleet.stop().then(
      (last) => {
        process.stdout.write(`${o.json ? jsonLine(last, true) : formatSummary(last, { final: true })}\n`);
        process.stdout.write(`loadsim: stopped cleanly${o.nodeKeyFile !== undefined ? `; ${keyStore.size} node keys in ${o.nodeKeyFile}` : ''}\n`);
        send({ type: 'final', snapshot: last });
        if (ipc && process.connected) process.disconnect();
        process.exitCode = 0;
      },
      (e: unknown) => {
        process.stderr.write(`loadsim: error while stopping: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
      },
    ).finally(() => {
      // Everything is closed by now; this only guards against a stray handle keeping us alive.
      setTimeout(() => process.exit(), 2_000).unref();
    });
  };
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`loadsim: second ${signal}: exiting now\n`);
      process.exit(1);
    }
    stop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (o.durationSec > 0) durationTimer = setTimeout(() => stop(`--duration ${o.durationSec} s reached`), o.durationSec * 1000);
  if (ipc) {
    process.on('message', (m: unknown) => {
      if (!isControl(m)) return;
      if (m.type === 'stop') stop('asked to stop');
      else fleet.addHosts(m.hosts, (m.windowSec ?? 0) * 1000);
    });
    // The parent went away: stop rather than load the server forever.
    process.on('disconnect', () => stop('parent disconnected'));
  }
}

main();
