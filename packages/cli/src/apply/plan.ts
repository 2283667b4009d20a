/**
 * `apply`: compare the file with the server and build an ordered list of changes.
 *
 * Rules (docs/cli.md "apply"):
 * - objects are matched by name; fields the file gives are made so, fields it omits are left as
 *   they are (so export → apply is a no-op and a short file never resets what it does not mention);
 * - a pack's `queries`, when given, is the pack's whole list (queries it omits are removed);
 * - objects not in the file are left alone, unless `--prune`, and then only for the kinds the file
 *   lists (a `packs:` key, even empty, means "exactly these packs"). Fleet's GitOps deletes
 *   everything not in the file, which users hate (fleet.md §4 item 20);
 * - built-in labels, prebuilt queries and packs, and the default group are never deleted.
 * Everything that can be checked before the first write is (names, types, group references, SQL
 * through POST /queries/validate, osquery option keys): a bad file changes nothing.
 */
import type {
  CreateGroupRequest, CreateLabelRequest, CreatePackRequest, CreateSavedQueryRequest, Group, OsqueryOptionsSettings, Pack, PackQueryInput,
  SqlValidationResult, UpdatePackRequest,
} from '@mimir/api-contract';
import type { ApiClient } from '../core/http.js';
import { CliError, EXIT } from '../core/errors.js';
import type { ConfigSpec, GroupSpec, LabelSpec, PackQuerySpec, PackSpec, QuerySpec } from './apply.schema.js';
import { packQuerySpec, type ServerState } from './state.js';

export type Kind = 'group' | 'label' | 'query' | 'pack' | 'settings';
export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}
export interface Change {
  kind: Kind;
  name: string;
  action: 'create' | 'update' | 'delete';
  fields: FieldChange[];
  /** Performs it; ids of groups created earlier in the same run are looked up then. */
  run: (ids: GroupIds) => Promise<void>;
}
export interface Plan {
  changes: Change[];
  unchanged: number;
}
/** Group name → id, filled as groups are created. */
export type GroupIds = Map<string, number>;

/** Key-order-independent JSON for comparisons. */
export function canon(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canon(o[k])}`).join(',')}}`;
  }
  return v === undefined ? 'null' : JSON.stringify(v);
}
const same = (a: unknown, b: unknown) => canon(a) === canon(b);
const sortedSet = (a: readonly string[] | undefined) => [...(a ?? [])].sort();

/** The fields of `want` that differ from `have`. */
function diff(want: Record<string, unknown>, have: Record<string, unknown>, skip: readonly string[] = ['name']): FieldChange[] {
  const out: FieldChange[] = [];
  for (const [k, v] of Object.entries(want)) {
    if (skip.includes(k) || v === undefined) continue;
    if (!same(v, have[k])) out.push({ field: k, from: have[k], to: v });
  }
  return out;
}

function pick<T extends object>(o: T, fields: readonly FieldChange[]): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f.field] = (o as Record<string, unknown>)[f.field];
  return out as Partial<T>;
}

class Problems {
  readonly list: string[] = [];
  add(m: string): void {
    this.list.push(m);
  }
}

function groupIdOf(ids: GroupIds, name: string): number {
  const id = ids.get(name);
  if (id === undefined) throw new CliError(`group "${name}" does not exist`, EXIT.notFound);
  return id;
}

function packQueryInput(q: PackQuerySpec): PackQueryInput {
  const out: PackQueryInput = { name: q.name, sql: q.sql };
  for (const [k, v] of Object.entries(q)) if (k !== 'name' && k !== 'sql') (out as Record<string, unknown>)[k] = v;
  return out;
}

/** A pack's target list for the API, with group names resolved at run time. */
function targetsInput(spec: PackSpec, ids: GroupIds) {
  return (spec.targets ?? []).map((t) => ({ groupId: groupIdOf(ids, t.group), ...(t.shard !== undefined ? { shard: t.shard } : {}) }));
}

