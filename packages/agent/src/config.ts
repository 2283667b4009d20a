/**
 * The agent's config file (JSON, `<root>/etc/agent.json`, written by `mimir-agent install`). Every
 * problem is reported at once; unknown keys are refused so a typo cannot silently keep a default.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export interface OsqueryIntervals {
  /** `--distributed_interval` seconds. */
  distributedInterval: number;
  /** `--config_refresh` seconds. */
  configRefresh: number;
  /** `--logger_tls_period` seconds. */
  loggerPeriod: number;
}

export interface AgentConfig {
  /** Install root: versioned binaries, `current` links, config, state. */
  root: string;
  /** `https://host[:port]` of the Mimir server. */
  serverUrl: string;
  /** File holding the enroll secret (shared with osqueryd's `--enroll_secret_path`). */
  enrollSecretPath: string;
  /** PEM of the CA to pin: the only roots trusted for the server (agent and osqueryd). */
  caPath: string;
  /** Ed25519 keys trusted for update manifests: raw 32-byte hex/base64, or PEM (SPKI) file paths. */
  updatePublicKeys: string[];
  /** Installer switch for osquery auto-updates (seed 000 troubleshooting (2)). */
  osqueryAutoUpdate: boolean;
  /** Whether the agent updates itself. */
  agentAutoUpdate: boolean;
  /** Check-in / update poll period (seed 000: 4 hours) … */
  pollSeconds: number;
  /** … plus up to this much random jitter. */
  pollJitterSeconds: number;
  /** Client-side stagger: wait a random time up to this before installing a new target (seed 000: 24 h). */
  staggerSeconds: number;
  /** A new build must prove itself within this time or it is rolled back. */
  healthTimeoutSeconds: number;
  /** … by staying up at least this long … */
  healthUptimeSeconds: number;
  /** … while the agent checks in this often to see the server report the new version. */
  healthPollSeconds: number;
  /** Refuse manifests signed longer ago than this (0 = no limit). */
  maxManifestAgeDays: number;
  /** osqueryd restart backoff: first delay and cap (doubles per quick exit). */
  restartBackoffMs: number;
  restartBackoffMaxMs: number;
  /** Override the hardware UUID (when DMI is unreadable, e.g. in containers); "" = detect. */
  hardwareUuid: string;
  osquery: OsqueryIntervals;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export const DEFAULTS: Omit<AgentConfig, 'root' | 'serverUrl' | 'enrollSecretPath' | 'caPath' | 'updatePublicKeys'> = {
  osqueryAutoUpdate: true,
  agentAutoUpdate: true,
  pollSeconds: 4 * 3600,
  pollJitterSeconds: 30 * 60,
  staggerSeconds: 24 * 3600,
  healthTimeoutSeconds: 300,
  healthUptimeSeconds: 30,
  healthPollSeconds: 10,
  maxManifestAgeDays: 365,
  restartBackoffMs: 1000,
  restartBackoffMaxMs: 60_000,
  hardwareUuid: '',
  osquery: { distributedInterval: 60, configRefresh: 300, loggerPeriod: 10 },
  logLevel: 'info',
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid agent config:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validate a parsed config object (defaults filled in); throws ConfigError listing every problem. */
export function parseConfig(raw: unknown): AgentConfig {
  const problems: string[] = [];
  if (!isObj(raw)) throw new ConfigError(['the config must be a JSON object']);
  const known = new Set([...Object.keys(DEFAULTS), 'root', 'serverUrl', 'enrollSecretPath', 'caPath', 'updatePublicKeys']);
  for (const k of Object.keys(raw)) if (!known.has(k)) problems.push(`${k}: unknown key`);

  const str = (k: string, required: boolean): string => {
    const v = raw[k];
    if (v === undefined && !required) return '';
    if (typeof v !== 'string' || (required && v.trim() === '')) {
      problems.push(`${k}: must be a non-empty string`);
      return '';
    }
    return v;
  };
  const path = (k: string): string => {
    const v = str(k, true);
    if (v !== '' && !isAbsolute(v)) problems.push(`${k}: must be an absolute path`);
    return v;
  };
  const num = (k: string, def: number, min: number, where: Obj = raw, prefix = ''): number => {
    const v = where[k];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
      problems.push(`${prefix}${k}: must be a number ≥ ${min}`);
      return def;
    }
    return v;
  };
  const bool = (k: string, def: boolean): boolean => {
    const v = raw[k];
    if (v === undefined) return def;
    if (typeof v !== 'boolean') {
      problems.push(`${k}: must be true or false`);
      return def;
    }
    return v;
  };

  const root = path('root');
  const serverUrl = str('serverUrl', true);
  if (serverUrl !== '') {
    let u: URL | undefined;
    try {
      u = new URL(serverUrl);
    } catch {
      problems.push('serverUrl: not a URL');
    }
    if (u !== undefined && (u.protocol !== 'https:' || u.pathname !== '/' || u.search !== '' || u.username !== '')) {
      problems.push('serverUrl: must be https://host[:port] (osquery speaks TLS only, with no path)');
    }
  }
  const keys = raw['updatePublicKeys'];
  let updatePublicKeys: string[] = [];
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k): k is string => typeof k === 'string' && k.trim() !== '')) {
    problems.push('updatePublicKeys: must be a non-empty list of Ed25519 public keys (hex, base64 or PEM file paths)');
  } else updatePublicKeys = keys;

  let osquery = DEFAULTS.osquery;
  const oq = raw['osquery'];
  if (oq !== undefined) {
    if (!isObj(oq)) problems.push('osquery: must be an object');
    else {
      for (const k of Object.keys(oq)) if (!(k in DEFAULTS.osquery)) problems.push(`osquery.${k}: unknown key`);
      osquery = {
        distributedInterval: num('distributedInterval', DEFAULTS.osquery.distributedInterval, 1, oq, 'osquery.'),
        configRefresh: num('configRefresh', DEFAULTS.osquery.configRefresh, 1, oq, 'osquery.'),
        loggerPeriod: num('loggerPeriod', DEFAULTS.osquery.loggerPeriod, 1, oq, 'osquery.'),
      };
    }
  }
  const level = raw['logLevel'] ?? DEFAULTS.logLevel;
  if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'error') problems.push('logLevel: must be debug, info, warn or error');

  const cfg: AgentConfig = {
    root,
    serverUrl: serverUrl.replace(/\/+$/, ''),
    enrollSecretPath: path('enrollSecretPath'),
    caPath: path('caPath'),
    updatePublicKeys,
    osqueryAutoUpdate: bool('osqueryAutoUpdate', DEFAULTS.osqueryAutoUpdate),
    agentAutoUpdate: bool('agentAutoUpdate', DEFAULTS.agentAutoUpdate),
    pollSeconds: num('pollSeconds', DEFAULTS.pollSeconds, 0.1),
    pollJitterSeconds: num('pollJitterSeconds', DEFAULTS.pollJitterSeconds, 0),
    staggerSeconds: num('staggerSeconds', DEFAULTS.staggerSeconds, 0),
    healthTimeoutSeconds: num('healthTimeoutSeconds', DEFAULTS.healthTimeoutSeconds, 1),
    healthUptimeSeconds: num('healthUptimeSeconds', DEFAULTS.healthUptimeSeconds, 0),
    healthPollSeconds: num('healthPollSeconds', DEFAULTS.healthPollSeconds, 0.1),
    maxManifestAgeDays: num('maxManifestAgeDays', DEFAULTS.maxManifestAgeDays, 0),
    restartBackoffMs: num('restartBackoffMs', DEFAULTS.restartBackoffMs, 10),
    restartBackoffMaxMs: num('restartBackoffMaxMs', DEFAULTS.restartBackoffMaxMs, 10),
    hardwareUuid: str('hardwareUuid', false),
    osquery,
    logLevel: level as AgentConfig['logLevel'],
  };
  if (cfg.healthUptimeSeconds >= cfg.healthTimeoutSeconds) problems.push('healthUptimeSeconds: must be below healthTimeoutSeconds');
  if (problems.length > 0) throw new ConfigError(problems);
  return cfg;
}

export function loadConfig(file: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([`${file}: cannot read (${e instanceof Error ? e.message : String(e)})`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError([`${file}: not JSON (${e instanceof Error ? e.message : String(e)})`]);
  }
  return parseConfig(raw);
}

/** Where everything lives under the install root (docs/agent.md "Layout"). */
export function layout(root: string) {
  const state = join(root, 'state');
  return {
    root,
    etc: join(root, 'etc'),
    configFile: join(root, 'etc', 'agent.json'),
    flagfile: join(root, 'etc', 'osquery.flags'),
    osqueryDir: join(root, 'osquery'),
    agentDir: join(root, 'agent'),
    state,
    keyFile: join(state, 'agent.key'),
    stateFile: join(state, 'state.json'),
    agentUpdateFile: join(state, 'agent-update.json'),
    downloads: join(state, 'downloads'),
    osqueryDb: join(state, 'osquery.db'),
    osqueryPidfile: join(state, 'osqueryd.pid'),
  };
}
export type Layout = ReturnType<typeof layout>;
