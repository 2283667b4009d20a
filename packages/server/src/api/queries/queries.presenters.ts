/**
 * Presenters of the queries area (see ../presenters.ts): exactly the fields that leave the server,
 * snake_case rows → camelCase, times as ISO strings.
 */
import type { EcsField, EcsMapping, SavedQuery, SqlIssue } from '@mimir/api-contract';
import type { EcsMapping as StoredEcsMapping } from '../../services/contracts.js';
import type { EcsField as CatalogField } from '../../services/ecs/ecs-catalog.js';
import type { AnalyzedSavedQuery, QueryIssue } from '../../services/queries/saved-query.service.js';
import { iso } from '../presenters.js';

export function presentIssue(i: QueryIssue): SqlIssue {
  const out: SqlIssue = { severity: i.severity, code: i.code, message: i.message };
  if (i.table !== undefined) out.table = i.table;
  if (i.column !== undefined) out.column = i.column;
  if (i.field !== undefined) out.field = i.field;
  if (i.position !== undefined) out.position = i.position;
  return out;
}

export function presentEcsMapping(m: StoredEcsMapping): EcsMapping {
  const out: EcsMapping = {};
  for (const [name, entry] of Object.entries(m)) {
    if (entry.field !== undefined) out[name] = { field: entry.field };
    else if (entry.value !== undefined) out[name] = { value: typeof entry.value === 'object' ? [...entry.value] : entry.value };
  }
  return out;
}

export function presentSavedQuery(q: AnalyzedSavedQuery): SavedQuery {
  const r = q.row;
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    sql: r.sql,
    timeout: r.timeout,
    ecsMapping: presentEcsMapping(q.ecsMapping),
    interval: r.interval,
    minOsqueryVersion: r.min_osquery_version,
    platform: r.platform,
    prebuilt: r.prebuilt === 1,
    tables: q.tables,
    warnings: q.warnings.map(presentIssue),
    errors: q.errors.map(presentIssue),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    createdBy: r.created_by === '' ? null : r.created_by,
    updatedBy: r.updated_by === '' ? null : r.updated_by,
  };
}

export function presentEcsField(f: CatalogField): EcsField {
  const out: EcsField = { name: f.name, type: f.type, level: f.level, description: f.short, array: f.array === true };
  if (f.allowed !== undefined) out.allowedValues = [...f.allowed];
  return out;
}