function planGroups(client: ApiClient, want: GroupSpec[], state: ServerState, changes: Change[]): number {
  let unchanged = 0;
  for (const g of want) {
    const have = state.groups.find((x) => x.name === g.name);
    if (have === undefined) {
      changes.push({
        kind: 'group', name: g.name, action: 'create', fields: diff(g, {}),
        run: async (ids) => {
          const body: CreateGroupRequest = { name: g.name, ...(g.description !== undefined ? { description: g.description } : {}), ...(g.options !== undefined ? { options: g.options } : {}) };
          ids.set(g.name, (await client.request<Group>('POST', '/groups', { body })).id);
        },
      });
      continue;
    }
    const fields = diff(g, have);
    if (fields.length === 0) unchanged++;
    else {changes.push({ kind: 'group', name: g.name, action: 'update', fields, run: async () => {
      await client.request('PATCH', `/groups/${have.id}`, { body: pick(g, fields) });
    } });}
  }
  return unchanged;
}

function planLabels(client: ApiClient, want: LabelSpec[], state: ServerState, changes: Change[], problems: Problems): number {
  let unchanged = 0;
  for (const l of want) {
    const have = state.labels.find((x) => x.name === l.name);
    if (have === undefined) {
      changes.push({ kind: 'label', name: l.name, action: 'create', fields: diff(l, {}), run: async () => {
        await client.request('POST', '/labels', { body: l satisfies CreateLabelRequest });
      } });
      continue;
    }
    if (have.type === 'builtin') {
      problems.add(`labels: "${l.name}" is a built-in label (read-only): remove it from the file`);
      continue;
    }
    if (have.type !== l.type) {
      problems.add(`labels: "${l.name}" is ${have.type} on the server, ${l.type} in the file: a label's type cannot change (delete it, or use another name)`);
      continue;
    }
    const wantCmp = { ...l, ...(l.platforms !== undefined ? { platforms: sortedSet(l.platforms) } : {}) };
    const fields = diff(wantCmp, { ...have, platforms: sortedSet(have.platforms) }, ['name', 'type']);
    if (fields.length === 0) unchanged++;
    else {changes.push({ kind: 'label', name: l.name, action: 'update', fields, run: async () => {
      await client.request('PATCH', `/labels/${have.id}`, { body: pick(l, fields) });
    } });}
  }
  return unchanged;
}

function planQueries(client: ApiClient, want: QuerySpec[], state: ServerState, changes: Change[], problems: Problems): number {
  let unchanged = 0;
  for (const q of want) {
    const have = state.queries.find((x) => x.name === q.name);
    if (have === undefined) {
      changes.push({ kind: 'query', name: q.name, action: 'create', fields: diff(q, {}), run: async () => {
        await client.request('POST', '/queries', { body: q satisfies CreateSavedQueryRequest });
      } });
      continue;
    }
    if (have.prebuilt) {
      problems.add(`queries: "${q.name}" is a prebuilt query (read-only): copy it under another name (mimir-cli queries …) and use that name`);
      continue;
    }
    const fields = diff(q, have);
    if (fields.length === 0) unchanged++;
    else {changes.push({ kind: 'query', name: q.name, action: 'update', fields, run: async () => {
      await client.request('PATCH', `/queries/${have.id}`, { body: pick(q, fields) });
    } });}
  }
  return unchanged;
}

/** Field-level changes of a pack's query list (by name; order does not matter). */
function packQueryChanges(want: readonly PackQuerySpec[], have: Pack): FieldChange[] {
  const out: FieldChange[] = [];
  for (const q of want) {
    const cur = have.queries.find((x) => x.name === q.name);
    if (cur === undefined) out.push({ field: `queries.${q.name}`, from: undefined, to: q });
    else for (const f of diff(q, packQuerySpec(cur))) out.push({ ...f, field: `queries.${q.name}.${f.field}` });
  }
  for (const cur of have.queries) if (!want.some((q) => q.name === cur.name)) out.push({ field: `queries.${cur.name}`, from: packQuerySpec(cur), to: undefined });
  return out;
}

