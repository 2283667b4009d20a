/**
 * CSV and NDJSON exports of live query results, produced page by page so a million-row export
 * never sits in memory (Fleet #11856/#14874: big result sets broke the browser; exports are the
 * way out, so they must not break the server instead).
 */
import type { LiveQueryPartRow } from '../../storage/repositories/live-queries.repository.js';
import type { LiveQueryService } from '../../services/live/live-query.service.js';
import { csvLine } from '../csv.js';
import { ecsOf, parseRow, presentResult, type EcsContext } from './live.presenters.js';

export type ExportFilter = { hostId?: number | undefined; queryIdx?: number | undefined; q?: string | undefined };

/** `{user: {name: "x"}}` → `{"user.name": "x"}` (ECS field names as CSV headers). */
export function flatten(doc: Readonly<Record<string, unknown>>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(doc)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) flatten(v as Record<string, unknown>, key, out);
    else out[key] = v;
  }
  return out;
}

function columnsOf(p: LiveQueryPartRow): string[] {
  const v = JSON.parse(p.columns) as unknown;
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export async function* csvExport(svc: LiveQueryService, id: number, parts: readonly LiveQueryPartRow[], ctx: EcsContext, f: ExportFilter): AsyncGenerator<string> {
  const chosen = parts.filter((p) => f.queryIdx === undefined || p.idx === f.queryIdx);
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const p of chosen) {
    for (const c of columnsOf(p)) {
      if (!seen.has(c)) {
        seen.add(c);
        columns.push(c);
      }
    }
  }
  const ecsFields = ctx.apply === undefined ? [] : [...new Set(chosen.flatMap((p) => Object.keys(ctx.mappings.get(p.idx) ?? {})))].sort();
  const multi = parts.length > 1;
  yield csvLine(['host_id', 'hostname', ...(multi ? ['query'] : []), ...columns, ...ecsFields]);
  const names = new Map(parts.map((p) => [p.idx, p.name]));
  for await (const page of svc.iterateResults(id, f)) {
    let chunk = '';
    for (const r of page) {
      const row = parseRow(r.data);
      const ecs = ecsFields.length > 0 ? flatten(ecsOf(ctx, r.query_idx, row) ?? {}) : {};
      chunk += csvLine([
        r.host_id, r.hostname ?? '', ...(multi ? [names.get(r.query_idx) ?? ''] : []), ...columns.map((c) => row[c]), ...ecsFields.map((e) => ecs[e]),
      ]);
    }
    yield chunk;
  }
}

export async function* ndjsonExport(svc: LiveQueryService, id: number, ctx: EcsContext, f: ExportFilter): AsyncGenerator<string> {
  for await (const page of svc.iterateResults(id, f)) {
    let chunk = '';
    for (const r of page) chunk += `${JSON.stringify(presentResult(r, ctx))}\n`;
    yield chunk;
  }
}
