/**
 * Saved queries (seed 004 "Save queries"): create, change, copy and delete them, with every problem
 * of a query reported at once (422 `validation_failed`, `details: [{path, message, code, …}]`):
 * SQL errors from the osquery-schema validator, ECS mapping errors per entry, timeout, interval,
 * version and platform. Warnings (a table missing on the query's platform, an evented table) are
 * returned with the query, never block it. Prebuilt queries are loaded on start and are read-only.
 *
 * Saved queries do not shape osquery configs (a pack gets a copy, seed 004: "A connection is not
 * maintained between saved queries and packs"), so nothing here invalidates the config cache.
 */
import type { Logger } from '../../logger.js';
import { ConflictError, NotFoundError, ValidationError, createError } from '../../errors.js';
import { isUniqueViolation } from '../../storage/errors.js';
import type { SavedQueryRow } from '../../storage/repositories/saved-queries.repository.js';
import type { Store } from '../../storage/store.js';
import type { EcsMapping } from '../contracts.js';
import { ecsCatalog, type EcsCatalog } from '../ecs/ecs-catalog.js';
import { validateEcsMapping, type EcsIssue } from '../ecs/ecs-mapping.js';
import { isReservedQueryName } from '../osquery-config.service.js';
import { isPlatformWord, osquerySchema, type OsquerySchema } from '../sql/osquery-schema.js';
import { OsquerySqlValidator, type OsquerySqlIssue } from '../sql/sql-validator.js';
import { PREBUILT_QUERIES, type PrebuiltQuery } from './prebuilt-queries.js';

/** A prebuilt query cannot be changed or deleted; copy it instead (seed 004). */
export const ReadOnlyError = createError('read_only', 409);

export const TIMEOUT_MIN = 60;
export const TIMEOUT_MAX = 900;
export const TIMEOUT_DEFAULT = 60;
/** osquery drops scheduled queries with interval 0 or over a week (osquery-protocol.md §3.2). */
export const INTERVAL_MIN = 1;
export const INTERVAL_MAX = 604_800;
/** osquery's --schedule_default_interval. */
export const INTERVAL_DEFAULT = 3600;
const NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
const VERSION_PATTERN = /^\d+(\.\d+){0,2}$/;

/** A finding about a query or its mapping, as the API reports it. */
export interface QueryIssue {
  severity: 'error' | 'warning';
  code: string;
  message: string;
  table?: string | undefined;
  column?: string | undefined;
  field?: string | undefined;
  position?: { offset: number; line: number; column: number } | undefined;
}

/** A 422 detail: the request field it concerns plus the finding. */
export interface IssueDetail extends QueryIssue {
  path: string;
}

export interface SavedQueryInput {
  name: string;
  description?: string | undefined;
  sql: string;
  timeout?: number | undefined;
  ecsMapping?: Readonly<Record<string, unknown>> | undefined;
  interval?: number | undefined;
  minOsqueryVersion?: string | undefined;
  platform?: string | undefined;
}

export type SavedQueryPatch = Partial<SavedQueryInput>;

/** A stored query with what validation says about it now. */
export interface AnalyzedSavedQuery {
  row: SavedQueryRow;
  ecsMapping: EcsMapping;
  tables: string[];
  warnings: QueryIssue[];
  /** Empty for a query saved by this version; set when a later schema no longer accepts it. */
  errors: QueryIssue[];
}

export interface QueryValidation {
  valid: boolean;
  errors: QueryIssue[];
  warnings: QueryIssue[];
  tables: string[];
  platforms: string[];
  columns: string[] | null;
}

interface Checked {
  values: Required<Omit<SavedQueryInput, 'ecsMapping'>> & { ecsMapping: EcsMapping };
  details: IssueDetail[];
  warnings: QueryIssue[];
  tables: string[];
}

