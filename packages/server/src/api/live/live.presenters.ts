/**
 * Live query rows → API shapes (camelCase, ISO times). ECS fields are computed here, next to the
 * `osquery` columns, with the queries area's `applyEcs` when it is published (seed 004 "Map result
 * fields to ECS": results carry both the original `osquery.*` fields and the mapped ones).
 */
import type { LiveHost, LiveHostStatus, LiveQuery, LiveQuerySummary, LiveResultRow, LiveTargetSpec } from '@mimir/api-contract';
import type { EcsMapping, ServiceHub } from '../../services/contracts.js';
import { countsOf, parseEcs, partCounts, stateOf, type LiveQueryDetail, type LiveQueryService } from '../../services/live/live-query.service.js';
import type { LiveQueryPartRow, LiveQueryRow } from '../../storage/repositories/live-queries.repository.js';
import { iso, isoOrNull } from '../presenters.js';

export type Cell = string | number | boolean | null;
export type Columns = Record<string, Cell>;

function columnsOf(text: string): string[] {
  const v = JSON.parse(text) as unknown;
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function parseRow(data: string): Columns {
  const v = JSON.parse(data) as unknown;
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Columns) : {};
}

export function presentSummary(row: LiveQueryRow, parts: readonly LiveQueryPartRow[]): LiveQuerySummary {
  const first = parts[0];
  const sql = parts.length === 1 && first !== undefined ? first.sql : row.pack_name !== '' ? row.pack_name : parts.map((p) => p.name).join(', ');
  return {
    id: row.id,
    createdAt: iso(row.created_at),
    expiresAt: iso(row.expires_at),
    finishedAt: isoOrNull(row.finished_at),
    status: stateOf(row),
    sql,
    packId: row.pack_id,
    packName: row.pack_name,
    queryCount: parts.length,
    createdBy: { id: row.created_by, email: row.created_by_email },
    counts: countsOf(row, parts),
    rowCount: row.row_count,
    truncated: row.truncated === 1,
  };
}

export function presentLiveQuery(d: LiveQueryDetail, svc: LiveQueryService): LiveQuery {
  const { row, parts } = d;
  return {
    ...presentSummary(row, parts),
    timeoutSeconds: row.timeout_seconds,
    targets: JSON.parse(row.targets) as LiveTargetSpec,
    savedQueryId: row.saved_query_id,
    rerunOf: row.rerun_of,
    queries: parts.map((p) => ({
      index: p.idx,
      name: p.name,
      sql: p.sql,
      ecsMapping: parseEcs(p.ecs_mapping) as LiveQuery['queries'][number]['ecsMapping'],
      columns: columnsOf(p.columns),
      counts: partCounts(row, p),
    })),
    pendingDelivered: d.pendingDelivered,
    storedRowCount: row.stored_rows,
    notice: svc.notice(row),
    warnings: columnsOf(row.warnings),
  };
}

export function presentHost(h: {
  host_id: number; query_idx: number; status: string; message: string; row_count: number; answered_at: number | null;
  hostname: string | null; platform: string | null; delivered_at: number | null;
}): LiveHost {
  return {
    hostId: h.host_id,
    hostname: h.hostname ?? '',
    platform: h.platform ?? '',
    queryIndex: h.query_idx,
    status: h.status as LiveHostStatus,
    delivered: h.status !== 'pending' || h.delivered_at !== null,
    message: h.message,
    rowCount: h.row_count,
    answeredAt: isoOrNull(h.answered_at),
  };
}

/** ECS mappings per query index, and the function that applies them (absent: no ECS fields). */
export interface EcsContext {
  mappings: Map<number, EcsMapping>;
  apply: ServiceHub['applyEcs'];
}

export function ecsContext(parts: readonly LiveQueryPartRow[], hub: ServiceHub): EcsContext {
  const mappings = new Map<number, EcsMapping>();
  for (const p of parts) {
    const m = parseEcs(p.ecs_mapping);
    if (m !== null) mappings.set(p.idx, m);
  }
  return { mappings, apply: hub.applyEcs };
}

export function ecsOf(ctx: EcsContext, queryIdx: number, columns: Columns): Record<string, unknown> | undefined {
  const mapping = ctx.mappings.get(queryIdx);
  if (mapping === undefined || ctx.apply === undefined) return undefined;
  // applyEcs returns the whole Elastic document; its `osquery` copy is already next to it.
  const { osquery: _copy, ...ecs } = ctx.apply(mapping, columns);
  return ecs;
}

export function presentResult(
  r: { id: number; host_id: number; query_idx: number; data: string; hostname: string | null }, ctx: EcsContext,
): LiveResultRow {
  const osquery = parseRow(r.data);
  const ecs = ecsOf(ctx, r.query_idx, osquery);
  return { id: r.id, hostId: r.host_id, hostname: r.hostname ?? '', queryIndex: r.query_idx, osquery, ...(ecs !== undefined ? { ecs } : {}) };
}
