/**
 * What leaves the server for packs, results and carves (Outline presenters, as in
 * api/presenters.ts): stored snake_case rows and millisecond times become the camelCase, ISO-time
 * shapes declared in @mimir/api-contract.
 */
import type { Carve, Pack, PackQuery, PackQueryEcsMapping, PackStatus, PackSummary, PackWarning, ScheduledResult } from '@mimir/api-contract';
import type { PackQueryRow } from '../../storage/repositories/packs.repository.js';
import type { CarveItem } from '../../services/results/carves.view.js';
import type { ResultItem } from '../../services/results/results.service.js';
import { discoveryOf, type PackRecord, type PackStatusRecord, type PackSummaryRecord, type PackWarning as ServiceWarning } from '../../services/packs/packs.service.js';
import { iso, isoOrNull } from '../presenters.js';

function ecsOf(text: string): PackQueryEcsMapping {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as PackQueryEcsMapping) : {};
  } catch {
    return {};
  }
}

export function presentPackQuery(q: PackQueryRow): PackQuery {
  return {
    id: q.id,
    name: q.name,
    description: q.description,
    sql: q.sql,
    interval: q.interval,
    snapshot: q.snapshot !== 0,
    removed: q.removed !== 0,
    platform: q.platform,
    minOsqueryVersion: q.min_osquery_version,
    shard: q.shard,
    denylist: q.denylist !== 0,
    timeout: q.timeout,
    ecsMapping: ecsOf(q.ecs_mapping),
    value: q.value,
  };
}

export function presentPackSummary(r: PackSummaryRecord): PackSummary {
  const p = r.pack;
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    enabled: p.enabled !== 0,
    platform: p.platform,
    minOsqueryVersion: p.min_osquery_version,
    discovery: discoveryOf(p.discovery),
    global: p.global !== 0,
    globalShard: p.global_shard,
    targets: r.targets.map((t) => ({ groupId: t.group_id, groupName: t.group_name, shard: t.shard })),
    readOnly: p.read_only !== 0,
    prebuiltId: p.prebuilt_id === '' ? null : p.prebuilt_id,
    queryCount: r.queryCount,
    createdAt: iso(p.created_at),
    updatedAt: iso(p.updated_at),
  };
}

export function presentPack(r: PackRecord): Pack {
  return { ...presentPackSummary(r), queries: r.queries.map(presentPackQuery) };
}

export function presentWarnings(ws: readonly ServiceWarning[]): PackWarning[] {
  return ws.map((w) => ({ query: w.query, message: w.message, ...(w.table !== undefined ? { table: w.table } : {}) }));
}

export function presentPackStatus(s: PackStatusRecord): PackStatus {
  return {
    packId: s.packId,
    name: s.name,
    enabled: s.enabled,
    targetedHosts: s.targetedHosts,
    errorWindowStart: iso(s.windowStart),
    queries: s.queries.map((q) => ({
      ...q,
      lastRunAt: isoOrNull(q.lastRunAt),
      lastResultAt: isoOrNull(q.lastResultAt),
      errors: q.errors.map((e) => ({ ...e, at: iso(e.at) })),
    })),
  };
}

export function presentResult(r: ResultItem): ScheduledResult {
  return {
    id: r.id,
    hostId: r.hostId,
    hostname: r.hostname,
    name: r.name,
    pack: r.pack,
    query: r.query,
    action: r.action,
    unixTime: r.unixTime,
    time: iso(r.unixTime * 1000),
    receivedAt: iso(r.receivedAt),
    columns: r.columns,
    decorations: r.decorations,
    ecs: r.ecs,
  };
}

export function presentCarve(c: CarveItem): Carve {
  return { ...c, createdAt: iso(c.createdAt), updatedAt: iso(c.updatedAt), completedAt: isoOrNull(c.completedAt) };
}