function planPacks(client: ApiClient, want: PackSpec[], state: ServerState, knownGroups: ReadonlySet<string>, changes: Change[], problems: Problems): number {
  let unchanged = 0;
  for (const p of want) {
    for (const t of p.targets ?? []) if (!knownGroups.has(t.group)) problems.add(`packs: "${p.name}" targets group "${t.group}", which is neither on the server nor in the file`);
    const have = state.packs.find((x) => x.name === p.name);
    if (p.prebuilt === true && have?.readOnly !== true) {
      problems.add(`packs: "${p.name}" is marked prebuilt but the server has no prebuilt pack of that name (drop "prebuilt: true" to create it)`);
      continue;
    }
    if (have === undefined) {
      const { queries, targets: _t, prebuilt: _p, ...rest } = p;
      changes.push({ kind: 'pack', name: p.name, action: 'create', fields: diff(p, {}, ['name', 'prebuilt']), run: async (ids) => {
        const body: CreatePackRequest = { ...rest, ...(p.targets !== undefined ? { targets: targetsInput(p, ids) } : {}), ...(queries !== undefined ? { queries: queries.map(packQueryInput) } : {}) };
        await client.request('POST', '/packs', { body });
      } });
      continue;
    }
    if (have.readOnly && p.prebuilt !== true) {
      problems.add(`packs: "${p.name}" is a prebuilt pack: mark it "prebuilt: true" and set only enabled, global, globalShard and targets`);
      continue;
    }
    const { queries, targets, prebuilt: _p, ...top } = p;
    const fields = diff({ ...top, ...(p.discovery !== undefined ? { discovery: p.discovery } : {}) }, have);
    const haveTargets = have.targets.map((t) => ({ group: t.groupName, shard: t.shard })).sort((a, b) => a.group.localeCompare(b.group));
    if (targets !== undefined) {
      const wantTargets = targets.map((t) => ({ group: t.group, shard: t.shard ?? 100 })).sort((a, b) => a.group.localeCompare(b.group));
      if (!same(wantTargets, haveTargets)) fields.push({ field: 'targets', from: haveTargets, to: wantTargets });
    }
    const queryFields = queries !== undefined ? packQueryChanges(queries, have) : [];
    if (fields.length === 0 && queryFields.length === 0) {
      unchanged++;
      continue;
    }
    changes.push({ kind: 'pack', name: p.name, action: 'update', fields: [...fields, ...queryFields], run: async (ids) => {
      const body: UpdatePackRequest = pick(top, fields.filter((f) => f.field !== 'targets'));
      if (fields.some((f) => f.field === 'targets')) body.targets = targetsInput(p, ids);
      if (queryFields.length > 0 && queries !== undefined) {
        // The API takes the whole list; queries keep the fields the file omits (current values merged under the file's).
        body.queries = queries.map((q) => {
          const cur = have.queries.find((x) => x.name === q.name);
          return packQueryInput(cur !== undefined ? { ...packQuerySpec(cur), ...q } : q);
        });
      }
      await client.request('PATCH', `/packs/${have.id}`, { body });
    } });
  }
  return unchanged;
}

