/**
 * What a valid pack is, checked in one pass so every finding is reported at once (422 with
 * `details: [{path, message, query?}]`). The limits are osquery's (osquery-protocol.md §3.2) and
 * Elastic's (seed 004); a pack that passes is one osquery will run as written.
 */
import { isReservedQueryName } from '../osquery-config.service.js';
import type { EcsMapping } from '../contracts.js';

/** osquery drops a query whose interval is 0 or over a week (O-packs `initialize`). */
export const INTERVAL_MIN = 1;
export const INTERVAL_MAX = 604_800;
/** `--schedule_default_interval`: what osquery uses when a query has no interval. */
export const DEFAULT_INTERVAL = 3600;
/** Seed 004: "The default and minimum supported value for the Timeout field is 60 … maximum 900". */
export const TIMEOUT_MIN = 60;
export const TIMEOUT_MAX = 900;
export const SHARD_MIN = 1;
export const SHARD_MAX = 100;
const NAME_MAX = 255;
const ECS_MAX_FIELDS = 200;

/**
 * Words osquery's pack platform filter understands (O-packs `checkPlatform`: darwin, linux, posix,
 * windows, freebsd, any/all, and Linux distribution ids); comma lists combine them.
 */
export const PLATFORM_WORDS: ReadonlySet<string> = new Set([
  'any', 'all', 'darwin', 'linux', 'posix', 'windows', 'freebsd',
  'ubuntu', 'debian', 'rhel', 'centos', 'fedora', 'amzn', 'arch', 'gentoo', 'suse', 'opensuse', 'sles',
]);

export interface PackQueryInput {
  name: string;
  sql: string;
  interval?: number | undefined;
  snapshot?: boolean | undefined;
  removed?: boolean | undefined;
  platform?: string | undefined;
  minOsqueryVersion?: string | undefined;
  /** Integer 1–100 or null; typed loosely because request schemas leave it to these rules. */
  shard?: unknown;
  denylist?: boolean | undefined;
  timeout?: number | undefined;
  /** Checked here (value types included): request schemas cannot check it without Ajv coercion. */
  ecsMapping?: Readonly<Record<string, { field?: string | undefined; value?: unknown }>> | undefined;
  description?: string | undefined;
  value?: string | undefined;
}

export interface PackInput {
  name: string;
  description?: string | undefined;
  enabled?: boolean | undefined;
  platform?: string | undefined;
  minOsqueryVersion?: string | undefined;
  discovery?: readonly string[] | undefined;
  global?: boolean | undefined;
  globalShard?: number | undefined;
  targets?: ReadonlyArray<{ groupId: number; shard?: number | undefined }> | undefined;
  queries?: readonly PackQueryInput[] | undefined;
}

export interface PackQueryDraft {
  name: string;
  description: string;
  sql: string;
  interval: number;
  snapshot: boolean;
  removed: boolean;
  platform: string;
  minOsqueryVersion: string;
  shard: number | null;
  denylist: boolean;
  timeout: number;
  ecsMapping: EcsMapping;
  value: string;
}

export interface PackDraft {
  name: string;
  description: string;
  enabled: boolean;
  platform: string;
  minOsqueryVersion: string;
  discovery: string[];
  global: boolean;
  globalShard: number;
  targets: Array<{ groupId: number; shard: number }>;
  queries: PackQueryDraft[];
}

/** One problem with the input: a JSON pointer into the request body and what is wrong. */
export interface Issue {
  path: string;
  message: string;
  /** The query the problem belongs to, when it belongs to one. */
  query?: string;
}

// Control characters would corrupt osquery's log lines and our CSV exports.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const VERSION = /^\d+(\.\d+){0,3}$/;
/** Dotted ECS field names (ecs_flat: `user.name`, `@timestamp`, `event.category`). */
const ECS_FIELD = /^[@a-z_][a-z0-9_@]*(\.[a-z0-9_@]+)*$/i;

function isInt(n: number, min: number, max: number): boolean {
  return Number.isInteger(n) && n >= min && n <= max;
}

/** Problems with a pack name: it becomes `pack/<name>/<query>` in osquery's logs (delimiter "/"). */
export function packNameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'must not be empty';
  if (name.length > NAME_MAX) return `must be at most ${NAME_MAX} characters`;
  if (name.includes('/')) return 'must not contain "/": osquery logs results as pack/<pack>/<query>, so the pack name would be ambiguous';
  if (CONTROL.test(name)) return 'must not contain control characters';
  if (name !== name.trim()) return 'must not start or end with spaces';
  return undefined;
}

