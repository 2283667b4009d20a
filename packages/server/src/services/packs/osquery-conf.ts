/**
 * Reading osquery `.conf` pack files exactly as osquery reads them, so a pack that works when
 * dropped into /etc/osquery/packs imports here unchanged (seed 004: "Upload queries from a .conf
 * query pack").
 *
 * osquery's loader (osquery/config/config.cpp `stripConfigComments`, called by `updateSource`):
 *   boost::replace_all(json, "\\\n", "");           // drop every backslash-newline pair
 *   for (auto& line : split(json, "\n")) {          // then, line by line,
 *     trim(line);                                   //   trim surrounding whitespace
 *     if (line starts with "#" or "//") continue;   //   and drop whole-line comments
 *     sink += line + "\n";
 *   }
 * then parses the result as JSON. `osx-attacks.conf` depends on the first step: its long queries
 * continue over lines ending in a backslash (/work/shared/osquery/README.md "Format notes").
 *
 * Field values follow osquery's pack parser (osquery/config/packs.cpp, osquery-protocol.md §3.2):
 * `interval` and `shard` are numbers or numeric strings; `snapshot`, `removed` and `denylist` accept
 * booleans, "true"/"t"/"false"/"f" strings or numbers; platform strings are kept as written.
 */
import { isPlainObject, toBoolean, toInteger } from '@mimir/osquery-protocol';
import type { Issue, PackInput, PackQueryInput } from './pack-rules.js';

export interface ConfWarning {
  query: string | null;
  message: string;
}

export type ParsedConf =
  | { ok: true; pack: Omit<PackInput, 'name'>; warnings: ConfWarning[] }
  | { ok: false; issues: Issue[] };

/** C isspace: what boost::trim removes with the classic locale. */
const SPACE = /^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g;

export function stripConfigComments(text: string): string {
  let sink = '';
  for (const raw of text.replaceAll('\\\n', '').split('\n')) {
    const line = raw.replace(SPACE, '');
    if (line.startsWith('#') || line.startsWith('//')) continue;
    sink += `${line}\n`;
  }
  return sink;
}

const QUERY_KEYS = new Set(['query', 'interval', 'snapshot', 'removed', 'platform', 'version', 'shard', 'denylist', 'blacklist', 'description', 'value']);
const PACK_KEYS = new Set(['queries', 'platform', 'version', 'shard', 'discovery']);

