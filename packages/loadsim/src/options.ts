/**
 * `mimir-loadsim` command-line options: parsed and checked all at once (every problem reported,
 * like the server's config), with osquery-perf's defaults where it has one (fleet.md §3.1).
 */
import { parseArgs } from 'node:util';
import { HOST_TEMPLATES, type HostTemplate } from '@mimir/osquery-protocol/standin';
import { DEFAULT_ANSWER_RATES, DEFAULT_QUERY_PREFIXES, validateRate, type AnswerRates } from './answers.js';
import { DEFAULT_TEMPLATE_MIX, type FleetIntervals, type TemplateWeight } from './fleet.js';
import type { ScheduleSource } from './schedule.js';
import { assertTargetAllowed, parseServerTarget, TargetError, type ServerTarget } from './target.js';

export const DEFAULT_NODE_KEY_FILE = 'data/loadsim/node-keys.json';

export const USAGE = `Usage: npm run loadsim -- [options]

Simulates osquery hosts (the osqueryd stand-in, byte-exact on the wire) against a Mimir server and
prints a live summary. Stops on Ctrl-C / SIGTERM or after --duration.

Target
  --server URL              https://host:port of the server (default https://127.0.0.1:8080)
  --secret TEXT             enroll secret (or --secret-file PATH)
  --ca PATH                 CA bundle the hosts pin, e.g. data/tls/ca.pem (default: system roots)
  --allow-remote            allow a non-loopback server. Off by default: loadsim only sends traffic
                            to 127.0.0.0/8, ::1 or localhost, so a typo cannot load someone else's
                            machine. Use it only for a server you are permitted to load.

Fleet
  --hosts N                 simulated hosts (default 100)
  --enroll-window SEC       host starts spread evenly over this window (default 60)
  --templates MIX           OS mix, e.g. ubuntu=40,rhel=15,macos=30,windows=15 (the default)
  --seed TEXT               identity seed: host i is "<seed>-<i>" (default loadsim)
  --osquery-version V       version the hosts report and behave as (default 5.23.1)
  --node-key-file PATH      keep node keys here and reuse them on restart
                            (default ${DEFAULT_NODE_KEY_FILE}); --no-node-key-file to keep none
  --connections N           0 = one kept-alive connection per host, like osquery (default);
                            N = hosts share N connections (needed above ~19k hosts: 20k fds/process)

Intervals (osquery flags; the server's config may change them, as on real hosts)
  --config-interval SEC     config poll, --config_refresh (default 60)
  --distributed-interval SEC  distributed/read poll, --distributed_interval (default 10)
  --logger-interval SEC     log flush, --logger_tls_period (default 10)
  --pin-intervals           ignore interval options from the server's config

Answers and content
  --live-fail-rate P        live queries that fail (default 0)
  --live-empty-rate P       live queries with no rows (default 0.2)
  --label-fail-rate P       label queries that fail (default 0)
  --label-empty-rate P      label queries with no rows, i.e. not a member (default 0.5)
  --detail-fail-rate P      detail (vitals) queries that fail (default 0)
  --detail-empty-rate P     detail queries with no rows (default 0)
  --detail-prefix TEXT      detail query name prefix (default mimir_detail_)
  --label-prefix TEXT       label query name prefix (default mimir_label_)
  --schedule WHICH          scheduled results from: builtin, config, both (default both)
  --no-status-logs          do not send status log lines
  --compress                gzip log bodies (--logger_tls_compress)
  --carves-per-hour N       fleet-wide file carves per hour (default 1; 0 = none)
  --carve-size BYTES        bytes per carve (default 65536)

Run
  --duration SEC            stop after this long (default 0 = until Ctrl-C / SIGTERM)
  --summary-interval SEC    live summary period (default 5)
  --json                    print each summary as one JSON line instead of the table
  --max-inflight N          cap on host tasks in flight (default 20000)
  --help                    this text
`;