export class SavedQueryService {
  constructor(
    private readonly store: Store,
    private readonly validator: OsquerySqlValidator = new OsquerySqlValidator(),
    private readonly catalog: EcsCatalog = ecsCatalog(),
    private readonly schema: OsquerySchema = osquerySchema(),
  ) {}

  async list(f: { limit: number; afterName?: string | undefined; q?: string | undefined; prebuilt?: boolean | undefined }) {
    const rows = await this.store.savedQueries.list({ ...f, limit: f.limit + 1 });
    const page = rows.slice(0, f.limit);
    return { items: page.map((r) => this.analyze(r)), more: rows.length > f.limit };
  }

  async get(id: number): Promise<AnalyzedSavedQuery> {
    return this.analyze(await this.row(id));
  }

  async create(input: SavedQueryInput, actor: string, now: number): Promise<AnalyzedSavedQuery> {
    const checked = this.check(input);
    if (checked.details.length > 0) throw invalid(checked.details);
    const v = checked.values;
    if ((await this.store.savedQueries.findByName(v.name)) !== undefined) throw duplicate(v.name);
    try {
      const id = await this.store.savedQueries.insert({
        name: v.name, description: v.description, sql: v.sql, timeout: v.timeout, ecs_mapping: JSON.stringify(v.ecsMapping),
        interval: v.interval, min_osquery_version: v.minOsqueryVersion, platform: v.platform, prebuilt: 0,
        created_at: now, updated_at: now, created_by: actor, updated_by: actor,
      });
      return await this.get(id);
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicate(v.name);
      throw err;
    }
  }

