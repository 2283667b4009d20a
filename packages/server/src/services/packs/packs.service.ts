/**
 * Query packs (seed 004 "Schedule queries with packs"): CRUD, `.conf` import, prebuilt and example
 * packs, and per-query status. Packs are served to osquery by OsqueryConfigService from the same
 * tables, so every change here ends with `invalidateConfigs()`; a request that fails validation
 * writes nothing.
 *
 * Fleet's users could not see which scheduled queries the osquery watchdog had denylisted (Fleet
 * §4 item 10: #18004, #24208, #17827); `status()` shows them per query and per host, next to the
 * status-log errors that name the query.
 */
import { ConflictError, NotFoundError, ValidationError, createError } from '../../errors.js';
import { isUniqueViolation } from '../../storage/errors.js';
import type { PackQueryRow, PackQueryValues, PackRow, PackTargetRow } from '../../storage/repositories/packs.repository.js';
import type { Repositories, Store } from '../../storage/store.js';
import type { EcsMapping, ServiceHub } from '../contracts.js';
import { parseOsqueryPackConf } from './osquery-conf.js';
import {
  EXAMPLES_DIR, EXAMPLES_LICENSE, EXAMPLES_NOTE, EXAMPLES_SOURCE, PREBUILT_DIR, loadExamplePacks, loadPrebuiltPacks,
  type ExamplePack,
} from './pack-assets.js';
import { checkPack, platformFamilies, type Issue, type PackDraft, type PackInput } from './pack-rules.js';

/** Editing the queries of a prebuilt pack (seed 004: "you cannot edit queries in the pack"). */
export const PackReadOnlyError = createError('pack_read_only', 422);

export interface PackWarning {
  query: string | null;
  message: string;
  table?: string | undefined;
}

export interface PackRecord {
  pack: PackRow;
  queryCount: number;
  targets: PackTargetRow[];
  queries: PackQueryRow[];
}
export type PackSummaryRecord = Omit<PackRecord, 'queries'>;

export interface SavedPack {
  record: PackRecord;
  warnings: PackWarning[];
}

export interface PrebuiltOutcome {
  prebuiltId: string;
  name: string;
  packId: number | null;
  outcome: 'created' | 'updated' | 'unchanged' | 'skipped';
  message?: string | undefined;
}

export interface ExampleSummary {
  name: string;
  fileName: string;
  platform: string;
  minOsqueryVersion: string;
  queryCount: number;
  license: string;
  source: string;
  note: string;
}

export interface QueryStatus {
  queryId: number;
  name: string;
  logName: string;
  state: 'ok' | 'errors' | 'denylisted' | 'not_run';
  hostsScheduled: number;
  hostsRan: number;
  executions: number;
  /** Milliseconds. */
  lastRunAt: number | null;
  averageWallTimeMs: number | null;
  resultRows: number;
  /** Milliseconds (osquery unixTime × 1000). */
  lastResultAt: number | null;
  denylistedHosts: number;
  denylisted: Array<{ hostId: number; hostname: string }>;
  errorCount: number;
  errors: Array<{ hostId: number; hostname: string; at: number; severity: number; kind: 'error' | 'watchdog' | 'other'; message: string }>;
}

export interface PackStatusRecord {
  packId: number;
  name: string;
  enabled: boolean;
  targetedHosts: number;
  windowStart: number;
  queries: QueryStatus[];
}

export interface PacksServiceDeps {
  store: Store;
  /** Read at call time: the SQL validator is published by another area and may come later. */
  hub: ServiceHub;
  /** osqueryConfig.invalidate(): configs embed packs. */
  invalidateConfigs(): void;
  now(): number;
  prebuiltDir?: string | undefined;
  examplesDir?: string | undefined;
}

/** What a read-only (prebuilt) pack still lets an operator change (seed 004). */
const DEPLOYMENT_KEYS: ReadonlySet<string> = new Set(['enabled', 'global', 'globalShard', 'targets']);
const DENYLIST_SHOWN = 100;
const ERRORS_SHOWN = 20;
const STATUS_LINES_SCANNED = 2000;

type SqlMode = 'block' | 'warn' | 'skip';

function bool(n: number): boolean {
  return n !== 0;
}

