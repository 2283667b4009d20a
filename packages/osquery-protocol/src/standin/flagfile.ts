/**
 * osquery flagfiles (`--flagfile=…`, osquery-protocol.md §8) → OsquerydStandin options.
 * Syntax as gflags reads it: one `--name=value` per line (a single leading `-` works too), blank
 * lines and `#` comments ignored, bare `--flag` = true, `--noflag` = false for boolean flags, values
 * taken verbatim (no quote stripping). Later lines win.
 */
import { readFileSync } from 'node:fs';
import { toInteger } from '../coerce.js';
import type { HostIdentifierMode, OsquerydStandinOptions, StandinEndpoints } from './osqueryd.js';

/** Flags that are booleans in osquery (so `--noflag` and bare `--flag` make sense). */
const BOOLEAN_FLAGS = new Set([
  'logger_tls_compress', 'tls_accept_gzip', 'disable_enrollment', 'disable_reenrollment', 'enroll_always',
  'tls_secret_always', 'disable_distributed', 'disable_carver', 'tls_disable_status_log', 'tls_session_reuse',
  'carver_compression', 'logger_event_type', 'logger_numerics', 'decorations_top_level', 'verbose', 'tls_dump',
  'disable_database', 'ephemeral', 'disable_watchdog', 'tls_node_api', 'config_enable_backup', 'disable_events',
]);

export interface ParsedFlagfile {
  /** name → value (last occurrence wins), in first-seen order. */
  flags: Map<string, string>;
  warnings: string[];
}

/** Parse flagfile text into raw flag values. */
export function parseFlagfile(text: string): ParsedFlagfile {
  const flags = new Map<string, string>();
  const warnings: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^--?([A-Za-z0-9_]+)(?:=(.*))?$/.exec(line);
    if (!m?.[1]) {
      warnings.push(`line ${i + 1}: not a flag: ${JSON.stringify(line)}`);
      return;
    }
    let name = m[1];
    let value = m[2];
    if (value === undefined) {
      if (name.startsWith('no') && BOOLEAN_FLAGS.has(name.slice(2)) && !BOOLEAN_FLAGS.has(name)) {
        name = name.slice(2);
        value = 'false';
      } else {
        value = 'true';
      }
    }
    flags.set(name, value);
  });
  return { flags, warnings };
}

/** gflags boolean spellings. */
export function flagBoolean(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const s = v.trim().toLowerCase();
  if (['true', 't', '1', 'yes', 'y'].includes(s)) return true;
  if (['false', 'f', '0', 'no', 'n'].includes(s)) return false;
  return undefined;
}

export interface FlagResolveContext {
  /** Reads files named by flags (CA, secret, client cert/key); default fs.readFileSync(path, 'utf8'). */
  readFile?: (path: string) => string;
  /** Environment for `--enroll_secret_env` (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface FlagfileOptions {
  options: OsquerydStandinOptions;
  /** `--disable_carver=false` with both carver endpoints set. */
  carverEnabled: boolean;
  warnings: string[];
}

const ENDPOINT_FLAGS: ReadonlyArray<[string, keyof StandinEndpoints]> = [
  ['enroll_tls_endpoint', 'enroll'],
  ['config_tls_endpoint', 'config'],
  ['logger_tls_endpoint', 'log'],
  ['distributed_tls_read_endpoint', 'distributedRead'],
  ['distributed_tls_write_endpoint', 'distributedWrite'],
  ['carver_start_endpoint', 'carveBegin'],
  ['carver_continue_endpoint', 'carveBlock'],
];

const HOST_ID_MODES = new Set(['hostname', 'uuid', 'instance', 'ephemeral']);

/**
 * Turn flag values into stand-in options. Missing endpoint flags fall back to Mimir's default paths
 * (real osquery leaves them empty, which disables the plugin); `--host_identifier` defaults to
 * `hostname` as in osquery. Files are read at once.
 */
