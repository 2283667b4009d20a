/**
 * Global osquery options an operator may set through the API (served as config `options`,
 * osquery-protocol.md §3.2). Only runtime flags osquery applies from the config are listed, and
 * only ones that cannot cut a host off from Mimir: the TLS endpoints, enrollment, `pack_delimiter`
 * (results are routed by "pack/<pack>/<query>"), plugins and `host_identifier` stay under the
 * server's control. CLI-only flags (config_refresh, carver_*, tls_*) are ignored by osquery when
 * sent in a config anyway (O-opt), so offering them would only mislead. `custom_*` keys are free.
 *
 * Fleet validates agent options against the newest osquery flag list (Fleet §1.12); this list is
 * deliberately narrower: a typo or a risky flag is refused with the list of allowed keys.
 */
export type OptionType = 'integer' | 'boolean' | 'string';

export interface OptionSpec {
  type: OptionType;
  minimum?: number;
  maximum?: number;
  description: string;
}

const WEEK = 604_800;

export const SAFE_OSQUERY_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  distributed_interval: { type: 'integer', minimum: 1, maximum: 86_400, description: 'Seconds between distributed (live query) reads' },
  distributed_tls_max_attempts: { type: 'integer', minimum: 1, maximum: 100, description: 'Attempts per distributed request' },
  distributed_denylist_duration: { type: 'integer', minimum: 0, maximum: WEEK, description: 'Seconds a live query that crashed the worker stays denylisted' },
  logger_tls_period: { type: 'integer', minimum: 1, maximum: 86_400, description: 'Seconds between log flushes' },
  logger_tls_max_lines: { type: 'integer', minimum: 1, maximum: 100_000, description: 'Log lines per request' },
  logger_tls_max_linesize: { type: 'integer', minimum: 1024, maximum: 10 * 1024 * 1024, description: 'Largest log line sent (bytes)' },
  logger_tls_compress: { type: 'boolean', description: 'gzip log requests' },
  logger_min_status: { type: 'integer', minimum: 0, maximum: 3, description: 'Lowest status severity logged (0 INFO … 3 FATAL)' },
  logger_event_type: { type: 'boolean', description: 'Differential results as one line per row (true) or per run (false)' },
  logger_snapshot_event_type: { type: 'boolean', description: 'Snapshot results as one line per row' },
  logger_numerics: { type: 'boolean', description: 'Numeric columns as JSON numbers' },
  buffered_log_max: { type: 'integer', minimum: 0, maximum: 100_000_000, description: 'Log lines buffered while the server is unreachable (0 = unlimited)' },
  schedule_splay_percent: { type: 'integer', minimum: 0, maximum: 100, description: 'Random spread of scheduled intervals (%)' },
  schedule_default_interval: { type: 'integer', minimum: 1, maximum: WEEK, description: 'Interval of scheduled queries that set none (seconds)' },
  schedule_timeout: { type: 'integer', minimum: 0, maximum: WEEK, description: 'Seconds before the scheduler is restarted (0 = never)' },
  schedule_max_drift: { type: 'integer', minimum: 0, maximum: WEEK, description: 'Seconds of drift the scheduler compensates' },
  schedule_lognames: { type: 'boolean', description: 'Log the name of each scheduled query as it runs' },
  pack_refresh_interval: { type: 'integer', minimum: 1, maximum: WEEK, description: 'Seconds between pack discovery re-checks' },
  events_expiry: { type: 'integer', minimum: 1, maximum: WEEK, description: 'Seconds events are kept in the events store' },
  events_max: { type: 'integer', minimum: 1, maximum: 100_000_000, description: 'Events kept per table' },
  disable_events: { type: 'boolean', description: 'Turn off the events framework' },
  disable_tables: { type: 'string', description: 'Comma list of tables to disable' },
  enable_tables: { type: 'string', description: 'Comma list of tables to enable (all others off)' },
  table_delay: { type: 'integer', minimum: 0, maximum: 1000, description: 'Milliseconds to wait between table calls' },
  watchdog_level: { type: 'integer', minimum: -1, maximum: 1, description: 'Watchdog profile: 0 normal, 1 restrictive, -1 off' },
  watchdog_memory_limit: { type: 'integer', minimum: 0, maximum: 1_000_000, description: 'Worker memory limit (MB; 0 = profile default)' },
  watchdog_utilization_limit: { type: 'integer', minimum: 0, maximum: 1_000_000, description: 'Worker CPU limit (0 = profile default)' },
  watchdog_delay: { type: 'integer', minimum: 0, maximum: 86_400, description: 'Seconds after start before the watchdog enforces limits' },
  utc: { type: 'boolean', description: 'Times in UTC' },
  verbose: { type: 'boolean', description: 'Verbose status logs' },
};

export const CUSTOM_OPTION_PREFIX = 'custom_';

export interface OptionProblem {
  path: string;
  message: string;
}

/** Problems with one option; undefined when it may be served. */
export function optionProblem(key: string, value: unknown): OptionProblem | undefined {
  const path = `/options/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
  if (key.startsWith(CUSTOM_OPTION_PREFIX) && /^custom_[a-z0-9_]+$/i.test(key)) {
    if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return undefined;
    return { path, message: 'custom options are strings, numbers or booleans' };
  }
  const spec = SAFE_OSQUERY_OPTIONS[key];
  if (spec === undefined) {
    return { path, message: `"${key}" cannot be set here: allowed are ${Object.keys(SAFE_OSQUERY_OPTIONS).join(', ')} and custom_* keys` };
  }
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : { path, message: 'must be true or false' };
    case 'string':
      return typeof value === 'string' ? undefined : { path, message: 'must be a string' };
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return { path, message: 'must be an integer (sent to osquery as a JSON number)' };
      if ((spec.minimum !== undefined && value < spec.minimum) || (spec.maximum !== undefined && value > spec.maximum)) {
        return { path, message: `must be ${spec.minimum ?? '-∞'}–${spec.maximum ?? '∞'}` };
      }
      return undefined;
    }
  }
}