function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** The stored discovery list (JSON array of SQL strings). */
export function discoveryOf(text: string): string[] {
  const v = parseJson<unknown>(text, []);
  return Array.isArray(v) ? v.filter((d): d is string => typeof d === 'string') : [];
}

/** Strip keys whose value is undefined (exactOptionalPropertyTypes-friendly merge). */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function queryValues(q: PackDraft['queries'][number]): PackQueryValues {
  return {
    name: q.name,
    description: q.description,
    sql: q.sql,
    interval: q.interval,
    snapshot: q.snapshot ? 1 : 0,
    removed: q.removed ? 1 : 0,
    platform: q.platform,
    min_osquery_version: q.minOsqueryVersion,
    shard: q.shard,
    denylist: q.denylist ? 1 : 0,
    timeout: q.timeout,
    ecs_mapping: JSON.stringify(q.ecsMapping),
    value: q.value,
  };
}

/** A stored pack as the input that would recreate it. */
function inputFromRecord(r: PackRecord): PackInput {
  return {
    name: r.pack.name,
    description: r.pack.description,
    enabled: bool(r.pack.enabled),
    platform: r.pack.platform,
    minOsqueryVersion: r.pack.min_osquery_version,
    discovery: discoveryOf(r.pack.discovery),
    global: bool(r.pack.global),
    globalShard: r.pack.global_shard,
    targets: r.targets.map((t) => ({ groupId: t.group_id, shard: t.shard })),
    queries: r.queries.map((q) => ({
      name: q.name,
      description: q.description,
      sql: q.sql,
      interval: q.interval,
      snapshot: bool(q.snapshot),
      removed: bool(q.removed),
      platform: q.platform,
      minOsqueryVersion: q.min_osquery_version,
      shard: q.shard,
      denylist: bool(q.denylist),
      timeout: q.timeout,
      ecsMapping: parseJson<EcsMapping>(q.ecs_mapping, {}),
      value: q.value,
    })),
  };
}