function planSettings(client: ApiClient, want: NonNullable<ConfigSpec['settings']>, state: ServerState, changes: Change[], problems: Problems): number {
  let unchanged = 0;
  if (want.osqueryOptions !== undefined) {
    if (state.osqueryOptions === undefined) problems.add('settings.osqueryOptions: your role may not read or change them');
    else if (same(want.osqueryOptions, state.osqueryOptions.options)) unchanged++;
    else if (checkOptions(want.osqueryOptions, state.osqueryOptions.allowed, problems)) {
      const options = want.osqueryOptions;
      changes.push({ kind: 'settings', name: 'osqueryOptions', action: 'update', fields: optionChanges(options, state.osqueryOptions.options), run: async () => {
        await client.request('PUT', '/settings/osquery-options', { body: { options } });
      } });
    }
  }
  if (want.display !== undefined) {
    const tz = want.display.timeZone;
    if (tz !== undefined && !validTimeZone(tz)) problems.add(`settings.display.timeZone: "${tz}" is not an IANA time zone (e.g. Europe/Paris, UTC)`);
    if (state.display === undefined) problems.add('settings.display: your role may not read or change it');
    else {
      const fields = diff(want.display, state.display, []);
      const body = want.display;
      if (fields.length === 0) unchanged++;
      else {changes.push({ kind: 'settings', name: 'display', action: 'update', fields, run: async () => {
        await client.request('PUT', '/settings/display', { body: pick(body, fields) });
      } });}
    }
  }
  if (want.retention !== undefined) {
    if (state.retention === undefined) problems.add('settings.retention: your role may not read or change it');
    else {
      const fields = diff(want.retention, state.retention, []);
      const body = want.retention;
      if (fields.length === 0) unchanged++;
      else {changes.push({ kind: 'settings', name: 'retention', action: 'update', fields, run: async () => {
        await client.request('PUT', '/settings/retention', { body: pick(body, fields) });
      } });}
    }
  }
  return unchanged;
}

/**
 * Global osquery options against the keys, types and ranges the server publishes with them
 * (`GET /settings/osquery-options` `allowed`; `custom_*` keys are free), so a typo stops the run
 * before the first write.
 */
function checkOptions(want: Record<string, unknown>, allowed: OsqueryOptionsSettings['allowed'], problems: Problems): boolean {
  const before = problems.list.length;
  for (const [k, v] of Object.entries(want)) {
    if (/^custom_[a-z0-9_]+$/i.test(k)) continue;
    const spec = allowed.find((a) => a.key === k);
    if (spec === undefined) {
      problems.add(`settings.osqueryOptions.${k}: not an option Mimir lets you set globally (allowed: ${allowed.map((a) => a.key).join(', ')}, and custom_* keys)`);
      continue;
    }
    const ok = spec.type === 'boolean' ? typeof v === 'boolean' : spec.type === 'integer' ? Number.isSafeInteger(v) : typeof v === 'string';
    if (!ok) problems.add(`settings.osqueryOptions.${k}: must be ${spec.type === 'integer' ? 'an integer' : `a ${spec.type}`}`);
    else if (typeof v === 'number' && ((spec.minimum !== undefined && v < spec.minimum) || (spec.maximum !== undefined && v > spec.maximum))) {
      problems.add(`settings.osqueryOptions.${k}: must be between ${spec.minimum ?? '-∞'} and ${spec.maximum ?? '∞'}`);
    }
  }
  return problems.list.length === before;
}