/** Problems with a query name inside a pack (osquery accepts any name it does not reserve). */
export function queryNameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'must not be empty';
  if (name.length > NAME_MAX) return `must be at most ${NAME_MAX} characters`;
  if (CONTROL.test(name)) return 'must not contain control characters';
  if (isReservedQueryName(name)) return 'is reserved by osquery (names starting with query., cache., config_views. or ending in epoch/counter are refused)';
  return undefined;
}

export function platformProblem(platform: string): string | undefined {
  if (platform.trim() === '') return undefined;
  const bad = platform.split(',').map((p) => p.trim().toLowerCase()).filter((p) => !PLATFORM_WORDS.has(p));
  if (bad.length > 0) return `unknown platform ${bad.map((b) => JSON.stringify(b)).join(', ')}: use ${[...PLATFORM_WORDS].join(', ')} or a comma list`;
  return undefined;
}

/**
 * The host platform families a platform filter covers, for the SQL validator; undefined = all.
 * Mirrors platformFilterMatches (osquery-protocol platform.ts).
 */
export function platformFamilies(filter: string): string[] | undefined {
  if (filter.trim() === '') return undefined;
  const out = new Set<string>();
  for (const raw of filter.split(',')) {
    const p = raw.trim().toLowerCase();
    if (p === 'any' || p === 'all' || p === '') return undefined;
    if (p === 'posix') ['linux', 'darwin', 'freebsd'].forEach((f) => out.add(f));
    else if (p === 'darwin' || p === 'windows' || p === 'freebsd' || p === 'linux') out.add(p);
    else if (PLATFORM_WORDS.has(p)) out.add('linux');
  }
  return out.size === 0 ? undefined : [...out];
}

const ECS_VALUES_MAX = 100;

function isEcsScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function ecsProblems(mapping: NonNullable<PackQueryInput['ecsMapping']>, path: string, query: string, issues: Issue[]): void {
  const entries = Object.entries(mapping);
  if (entries.length > ECS_MAX_FIELDS) issues.push({ path, query, message: `at most ${ECS_MAX_FIELDS} mapped fields` });
  for (const [key, spec] of entries) {
    const at = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (!ECS_FIELD.test(key)) {
      issues.push({ path: at, query, message: 'is not an ECS field name (dotted, e.g. user.name)' });
      continue;
    }
    // The original row is kept under `osquery` in every mapped document (seed 004).
    if (key === 'osquery' || key.startsWith('osquery.')) {
      issues.push({ path: at, query, message: 'osquery.* holds the original row and cannot be mapped' });
      continue;
    }
    const hasField = spec.field !== undefined;
    const hasValue = spec.value !== undefined;
    if (hasField === hasValue) {
      issues.push({ path: at, query, message: 'needs exactly one of field (an osquery column) or value (a static value)' });
    } else if (hasField && (spec.field ?? '').trim() === '') {
      issues.push({ path: `${at}/field`, query, message: 'must name an osquery column' });
    } else if (hasValue) {
      const v = spec.value;
      const ok = isEcsScalar(v) || (Array.isArray(v) && v.length <= ECS_VALUES_MAX && v.every(isEcsScalar));
      if (!ok) issues.push({ path: `${at}/value`, query, message: `must be a string, number or boolean, or a list of at most ${ECS_VALUES_MAX} of them` });
      else if (v === '' || (Array.isArray(v) && v.length === 0)) issues.push({ path: `${at}/value`, query, message: 'must not be empty' });
    }
  }
}