/** The parts of a pack a prebuilt asset defines (not who runs it), comparable as JSON. */
function contentKey(d: PackDraft): string {
  return JSON.stringify({
    name: d.name, description: d.description, platform: d.platform, minOsqueryVersion: d.minOsqueryVersion, discovery: d.discovery,
    queries: [...d.queries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  });
}

/** Identifies one SQL text checked for one platform filter. */
function sqlKey(sqlText: string, platform: string): string {
  return `${platform}\u0000${sqlText}`;
}

/** `osx-attacks.conf` → `osx-attacks`. */
export function packNameFromFile(fileName: string | undefined): string | undefined {
  if (fileName === undefined) return undefined;
  const base = fileName.split(/[\\/]/).pop() ?? '';
  const name = base.replace(/\.(conf|json)$/i, '');
  return name === '' ? undefined : name;
}

function invalid(issues: Issue[]): InstanceType<typeof ValidationError> {
  const n = issues.length;
  return new ValidationError(`the pack is invalid: ${n} problem${n === 1 ? '' : 's'} (see details)`, issues);
}

export class PacksService {
  private examples: Promise<ExamplePack[]> | undefined;

  constructor(private readonly deps: PacksServiceDeps) {}

  private get store(): Store {
    return this.deps.store;
  }

  async list(f: { limit: number; afterName?: string | undefined; q?: string | undefined; enabled?: boolean | undefined }): Promise<{ items: PackSummaryRecord[]; hasMore: boolean }> {
    const rows = await this.store.packs.list({ ...f, limit: f.limit + 1 });
    const page = rows.slice(0, f.limit);
    const targets = await this.store.packs.targets(page.map((p) => p.id));
    return {
      items: page.map(({ query_count, ...pack }) => ({ pack, queryCount: query_count, targets: targets.filter((t) => t.pack_id === pack.id) })),
      hasMore: rows.length > f.limit,
    };
  }

  async get(id: number, repos: Repositories = this.store): Promise<PackRecord> {
    const pack = await repos.packs.findById(id);
    if (pack === undefined) throw new NotFoundError(`pack ${id} not found`);
    const [queries, targets] = await Promise.all([repos.packs.queries(id), repos.packs.targets([id])]);
    return { pack, queryCount: queries.length, queries, targets };
  }

  async create(input: PackInput): Promise<SavedPack> {
    const { draft, warnings } = await this.prepare(input, 'block');
    const id = await this.insert(draft, { readOnly: false, prebuiltId: '' });
    return { record: await this.get(id), warnings };
  }

  async update(id: number, patch: Partial<PackInput>): Promise<SavedPack> {
    const current = await this.get(id);
    const given = defined(patch);
    if (current.pack.read_only === 1) {
      const locked = Object.keys(given).filter((k) => !DEPLOYMENT_KEYS.has(k));
      if (locked.length > 0) {
        throw new PackReadOnlyError(
          `pack "${current.pack.name}" is a prebuilt pack: only enabled, global, globalShard and targets can change; copy it (POST /packs/${id}/copy) to edit its queries`,
          locked.map((k) => ({ path: `/${k}`, message: 'read-only in a prebuilt pack' })),
        );
      }
    }
    const merged: PackInput = { ...inputFromRecord(current), ...given };
    // Switching between "global" and "per group" in one call should not need two fields.
    if (given.global === true && given.targets === undefined) merged.targets = [];
    if (given.targets !== undefined && given.targets.length > 0 && given.global === undefined) merged.global = false;
    const sqlChanged = given.queries !== undefined || given.discovery !== undefined || given.platform !== undefined;
    // SQL already stored (e.g. an imported pack's query on a table osquery dropped) only warns, so
    // editing one query is not blocked by another; new or changed SQL must pass.
    const stored = new Set([
      ...current.queries.map((q) => sqlKey(q.sql, q.platform !== '' ? q.platform : current.pack.platform)),
      ...discoveryOf(current.pack.discovery).map((d) => sqlKey(d, current.pack.platform)),
    ]);
    const { draft, warnings } = await this.prepare(merged, sqlChanged && current.pack.read_only !== 1 ? 'block' : 'skip', stored);
    if (draft.name !== current.pack.name && (await this.store.packs.findByName(draft.name)) !== undefined) {
      throw new ConflictError(`a pack named "${draft.name}" already exists`);
    }
    await this.guardUnique(draft.name, () =>
      this.store.transaction(async (tx) => {
        await tx.packs.update(id, { ...this.packValues(draft), updated_at: this.deps.now() });
        if (given.queries !== undefined) await tx.packs.replaceQueries(id, draft.queries.map(queryValues));
        await tx.packs.replaceTargets(id, draft.targets);
      }),
    );
    this.deps.invalidateConfigs();
    return { record: await this.get(id), warnings: sqlChanged ? warnings : [] };
  }

  async delete(id: number): Promise<PackRow> {
    const pack = await this.store.packs.findById(id);
    if (pack === undefined) throw new NotFoundError(`pack ${id} not found`);
    await this.store.transaction((tx) => tx.packs.delete(id));
    this.deps.invalidateConfigs();
    return pack;
  }

  /** Import an osquery `.conf` pack as it is; SQL problems become warnings, not refusals. */
  async importConf(req: { conf: string; name?: string | undefined; fileName?: string | undefined; description?: string | undefined; enabled?: boolean | undefined }): Promise<SavedPack> {
    const parsed = parseOsqueryPackConf(req.conf);
    if (!parsed.ok) throw new ValidationError(`the .conf pack could not be read: ${parsed.issues.length} problem(s) (see details)`, parsed.issues);
    const name = req.name ?? packNameFromFile(req.fileName);
    if (name === undefined) throw new ValidationError('name the pack', [{ path: '/name', message: 'send name (or fileName, e.g. osx-attacks.conf)' }]);
    const input: PackInput = { ...parsed.pack, name, ...defined({ description: req.description, enabled: req.enabled }) };
    const { draft, warnings } = await this.prepare(input, 'warn');
    const id = await this.insert(draft, { readOnly: false, prebuiltId: '' });
    return { record: await this.get(id), warnings: [...parsed.warnings, ...warnings] };
  }

  /** An editable copy (seed 004 "Copy prebuilt packs"); inactive, so nothing runs twice until an operator says so. */
  async copy(id: number, name?: string): Promise<PackRecord> {
    const source = await this.get(id);
    const input = inputFromRecord(source);
    input.name = name ?? (await this.freeName(`${source.pack.name}-copy`));
    input.enabled = false;
    const { draft } = await this.prepare(input, 'skip');
    const newId = await this.insert(draft, { readOnly: false, prebuiltId: '' });
    return this.get(newId);
  }

  /**
   * Load or update Mimir's prebuilt packs (seed 004 "Load and activate prebuilt packs"): new ones
   * arrive inactive and undeployed; existing ones get the shipped queries while keeping their
   * Active toggle and deployment. An operator pack with the same name is never overwritten.
   */
  async loadPrebuilt(): Promise<PrebuiltOutcome[]> {
    const assets = await loadPrebuiltPacks(this.deps.prebuiltDir ?? PREBUILT_DIR);
    const now = this.deps.now();
    const outcomes: PrebuiltOutcome[] = [];
    await this.store.transaction(async (tx) => {
      for (const asset of assets) {
        const { draft, issues } = checkPack({ ...asset.pack, enabled: false, global: false, targets: [] });
        if (issues.length > 0) throw new Error(`assets/packs/${asset.fileName} is invalid: ${JSON.stringify(issues)}`);
        const existing = await tx.packs.findByPrebuiltId(asset.id);
        const clash = await tx.packs.findByName(draft.name);
        if (existing === undefined) {
          if (clash !== undefined) {
            outcomes.push({ prebuiltId: asset.id, name: draft.name, packId: null, outcome: 'skipped', message: `pack ${clash.id} already uses the name "${draft.name}": rename it and load again` });
            continue;
          }
          const id = await tx.packs.insert({ ...this.packValues(draft), read_only: 1, prebuilt_id: asset.id, created_at: now, updated_at: now });
          await tx.packs.replaceQueries(id, draft.queries.map(queryValues));
          outcomes.push({ prebuiltId: asset.id, name: draft.name, packId: id, outcome: 'created' });
          continue;
        }
        const current = checkPack(inputFromRecord(await this.get(existing.id, tx))).draft;
        if (contentKey(current) === contentKey(draft) && existing.read_only === 1) {
          outcomes.push({ prebuiltId: asset.id, name: existing.name, packId: existing.id, outcome: 'unchanged' });
          continue;
        }
        const name = clash === undefined || clash.id === existing.id ? draft.name : existing.name;
        await tx.packs.update(existing.id, {
          name, description: draft.description, platform: draft.platform, min_osquery_version: draft.minOsqueryVersion,
          discovery: JSON.stringify(draft.discovery), read_only: 1, updated_at: now,
        });
        await tx.packs.replaceQueries(existing.id, draft.queries.map(queryValues));
        outcomes.push({ prebuiltId: asset.id, name, packId: existing.id, outcome: 'updated' });
      }
    });
    if (outcomes.some((o) => o.outcome === 'created' || o.outcome === 'updated')) this.deps.invalidateConfigs();
    return outcomes;
  }

  async listExamples(): Promise<ExampleSummary[]> {
    return (await this.loadExamples()).map((e) => ({
      name: e.name,
      fileName: e.fileName,
      platform: e.parsed.ok ? e.parsed.pack.platform ?? '' : '',
      minOsqueryVersion: e.parsed.ok ? e.parsed.pack.minOsqueryVersion ?? '' : '',
      queryCount: e.parsed.ok ? e.parsed.pack.queries?.length ?? 0 : 0,
      license: EXAMPLES_LICENSE,
      source: `${EXAMPLES_SOURCE}/${e.fileName}`,
      note: EXAMPLES_NOTE,
    }));
  }

  async importExample(exampleName: string, opts: { name?: string | undefined; enabled?: boolean | undefined }): Promise<SavedPack> {
    const example = (await this.loadExamples()).find((e) => e.name === exampleName);
    if (example === undefined) throw new NotFoundError(`no example pack named "${exampleName}" (GET /packs/examples lists them)`);
    return this.importConf({ conf: example.conf, fileName: example.fileName, name: opts.name ?? example.name, enabled: opts.enabled });
  }

  /**
   * Per query (seed 004 "View status of scheduled packs"): hosts that list and ran it and when
   * (osquery_schedule, refreshed with host vitals), stored result rows, hosts where the watchdog
   * denylisted it, and status-log lines naming it: "Error executing scheduled query <name>: …"
   * (osquery scheduler.cpp) and "Scheduled query may have failed: <name>" (config.cpp, the watchdog
   * dirty bit that denylists a query for 24 h).
   */
  async status(id: number, windowHours: number): Promise<PackStatusRecord> {
    const rec = await this.get(id);
    const pack = rec.pack.name;
    const windowStart = this.deps.now() - windowHours * 3_600_000;
    const [counts, totals, deny, lines, targetedHosts] = await Promise.all([
      this.store.results.resultCounts(pack),
      this.store.results.scheduleTotals(pack),
      this.store.results.denylistedHosts(pack, DENYLIST_SHOWN * Math.max(1, rec.queries.length)),
      this.store.results.statusMentions(`pack/${pack}/`, windowStart, STATUS_LINES_SCANNED),
      this.store.packs.countTargetedHosts(rec.pack),
    ]);
    const prefix = `pack/${pack}/`;
    // Longest names first, so "procs_all" is not taken for "procs".
    const byLength = [...rec.queries].sort((a, b) => b.name.length - a.name.length);
    const errorsByQuery = new Map<string, QueryStatus['errors']>();
    for (const l of lines) {
      const at = l.message.indexOf(prefix);
      if (at < 0) continue;
      const rest = l.message.slice(at + prefix.length);
      const q = byLength.find((x) => rest.startsWith(x.name) && /^($|[:\s])/.test(rest.slice(x.name.length)));
      if (q === undefined) continue;
      const kind = l.message.startsWith('Error executing scheduled query') ? 'error' : l.message.startsWith('Scheduled query may have failed') ? 'watchdog' : 'other';
      const list = errorsByQuery.get(q.name) ?? [];
      list.push({ hostId: l.host_id, hostname: l.hostname ?? '', at: l.unix_time * 1000, severity: l.severity, kind, message: l.message });
      errorsByQuery.set(q.name, list);
    }
    const queries = rec.queries.map((q): QueryStatus => {
      const c = counts.find((x) => x.query === q.name);
      const t = totals.find((x) => x.query === q.name);
      const denied = deny.filter((d) => d.query === q.name);
      const errors = errorsByQuery.get(q.name) ?? [];
      const executions = Number(t?.executions ?? 0);
      const hostsRan = Number(t?.ran ?? 0);
      const resultRows = Number(c?.rows ?? 0);
      const denylistedHosts = Number(t?.denylisted ?? 0);
      const lastExecuted = Number(t?.last_executed ?? 0);
      const lastUnix = Number(c?.last_unix_time ?? 0);
      const state: QueryStatus['state'] = denylistedHosts > 0 ? 'denylisted' : errors.length > 0 ? 'errors' : hostsRan === 0 && resultRows === 0 ? 'not_run' : 'ok';
      return {
        queryId: q.id,
        name: q.name,
        logName: `${prefix}${q.name}`,
        state,
        hostsScheduled: Number(t?.hosts ?? 0),
        hostsRan,
        executions,
        lastRunAt: lastExecuted > 0 ? lastExecuted : null,
        averageWallTimeMs: executions > 0 ? Number(t?.wall_time_ms ?? 0) / executions : null,
        resultRows,
        lastResultAt: lastUnix > 0 ? lastUnix * 1000 : null,
        denylistedHosts,
        denylisted: denied.slice(0, DENYLIST_SHOWN).map((d) => ({ hostId: d.host_id, hostname: d.hostname ?? '' })),
        errorCount: errors.length,
        errors: errors.slice(0, ERRORS_SHOWN),
      };
    });
    return { packId: rec.pack.id, name: pack, enabled: bool(rec.pack.enabled), targetedHosts, windowStart, queries };
  }

  // ------------------------------------------------------------------ internals

  private loadExamples(): Promise<ExamplePack[]> {
    this.examples ??= loadExamplePacks(this.deps.examplesDir ?? EXAMPLES_DIR).catch((err: unknown) => {
      this.examples = undefined;
      throw err;
    });
    return this.examples;
  }

  private packValues(d: PackDraft) {
    return {
      name: d.name,
      description: d.description,
      platform: d.platform,
      min_osquery_version: d.minOsqueryVersion,
      discovery: JSON.stringify(d.discovery),
      enabled: d.enabled ? 1 : 0,
      global: d.global ? 1 : 0,
      global_shard: d.globalShard,
    };
  }

  /** Check everything (rules, groups, SQL) before any write; throws 422 with every finding. */
  private async prepare(input: PackInput, sql: SqlMode, alreadyStored: ReadonlySet<string> = new Set()): Promise<{ draft: PackDraft; warnings: PackWarning[] }> {
    const { draft, issues } = checkPack(input);
    const found = sql === 'skip' ? { issues: [], warnings: [] } : this.checkSql(draft, sql, alreadyStored);
    issues.push(...found.issues);
    const groupIds = draft.targets.map((t) => t.groupId);
    if (groupIds.length > 0) {
      const existing = await this.store.packs.existingGroupIds(groupIds);
      draft.targets.forEach((t, i) => {
        if (!existing.has(t.groupId)) issues.push({ path: `/targets/${i}/groupId`, message: `group ${t.groupId} does not exist` });
      });
    }
    if (issues.length > 0) throw invalid(issues);
    return { draft, warnings: found.warnings };
  }

  /** SQL checks through the validator another area publishes on the hub (absent: say so). */
  private checkSql(draft: PackDraft, mode: 'block' | 'warn', alreadyStored: ReadonlySet<string>): { issues: Issue[]; warnings: PackWarning[] } {
    const validator = this.deps.hub.sqlValidator;
    const issues: Issue[] = [];
    const warnings: PackWarning[] = [];
    if (validator === undefined) {
      warnings.push({ query: null, message: 'SQL was not checked against the osquery schema: no SQL validator is available on this server' });
      return { issues, warnings };
    }
    const check = (sqlText: string, platform: string, path: string, query: string | null): void => {
      const platforms = platformFamilies(platform);
      let v;
      try {
        v = validator.validate(sqlText, platforms === undefined ? undefined : { platforms });
      } catch (err) {
        warnings.push({ query, message: `SQL could not be checked: ${err instanceof Error ? err.message : String(err)}` });
        return;
      }
      const block = mode === 'block' && !alreadyStored.has(sqlKey(sqlText, platform));
      for (const e of v.errors) {
        if (block) issues.push({ path, message: e.message, ...(query !== null ? { query } : {}) });
        else warnings.push({ query, message: e.message, table: e.table });
      }
      for (const w of v.warnings) warnings.push({ query, message: w.message, table: w.table });
    };
    draft.queries.forEach((q, i) => check(q.sql, q.platform !== '' ? q.platform : draft.platform, `/queries/${i}/sql`, q.name));
    draft.discovery.forEach((d, i) => check(d, draft.platform, `/discovery/${i}`, null));
    return { issues, warnings };
  }

  private async insert(draft: PackDraft, extra: { readOnly: boolean; prebuiltId: string }): Promise<number> {
    if ((await this.store.packs.findByName(draft.name)) !== undefined) throw new ConflictError(`a pack named "${draft.name}" already exists`);
    const now = this.deps.now();
    const id = await this.guardUnique(draft.name, () =>
      this.store.transaction(async (tx) => {
        const newId = await tx.packs.insert({ ...this.packValues(draft), read_only: extra.readOnly ? 1 : 0, prebuilt_id: extra.prebuiltId, created_at: now, updated_at: now });
        await tx.packs.replaceQueries(newId, draft.queries.map(queryValues));
        await tx.packs.replaceTargets(newId, draft.targets);
        return newId;
      }),
    );
    this.deps.invalidateConfigs();
    return id;
  }

  /** Two requests racing for one name: the loser gets the same 409 as a sequential duplicate. */
  private async guardUnique<T>(name: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`a pack named "${name}" already exists`);
      throw err;
    }
  }

  private async freeName(base: string): Promise<string> {
    const candidates = [base, ...Array.from({ length: 49 }, (_, i) => `${base}-${i + 2}`)];
    const taken = await this.store.packs.namesTaken(candidates);
    return candidates.find((c) => !taken.has(c)) ?? `${base}-${this.deps.now().toString(36)}`;
  }
}