function optionChanges(want: Record<string, unknown>, have: Record<string, unknown>): FieldChange[] {
  const keys = [...new Set([...Object.keys(want), ...Object.keys(have)])].sort();
  return keys.filter((k) => !same(want[k], have[k])).map((k) => ({ field: k, from: have[k], to: want[k] }));
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function planPrune(client: ApiClient, spec: ConfigSpec, state: ServerState, changes: Change[], problems: Problems): void {
  const del = (kind: Kind, name: string, path: string) => changes.push({ kind, name, action: 'delete', fields: [], run: async () => {
    await client.request('DELETE', path);
  } });
  if (spec.packs !== undefined) {
    for (const p of state.packs) if (!p.readOnly && !spec.packs.some((x) => x.name === p.name)) del('pack', p.name, `/packs/${p.id}`);
  }
  if (spec.queries !== undefined) {
    for (const q of state.queries) if (!q.prebuilt && !spec.queries.some((x) => x.name === q.name)) del('query', q.name, `/queries/${q.id}`);
  }
  if (spec.labels !== undefined) {
    for (const l of state.labels) if (l.type !== 'builtin' && !spec.labels.some((x) => x.name === l.name)) del('label', l.name, `/labels/${l.id}`);
  }
  if (spec.groups !== undefined) {
    for (const g of state.groups) {
      if (g.isDefault || spec.groups.some((x) => x.name === g.name)) continue;
      if (g.hostCount > 0) {
        problems.add(`groups: --prune would delete "${g.name}", which has ${g.hostCount} host${g.hostCount === 1 ? '' : 's'}: move them first (mimir-cli groups delete "${g.name}" --move-hosts-to <group>) or keep the group in the file`);
        continue;
      }
      del('group', g.name, `/groups/${g.id}`);
    }
  }
}

/** SQL of everything created or changed, checked by the server's validator before any write. */
async function checkSql(client: ApiClient, spec: ConfigSpec, changes: readonly Change[], state: ServerState, problems: Problems): Promise<void> {
  const jobs: Array<{ where: string; sql: string; platforms?: string[]; ecsMapping?: QuerySpec['ecsMapping'] }> = [];
  const touched = (kind: Kind, name: string, field?: string) => changes.some((c) => c.kind === kind && c.name === name && c.action !== 'delete' && (field === undefined || c.action === 'create' || c.fields.some((f) => f.field === field || f.field.startsWith(`${field}.`))));
  for (const q of spec.queries ?? []) {
    if (touched('query', q.name, 'sql') || touched('query', q.name, 'ecsMapping')) jobs.push({ where: `queries: "${q.name}"`, sql: q.sql, ...(q.ecsMapping !== undefined ? { ecsMapping: q.ecsMapping } : {}) });
  }
  for (const l of spec.labels ?? []) {
    if (l.query !== undefined && (touched('label', l.name, 'query') || touched('label', l.name, 'platforms'))) jobs.push({ where: `labels: "${l.name}"`, sql: l.query, ...(l.platforms !== undefined && l.platforms.length > 0 ? { platforms: l.platforms } : {}) });
  }
  for (const p of spec.packs ?? []) {
    const have = state.packs.find((x) => x.name === p.name);
    for (const q of p.queries ?? []) {
      const cur = have?.queries.find((x) => x.name === q.name);
      if (cur !== undefined && cur.sql === q.sql) continue;
      const platform = q.platform ?? cur?.platform ?? p.platform ?? have?.platform ?? '';
      jobs.push({ where: `packs: "${p.name}" query "${q.name}"`, sql: q.sql, ...(platform !== '' ? { platforms: [platform] } : {}) });
    }
  }
  for (const j of jobs) {
    const body: Record<string, unknown> = { sql: j.sql };
    if (j.platforms !== undefined) body['platforms'] = j.platforms;
    if (j.ecsMapping !== undefined && Object.keys(j.ecsMapping).length > 0) body['ecsMapping'] = j.ecsMapping;
    const r = await client.request<SqlValidationResult>('POST', '/queries/validate', { body });
    for (const e of r.errors) problems.add(`${j.where}: ${e.message}`);
  }
}

export async function buildPlan(client: ApiClient, spec: ConfigSpec, state: ServerState, prune: boolean): Promise<Plan> {
  const changes: Change[] = [];
  const problems = new Problems();
  let unchanged = 0;
  unchanged += planGroups(client, spec.groups ?? [], state, changes);
  unchanged += planLabels(client, spec.labels ?? [], state, changes, problems);
  unchanged += planQueries(client, spec.queries ?? [], state, changes, problems);
  const knownGroups = new Set([...state.groups.map((g) => g.name), ...(spec.groups ?? []).map((g) => g.name)]);
  unchanged += planPacks(client, spec.packs ?? [], state, knownGroups, changes, problems);
  if (spec.settings !== undefined) unchanged += planSettings(client, spec.settings, state, changes, problems);
  if (prune) planPrune(client, spec, state, changes, problems);
  if (problems.list.length === 0) await checkSql(client, spec, changes, state, problems);
  if (problems.list.length > 0) {
    throw new CliError(`apply: ${problems.list.length} problem${problems.list.length === 1 ? '' : 's'}; nothing was changed`, EXIT.refused, problems.list);
  }
  return { changes, unchanged };
}