function checkQuery(q: PackQueryInput, i: number, issues: Issue[]): PackQueryDraft {
  const at = `/queries/${i}`;
  const query = q.name;
  const nameProblem = queryNameProblem(q.name);
  if (nameProblem !== undefined) issues.push({ path: `${at}/name`, query, message: `query name ${nameProblem}` });
  if (q.sql.trim() === '') issues.push({ path: `${at}/sql`, query, message: 'SQL must not be empty' });
  const interval = q.interval ?? DEFAULT_INTERVAL;
  if (!isInt(interval, INTERVAL_MIN, INTERVAL_MAX)) {
    issues.push({ path: `${at}/interval`, query, message: `interval must be ${INTERVAL_MIN}–${INTERVAL_MAX} seconds (osquery drops 0 and anything over a week)` });
  }
  let shard: number | null = null;
  if (typeof q.shard === 'number' && isInt(q.shard, SHARD_MIN, SHARD_MAX)) shard = q.shard;
  else if (q.shard !== null && q.shard !== undefined) issues.push({ path: `${at}/shard`, query, message: 'shard must be 1–100 (percent of hosts) or null' });
  const timeout = q.timeout ?? TIMEOUT_MIN;
  if (!isInt(timeout, TIMEOUT_MIN, TIMEOUT_MAX)) issues.push({ path: `${at}/timeout`, query, message: `timeout must be ${TIMEOUT_MIN}–${TIMEOUT_MAX} seconds` });
  const platform = q.platform ?? '';
  const pp = platformProblem(platform);
  if (pp !== undefined) issues.push({ path: `${at}/platform`, query, message: pp });
  const minOsqueryVersion = (q.minOsqueryVersion ?? '').trim();
  if (minOsqueryVersion !== '' && !VERSION.test(minOsqueryVersion)) issues.push({ path: `${at}/minOsqueryVersion`, query, message: 'must be a version like 5.0.1' });
  const mapping = q.ecsMapping ?? {};
  ecsProblems(mapping, `${at}/ecsMapping`, query, issues);
  // Only returned as a draft when there were no issues, i.e. every value has been checked.
  const ecsMapping = mapping as EcsMapping;
  return {
    name: q.name,
    description: q.description ?? '',
    sql: q.sql,
    interval,
    snapshot: q.snapshot ?? false,
    removed: q.removed ?? true,
    platform,
    minOsqueryVersion,
    shard,
    denylist: q.denylist ?? true,
    timeout,
    ecsMapping,
    value: q.value ?? '',
  };
}

/** Normalize a pack (defaults filled in) and collect every problem with it. */
export function checkPack(input: PackInput): { draft: PackDraft; issues: Issue[] } {
  const issues: Issue[] = [];
  const np = packNameProblem(input.name);
  if (np !== undefined) issues.push({ path: '/name', message: `pack name ${np}` });
  const platform = input.platform ?? '';
  const pp = platformProblem(platform);
  if (pp !== undefined) issues.push({ path: '/platform', message: pp });
  const minOsqueryVersion = (input.minOsqueryVersion ?? '').trim();
  if (minOsqueryVersion !== '' && !VERSION.test(minOsqueryVersion)) issues.push({ path: '/minOsqueryVersion', message: 'must be a version like 5.0.1' });
  const discovery = [...(input.discovery ?? [])];
  discovery.forEach((d, i) => {
    if (d.trim() === '') issues.push({ path: `/discovery/${i}`, message: 'discovery SQL must not be empty' });
  });

  const global = input.global ?? false;
  const globalShard = input.globalShard ?? SHARD_MAX;
  if (!isInt(globalShard, SHARD_MIN, SHARD_MAX)) issues.push({ path: '/globalShard', message: 'globalShard must be 1–100 (percent of hosts)' });
  const targets: PackDraft['targets'] = [];
  const seenGroups = new Set<number>();
  (input.targets ?? []).forEach((t, i) => {
    const shard = t.shard ?? SHARD_MAX;
    if (!isInt(shard, SHARD_MIN, SHARD_MAX)) issues.push({ path: `/targets/${i}/shard`, message: 'shard must be 1–100 (percent of the group\'s hosts)' });
    if (seenGroups.has(t.groupId)) {
      // Seed 004: "you cannot configure the same policy multiple times" (all hosts or a shard, not both).
      issues.push({ path: `/targets/${i}/groupId`, message: `group ${t.groupId} is listed more than once: deploy to a group once, with one shard` });
    }
    seenGroups.add(t.groupId);
    targets.push({ groupId: t.groupId, shard });
  });
  if (global && targets.length > 0) {
    issues.push({ path: '/targets', message: 'a global pack runs in every group: send either global: true (with globalShard) or targets, not both' });
  }

  const queries: PackQueryDraft[] = [];
  const seenNames = new Map<string, number>();
  (input.queries ?? []).forEach((q, i) => {
    const first = seenNames.get(q.name);
    if (first !== undefined) issues.push({ path: `/queries/${i}/name`, query: q.name, message: `query name "${q.name}" is already used by query ${first}` });
    else seenNames.set(q.name, i);
    queries.push(checkQuery(q, i, issues));
  });

  return {
    draft: {
      name: input.name,
      description: input.description ?? '',
      enabled: input.enabled ?? true,
      platform,
      minOsqueryVersion,
      discovery,
      global,
      globalShard,
      targets,
      queries,
    },
    issues,
  };
}