export function flagsToStandinOptions(flags: ReadonlyMap<string, string>, ctx: FlagResolveContext = {}): FlagfileOptions {
  const readFile = ctx.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const env = ctx.env ?? process.env;
  const warnings: string[] = [];
  const get = (name: string): string | undefined => flags.get(name);
  const bool = (name: string): boolean | undefined => {
    const v = get(name);
    const b = flagBoolean(v);
    if (v !== undefined && b === undefined) warnings.push(`--${name}: not a boolean: ${v}`);
    return b;
  };
  const int = (name: string): number | undefined => {
    const v = get(name);
    if (v === undefined) return undefined;
    const n = toInteger(v);
    if (n === undefined || n < 0) warnings.push(`--${name}: not a non-negative integer: ${v}`);
    return n !== undefined && n >= 0 ? n : undefined;
  };
  const file = (name: string): string | undefined => {
    const path = get(name);
    if (path === undefined || path === '') return undefined;
    try {
      return readFile(path);
    } catch (e) {
      warnings.push(`--${name}: cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  };

  const tlsHostname = get('tls_hostname');
  if (tlsHostname === undefined || tlsHostname === '') throw new Error('flagfile: --tls_hostname is required');
  const options: OsquerydStandinOptions = { tlsHostname };

  const ca = file('tls_server_certs');
  if (ca !== undefined) options.ca = ca;

  // Secret: --enroll_secret_path (trimmed) else --enroll_secret_env (verbatim) else "" (O-enr).
  const secretPath = get('enroll_secret_path');
  const secretEnv = get('enroll_secret_env');
  if (secretPath !== undefined && secretPath !== '') {
    options.enrollSecret = file('enroll_secret_path')?.trim() ?? '';
  } else if (secretEnv !== undefined && secretEnv !== '') {
    options.enrollSecret = env[secretEnv] ?? '';
  } else {
    options.enrollSecret = '';
  }
  const override = get('tls_enroll_override');
  if (override !== undefined && override !== '') options.enrollSecretKey = override;

  const hostId = get('host_identifier') ?? 'hostname';
  if (hostId === 'specified') options.hostIdentifier = { value: get('specified_identifier') ?? '' };
  else if (HOST_ID_MODES.has(hostId)) options.hostIdentifier = hostId as HostIdentifierMode;
  else {
    warnings.push(`--host_identifier: unknown mode ${hostId}, using hostname`);
    options.hostIdentifier = 'hostname';
  }

  const endpoints: Partial<StandinEndpoints> = {};
  for (const [flag, key] of ENDPOINT_FLAGS) {
    const v = get(flag);
    if (v !== undefined && v !== '') {
      if (!v.startsWith('/')) warnings.push(`--${flag} should start with "/": ${v}`);
      endpoints[key] = v;
    }
  }
  if (Object.keys(endpoints).length > 0) options.endpoints = endpoints;

  const cert = file('tls_client_cert');
  const key = file('tls_client_key');
  if (cert !== undefined) options.clientCert = cert;
  if (key !== undefined) options.clientKey = key;

  const bools: ReadonlyArray<[string, 'loggerCompress' | 'acceptGzip' | 'disableEnrollment' | 'disableReenrollment' | 'enrollAlways' | 'tlsSecretAlways' | 'tlsDisableStatusLog' | 'sessionReuse']> = [
    ['logger_tls_compress', 'loggerCompress'],
    ['tls_accept_gzip', 'acceptGzip'],
    ['disable_enrollment', 'disableEnrollment'],
    ['disable_reenrollment', 'disableReenrollment'],
    ['enroll_always', 'enrollAlways'],
    ['tls_secret_always', 'tlsSecretAlways'],
    ['tls_disable_status_log', 'tlsDisableStatusLog'],
    ['tls_session_reuse', 'sessionReuse'],
  ];
  for (const [flag, opt] of bools) {
    const b = bool(flag);
    if (b !== undefined) options[opt] = b;
  }

  const ints: ReadonlyArray<[string, 'enrollMaxAttempts' | 'enrollMaxIntervalSec' | 'configMaxAttempts' | 'distributedMaxAttempts' | 'distributedIntervalSec' | 'configRefreshSec' | 'configAcceleratedRefreshSec' | 'loggerPeriodSec' | 'loggerMaxLines' | 'loggerMaxLinesize' | 'loggerBackoffMaxSec' | 'carverBlockSize']> = [
    ['tls_enroll_max_attempts', 'enrollMaxAttempts'],
    ['tls_enroll_max_interval', 'enrollMaxIntervalSec'],
    ['config_tls_max_attempts', 'configMaxAttempts'],
    ['distributed_tls_max_attempts', 'distributedMaxAttempts'],
    ['distributed_interval', 'distributedIntervalSec'],
    ['config_tls_refresh', 'configRefreshSec'],
    ['config_refresh', 'configRefreshSec'],
    ['config_accelerated_refresh', 'configAcceleratedRefreshSec'],
    ['logger_tls_period', 'loggerPeriodSec'],
    ['logger_tls_max_lines', 'loggerMaxLines'],
    ['logger_tls_max', 'loggerMaxLinesize'],
    ['logger_tls_max_linesize', 'loggerMaxLinesize'],
    ['logger_tls_backoff_max', 'loggerBackoffMaxSec'],
    ['carver_block_size', 'carverBlockSize'],
  ];
  for (const [flag, opt] of ints) {
    const n = int(flag);
    if (n !== undefined) options[opt] = n;
  }

  // Plugins as osquery activates them: config/logger only when "tls" is selected (default
  // "filesystem"); distributed only with --disable_distributed=false (default true) and plugin tls.
  const has = (list: string | undefined, name: string): boolean => (list ?? '').split(',').map((s) => s.trim()).includes(name);
  options.plugins = {
    config: has(get('config_plugin') ?? 'filesystem', 'tls'),
    logger: has(get('logger_plugin') ?? 'filesystem', 'tls'),
    distributed: bool('disable_distributed') === false && (get('distributed_plugin') ?? 'tls') === 'tls',
  };
  const carverEnabled = bool('disable_carver') === false;

  for (const unsupported of ['proxy_hostname', 'tls_node_api', 'flagfile']) {
    if (flags.has(unsupported)) warnings.push(`--${unsupported} is not supported by the stand-in (ignored)`);
  }
  return { options, carverEnabled, warnings };
}

/** Read and resolve a flagfile from disk; `overrides` are applied last (e.g. version, profile, sleep). */
export function loadFlagfile(
  path: string,
  overrides: Partial<OsquerydStandinOptions> = {},
  ctx: FlagResolveContext = {},
): FlagfileOptions & { flags: Map<string, string> } {
  const readFile = ctx.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const parsed = parseFlagfile(readFile(path));
  const resolved = flagsToStandinOptions(parsed.flags, ctx);
  return {
    flags: parsed.flags,
    options: { ...resolved.options, ...overrides },
    carverEnabled: resolved.carverEnabled,
    warnings: [...parsed.warnings, ...resolved.warnings],
  };
}