  async update(id: number, patch: SavedQueryPatch, actor: string, now: number): Promise<AnalyzedSavedQuery> {
    const row = await this.row(id);
    if (row.prebuilt === 1) throw new ReadOnlyError(`${row.name} is a prebuilt query and cannot be changed: copy it (POST /queries/${row.id}/copy) and edit the copy`);
    const current = this.inputOf(row);
    const merged: SavedQueryInput = { ...current };
    for (const [k, val] of Object.entries(patch)) if (val !== undefined) Object.assign(merged, { [k]: val });
    const checked = this.check(merged);
    if (checked.details.length > 0) throw invalid(checked.details);
    const v = checked.values;
    if (v.name !== row.name) {
      const other = await this.store.savedQueries.findByName(v.name);
      if (other !== undefined && other.id !== row.id) throw duplicate(v.name);
    }
    try {
      await this.store.savedQueries.update(id, {
        name: v.name, description: v.description, sql: v.sql, timeout: v.timeout, ecs_mapping: JSON.stringify(v.ecsMapping),
        interval: v.interval, min_osquery_version: v.minOsqueryVersion, platform: v.platform, updated_at: now, updated_by: actor,
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicate(v.name);
      throw err;
    }
    return this.get(id);
  }

  async delete(id: number): Promise<SavedQueryRow> {
    const row = await this.row(id);
    if (row.prebuilt === 1) throw new ReadOnlyError(`${row.name} is a prebuilt query and cannot be deleted`);
    await this.store.savedQueries.delete(id);
    return row;
  }

  /** A user-owned copy (of a prebuilt query, typically) under a new name. */
  async copy(id: number, name: string | undefined, actor: string, now: number): Promise<AnalyzedSavedQuery> {
    const row = await this.row(id);
    const input = this.inputOf(row);
    return this.create({ ...input, name: name ?? `${row.name}_copy` }, actor, now);
  }

  /** The console's inline check: SQL against the schema and, when given, an ECS mapping. */
  validate(sql: string, platforms: readonly string[] | undefined, ecsMapping?: Readonly<Record<string, unknown>>): QueryValidation {
    const v = this.validator.validate(sql, { platforms });
    const errors: QueryIssue[] = v.errors.map(sqlIssue);
    const warnings: QueryIssue[] = v.warnings.map(sqlIssue);
    if (ecsMapping !== undefined) {
      const ecs = validateEcsMapping(ecsMapping, { columns: v.columns, hiddenColumns: this.hiddenColumns(v.tables) }, this.catalog);
      errors.push(...ecs.errors.map(ecsIssue));
      warnings.push(...ecs.warnings.map(ecsIssue));
    }
    return { valid: errors.length === 0, errors, warnings, tables: v.tables, platforms: v.platforms, columns: v.columns };
  }

  /**
   * Load the prebuilt queries: add missing ones, update changed ones, remove ones Mimir no longer
   * ships. A user query that already has a prebuilt name is left alone.
   */
  async ensurePrebuilt(now: number, log?: Logger, definitions: readonly PrebuiltQuery[] = PREBUILT_QUERIES): Promise<{ created: number; updated: number; removed: number }> {
    const counts = { created: 0, updated: 0, removed: 0 };
    const wanted = new Map(definitions.map((d) => [d.name, d]));
    await this.store.transaction(async (tx) => {
      for (const def of definitions) {
        const checked = this.check({ ...def, timeout: TIMEOUT_DEFAULT, minOsqueryVersion: '' });
        if (checked.details.length > 0) throw new Error(`prebuilt query ${def.name} is invalid: ${checked.details.map((d) => d.message).join('; ')}`);
        const v = checked.values;
        const values = {
          description: v.description, sql: v.sql, timeout: v.timeout, ecs_mapping: JSON.stringify(v.ecsMapping), interval: v.interval,
          min_osquery_version: v.minOsqueryVersion, platform: v.platform,
        };
        const existing = await tx.savedQueries.findByName(def.name);
        if (existing === undefined) {
          await tx.savedQueries.insert({ name: def.name, ...values, prebuilt: 1, created_at: now, updated_at: now, created_by: '', updated_by: '' });
          counts.created++;
        } else if (existing.prebuilt !== 1) {
          log?.warn({ name: def.name }, 'a saved query has the name of a prebuilt query: keeping the saved query, not loading the prebuilt one');
        } else if (Object.entries(values).some(([k, val]) => existing[k as keyof typeof values] !== val)) {
          await tx.savedQueries.update(existing.id, { ...values, updated_at: now });
          counts.updated++;
        }
      }
      for (const row of await tx.savedQueries.listPrebuilt()) {
        if (wanted.has(row.name)) continue;
        await tx.savedQueries.delete(row.id);
        counts.removed++;
      }
    });
    return counts;
  }

  // ---------------------------------------------------------------- internals

  private async row(id: number): Promise<SavedQueryRow> {
    const row = await this.store.savedQueries.findById(id);
    if (row === undefined) throw new NotFoundError(`saved query ${id} not found`);
    return row;
  }

  private inputOf(row: SavedQueryRow): SavedQueryInput {
    return {
      name: row.name, description: row.description, sql: row.sql, timeout: row.timeout, ecsMapping: parseMapping(row.ecs_mapping),
      interval: row.interval, minOsqueryVersion: row.min_osquery_version, platform: row.platform,
    };
  }

  private analyze(row: SavedQueryRow): AnalyzedSavedQuery {
    const ecsMapping = parseMapping(row.ecs_mapping);
    const v = this.validate(row.sql, row.platform === '' ? undefined : [row.platform], ecsMapping);
    return { row, ecsMapping, tables: v.tables, warnings: v.warnings, errors: v.errors };
  }

  /** Every problem of a complete query, with defaults applied and the platform normalized. */
  private check(input: SavedQueryInput): Checked {
    const details: IssueDetail[] = [];
    const add = (path: string, code: string, message: string) => details.push({ path, severity: 'error', code, message });
    const name = input.name.trim();
    if (!NAME_PATTERN.test(name)) add('/name', 'invalid_name', 'name: 1–128 letters, digits, _ or -');
    else if (isReservedQueryName(name)) add('/name', 'reserved_name', `osquery refuses query names ending in "epoch" or "counter": rename ${name}`);
    const timeout = input.timeout ?? TIMEOUT_DEFAULT;
    if (!Number.isInteger(timeout) || timeout < TIMEOUT_MIN || timeout > TIMEOUT_MAX) {
      add('/timeout', 'invalid_timeout', `timeout must be ${TIMEOUT_MIN}–${TIMEOUT_MAX} seconds (seed 004), not ${timeout}`);
    }
    const interval = input.interval ?? INTERVAL_DEFAULT;
    if (!Number.isInteger(interval) || interval < INTERVAL_MIN || interval > INTERVAL_MAX) {
      add('/interval', 'invalid_interval', `interval must be ${INTERVAL_MIN}–${INTERVAL_MAX} seconds (osquery drops 0 and anything over a week), not ${interval}`);
    }
    const minOsqueryVersion = (input.minOsqueryVersion ?? '').trim();
    if (minOsqueryVersion !== '' && !VERSION_PATTERN.test(minOsqueryVersion)) {
      add('/minOsqueryVersion', 'invalid_version', `minOsqueryVersion must look like 5.0.1, not ${JSON.stringify(minOsqueryVersion)}`);
    }
    const words = [...new Set((input.platform ?? '').split(',').map((w) => w.trim().toLowerCase()).filter((w) => w !== ''))];
    for (const w of words.filter((x) => !isPlatformWord(x))) {
      add('/platform', 'unknown_platform', `unknown platform ${w}: use darwin, linux, windows, posix, freebsd or any (comma lists allowed)`);
    }
    const platform = words.includes('any') || words.includes('all') ? '' : words.join(',');

    const sql = this.validator.validate(input.sql, { platforms: platform === '' ? undefined : [platform] });
    for (const e of sql.errors) details.push({ path: '/sql', ...sqlIssue(e) });
    const warnings: QueryIssue[] = sql.warnings.map(sqlIssue);

    const ecs = validateEcsMapping(input.ecsMapping ?? {}, { columns: sql.columns, hiddenColumns: this.hiddenColumns(sql.tables) }, this.catalog);
    for (const e of ecs.errors) details.push({ path: `/ecsMapping/${pointer(e.field)}`, ...ecsIssue(e) });
    warnings.push(...ecs.warnings.map(ecsIssue));

    return {
      values: { name, description: input.description ?? '', sql: input.sql, timeout, ecsMapping: ecs.mapping, interval, minOsqueryVersion, platform },
      details,
      warnings,
      tables: sql.tables,
    };
  }

  /** Hidden columns of the tables a query reads: an ECS mapping may name one only if the SELECT does. */
  private hiddenColumns(tables: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    for (const t of tables) for (const c of this.schema.table(t)?.columns ?? []) if (c.hidden && !out.has(c.name)) out.set(c.name, t);
    return out;
  }
}

function sqlIssue(i: OsquerySqlIssue): QueryIssue {
  const out: QueryIssue = { severity: i.severity, code: i.code, message: i.message };
  if (i.table !== undefined) out.table = i.table;
  if (i.column !== undefined) out.column = i.column;
  if (i.position !== undefined) out.position = i.position;
  return out;
}

function ecsIssue(i: EcsIssue): QueryIssue {
  return { severity: i.severity, code: i.code, message: i.message, field: i.field };
}

/** JSON Pointer escaping for an object key (RFC 6901). */
function pointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function parseMapping(text: string): EcsMapping {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as EcsMapping) : {};
  } catch {
    return {};
  }
}

function invalid(details: IssueDetail[]): InstanceType<typeof ValidationError> {
  const first = details[0]?.message ?? '';
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : '';
  return new ValidationError(`the saved query is invalid: ${first}${more}`, details);
}

function duplicate(name: string): InstanceType<typeof ConflictError> {
  return new ConflictError(`a saved query named ${name} already exists`, [{ path: '/name', message: `${name} is taken` }]);
}