export interface CliOptions {
  target: ServerTarget;
  allowRemote: boolean;
  secret: string | undefined;
  secretFile: string | undefined;
  caPath: string | undefined;
  hosts: number;
  enrollWindowSec: number;
  templates: TemplateWeight[];
  seed: string;
  osqueryVersion: string | undefined;
  nodeKeyFile: string | undefined;
  connections: number;
  intervals: FleetIntervals;
  pinIntervals: boolean;
  rates: AnswerRates;
  prefixes: { detail: string; label: string };
  schedule: ScheduleSource;
  statusLogs: boolean;
  compress: boolean;
  carvesPerHour: number;
  carveBytes: number;
  durationSec: number;
  summaryIntervalSec: number;
  json: boolean;
  maxInflight: number;
  help: boolean;
}

export type ParsedCli = { ok: true; options: CliOptions } | { ok: false; errors: string[] };

const SPEC = {
  server: { type: 'string' },
  secret: { type: 'string' },
  'secret-file': { type: 'string' },
  ca: { type: 'string' },
  'allow-remote': { type: 'boolean' },
  hosts: { type: 'string' },
  'enroll-window': { type: 'string' },
  templates: { type: 'string' },
  seed: { type: 'string' },
  'osquery-version': { type: 'string' },
  'node-key-file': { type: 'string' },
  'no-node-key-file': { type: 'boolean' },
  connections: { type: 'string' },
  'config-interval': { type: 'string' },
  'distributed-interval': { type: 'string' },
  'logger-interval': { type: 'string' },
  'pin-intervals': { type: 'boolean' },
  'live-fail-rate': { type: 'string' },
  'live-empty-rate': { type: 'string' },
  'label-fail-rate': { type: 'string' },
  'label-empty-rate': { type: 'string' },
  'detail-fail-rate': { type: 'string' },
  'detail-empty-rate': { type: 'string' },
  'detail-prefix': { type: 'string' },
  'label-prefix': { type: 'string' },
  schedule: { type: 'string' },
  'no-status-logs': { type: 'boolean' },
  compress: { type: 'boolean' },
  'carves-per-hour': { type: 'string' },
  'carve-size': { type: 'string' },
  duration: { type: 'string' },
  'summary-interval': { type: 'string' },
  json: { type: 'boolean' },
  'max-inflight': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseTemplates(text: string): TemplateWeight[] | string {
  const out: TemplateWeight[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const m = /^([a-z]+)(?:[=:](\d+(?:\.\d+)?))?$/.exec(part);
    const name = m?.[1];
    if (name === undefined || !(HOST_TEMPLATES as readonly string[]).includes(name)) {
      return `--templates: unknown template ${JSON.stringify(part)} (known: ${HOST_TEMPLATES.join(', ')})`;
    }
    out.push({ template: name as HostTemplate, weight: m?.[2] !== undefined ? Number(m[2]) : 1 });
  }
  if (out.length === 0 || out.every((t) => t.weight <= 0)) return '--templates: give at least one template with a positive weight';
  return out;
}

export function parseCli(argv: readonly string[]): ParsedCli {
  let values: ReturnType<typeof parseArgs<{ options: typeof SPEC; strict: true; allowPositionals: false }>>['values'];
  try {
    values = parseArgs({ args: [...argv], options: SPEC, strict: true, allowPositionals: false }).values;
  } catch (e) {
    return { ok: false, errors: [e instanceof Error ? e.message : String(e)] };
  }
  const errors: string[] = [];
  const num = (name: keyof typeof SPEC, def: number, check: { min?: number; max?: number; integer?: boolean } = {}): number => {
    const raw = values[name];
    if (raw === undefined || typeof raw === 'boolean') return def;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) {
      errors.push(`--${name}: not a number: ${JSON.stringify(raw)}`);
      return def;
    }
    if (check.integer === true && !Number.isInteger(n)) errors.push(`--${name}: must be a whole number (got ${raw})`);
    if (check.min !== undefined && n < check.min) errors.push(`--${name}: must be at least ${check.min} (got ${raw})`);
    if (check.max !== undefined && n > check.max) errors.push(`--${name}: must be at most ${check.max} (got ${raw})`);
    return n;
  };
  const rate = (name: keyof typeof SPEC, def: number): number => num(name, def, { min: 0, max: 1 });

  let target: ServerTarget = parseServerTarget('https://127.0.0.1:8080');
  const allowRemote = values['allow-remote'] === true;
  try {
    target = parseServerTarget(values.server ?? 'https://127.0.0.1:8080');
    assertTargetAllowed(target, allowRemote);
  } catch (e) {
    if (!(e instanceof TargetError)) throw e;
    errors.push(e.message);
  }

  let templates = [...DEFAULT_TEMPLATE_MIX];
  if (values.templates !== undefined) {
    const t = parseTemplates(values.templates);
    if (typeof t === 'string') errors.push(t);
    else templates = t;
  }
  const schedule = values.schedule ?? 'both';
  if (schedule !== 'both' && schedule !== 'builtin' && schedule !== 'config') errors.push(`--schedule: one of builtin, config, both (got ${schedule})`);
  if (values.secret !== undefined && values['secret-file'] !== undefined) errors.push('give --secret or --secret-file, not both');
  if (values['node-key-file'] !== undefined && values['no-node-key-file'] === true) errors.push('give --node-key-file or --no-node-key-file, not both');

  const rates: AnswerRates = {
    live: { fail: rate('live-fail-rate', DEFAULT_ANSWER_RATES.live.fail), empty: rate('live-empty-rate', DEFAULT_ANSWER_RATES.live.empty) },
    label: { fail: rate('label-fail-rate', DEFAULT_ANSWER_RATES.label.fail), empty: rate('label-empty-rate', DEFAULT_ANSWER_RATES.label.empty) },
    detail: { fail: rate('detail-fail-rate', DEFAULT_ANSWER_RATES.detail.fail), empty: rate('detail-empty-rate', DEFAULT_ANSWER_RATES.detail.empty) },
  };
  for (const k of ['live', 'label', 'detail'] as const) {
    const problem = validateRate(k, rates[k]);
    if (problem !== undefined) errors.push(problem);
  }

  const options: CliOptions = {
    target,
    allowRemote,
    secret: values.secret,
    secretFile: values['secret-file'],
    caPath: values.ca,
    hosts: num('hosts', 100, { min: 0, max: 1_000_000, integer: true }),
    enrollWindowSec: num('enroll-window', 60, { min: 0, max: 86_400 }),
    templates,
    seed: values.seed ?? 'loadsim',
    osqueryVersion: values['osquery-version'],
    nodeKeyFile: values['no-node-key-file'] === true ? undefined : (values['node-key-file'] ?? DEFAULT_NODE_KEY_FILE),
    connections: num('connections', 0, { min: 0, max: 100_000, integer: true }),
    intervals: {
      configSec: num('config-interval', 60, { min: 0.1, max: 86_400 }),
      distributedSec: num('distributed-interval', 10, { min: 0.1, max: 86_400 }),
      loggerSec: num('logger-interval', 10, { min: 0.1, max: 86_400 }),
    },
    pinIntervals: values['pin-intervals'] === true,
    rates,
    prefixes: {
      detail: values['detail-prefix'] ?? DEFAULT_QUERY_PREFIXES.detail,
      label: values['label-prefix'] ?? DEFAULT_QUERY_PREFIXES.label,
    },
    schedule: schedule === 'builtin' || schedule === 'config' ? schedule : 'both',
    statusLogs: values['no-status-logs'] !== true,
    compress: values.compress === true,
    carvesPerHour: num('carves-per-hour', 1, { min: 0, max: 1_000_000 }),
    carveBytes: num('carve-size', 65_536, { min: 1, max: 64 * 1024 * 1024, integer: true }),
    durationSec: num('duration', 0, { min: 0, max: 30 * 86_400 }),
    summaryIntervalSec: num('summary-interval', 5, { min: 0.2, max: 3600 }),
    json: values.json === true,
    maxInflight: num('max-inflight', 20_000, { min: 1, max: 1_000_000, integer: true }),
    help: values.help === true,
  };
  if (options.seed === '' || /\s/.test(options.seed) || options.seed.includes('\u0000')) errors.push('--seed: a non-empty word');
  return errors.length > 0 ? { ok: false, errors } : { ok: true, options };
}