/** A pointer segment (RFC 6901) for query names such as "sadmind/iis_worm". */
function seg(s: string): string {
  return s.replaceAll('~', '~0').replaceAll('/', '~1');
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function mapQuery(name: string, raw: unknown, issues: Issue[], warnings: ConfWarning[]): PackQueryInput | undefined {
  const at = `/conf/queries/${seg(name)}`;
  if (!isPlainObject(raw)) {
    issues.push({ path: at, query: name, message: 'must be an object with at least "query"' });
    return undefined;
  }
  const sql = raw['query'];
  if (typeof sql !== 'string') {
    issues.push({ path: `${at}/query`, query: name, message: '"query" must be a string of SQL' });
    return undefined;
  }
  const q: PackQueryInput = { name, sql };
  if (raw['interval'] !== undefined) {
    const n = toInteger(raw['interval']);
    if (n === undefined) issues.push({ path: `${at}/interval`, query: name, message: '"interval" must be a number or a numeric string' });
    else q.interval = n;
  }
  if (raw['shard'] !== undefined) {
    const n = toInteger(raw['shard']);
    if (n === undefined) issues.push({ path: `${at}/shard`, query: name, message: '"shard" must be a number or a numeric string' });
    else q.shard = n;
  }
  for (const key of ['snapshot', 'removed'] as const) {
    if (raw[key] === undefined) continue;
    const b = toBoolean(raw[key]);
    if (b === undefined) issues.push({ path: `${at}/${key}`, query: name, message: `"${key}" must be true/false, "true"/"false" or a number` });
    else q[key] = b;
  }
  // osquery < 5.0 called denylist "blacklist"; both mean the same (O-packs).
  const deny = raw['denylist'] ?? raw['blacklist'];
  if (deny !== undefined) {
    const b = toBoolean(deny);
    if (b === undefined) issues.push({ path: `${at}/denylist`, query: name, message: '"denylist" must be true/false, "true"/"false" or a number' });
    else q.denylist = b;
  }
  for (const [key, field] of [['platform', 'platform'], ['version', 'minOsqueryVersion'], ['description', 'description'], ['value', 'value']] as const) {
    if (raw[key] === undefined) continue;
    const s = text(raw[key]);
    if (s === undefined) issues.push({ path: `${at}/${key}`, query: name, message: `"${key}" must be a string` });
    else q[field] = s;
  }
  for (const key of Object.keys(raw)) {
    if (!QUERY_KEYS.has(key)) warnings.push({ query: name, message: `"${key}" is not an osquery query option and was ignored` });
  }
  return q;
}

/** Parse an osquery `.conf` pack: `{"queries": {...}, "platform"?, "version"?, "shard"?, "discovery"?}`. */
export function parseOsqueryPackConf(conf: string): ParsedConf {
  let root: unknown;
  try {
    root = JSON.parse(stripConfigComments(conf)) as unknown;
  } catch (err) {
    return { ok: false, issues: [{ path: '/conf', message: `not valid JSON once osquery's comment and line-continuation rules are applied: ${err instanceof Error ? err.message : String(err)}` }] };
  }
  if (!isPlainObject(root)) return { ok: false, issues: [{ path: '/conf', message: 'a pack is a JSON object with a "queries" object' }] };
  let packObj: Record<string, unknown> = root;
  if (!isPlainObject(root['queries'])) {
    // A whole osquery config holding exactly one inline pack is accepted too.
    const packs = isPlainObject(root['packs']) ? Object.values(root['packs']).filter(isPlainObject) : [];
    const only = packs[0];
    if (packs.length === 1 && only !== undefined && isPlainObject(only['queries'])) packObj = only;
    else if (packs.length > 1) return { ok: false, issues: [{ path: '/conf/packs', message: 'this config holds several packs: import them one at a time' }] };
    else return { ok: false, issues: [{ path: '/conf/queries', message: 'a pack needs a "queries" object (query name → {"query", "interval", …})' }] };
  }

  const issues: Issue[] = [];
  const warnings: ConfWarning[] = [];
  const pack: Omit<PackInput, 'name'> = {};
  for (const [key, field] of [['platform', 'platform'], ['version', 'minOsqueryVersion']] as const) {
    if (packObj[key] === undefined) continue;
    const s = text(packObj[key]);
    if (s === undefined) issues.push({ path: `/conf/${key}`, message: `"${key}" must be a string` });
    else pack[field] = s;
  }
  if (packObj['shard'] !== undefined) {
    const n = toInteger(packObj['shard']);
    if (n === undefined) issues.push({ path: '/conf/shard', message: '"shard" must be a number or a numeric string' });
    else {
      // A pack-level shard applies to every host that gets the pack: that is a global deployment share.
      pack.globalShard = n;
      warnings.push({ query: null, message: `the pack's shard (${n}%) is kept as globalShard; it applies once the pack is deployed globally` });
    }
  }
  const discovery = packObj['discovery'];
  if (discovery !== undefined) {
    const list = typeof discovery === 'string' ? [discovery] : discovery;
    if (!Array.isArray(list) || !list.every((d): d is string => typeof d === 'string')) {
      issues.push({ path: '/conf/discovery', message: '"discovery" must be a list of SQL strings' });
    } else {
      pack.discovery = list;
    }
  }
  for (const key of Object.keys(packObj)) {
    if (!PACK_KEYS.has(key)) warnings.push({ query: null, message: `"${key}" is not an osquery pack option and was ignored` });
  }
  const queries: PackQueryInput[] = [];
  for (const [name, raw] of Object.entries(packObj['queries'] as Record<string, unknown>)) {
    const q = mapQuery(name, raw, issues, warnings);
    if (q !== undefined) queries.push(q);
  }
  pack.queries = queries;
  return issues.length > 0 ? { ok: false, issues } : { ok: true, pack, warnings };
}
