/**
 * Browsing and exporting scheduled query results (osquery result logs, osquery-protocol.md §4.2):
 * filters by pack, query, host, osquery time, action and free text; newest first with keyset
 * cursors, so page 1000 costs what page 1 costs. Rows of a pack query with an ECS mapping also get
 * the mapped document (seed 004 "Map result fields to ECS": "the results include the original
 * osquery.<fields> and the mapped ECS fields").
 */
import { BadRequestError, NotFoundError, ValidationError } from '../../errors.js';
import type { ResultFilter, ResultPosition } from '../../storage/repositories/results.repository.js';
import { decodeCursor, encodeCursor } from '../../storage/sql-helpers.js';
import type { Store } from '../../storage/store.js';
import type { EcsMapping, ServiceHub } from '../contracts.js';
import { splitPackQueryName } from '../log-ingest.service.js';

export interface ResultQuery {
  packId?: number | undefined;
  pack?: string | undefined;
  query?: string | undefined;
  name?: string | undefined;
  hostId?: number | undefined;
  action?: string | undefined;
  /** Milliseconds; compared with osquery's unixTime (seconds). */
  sinceMs?: number | undefined;
  untilMs?: number | undefined;
  q?: string | undefined;
}

export interface ResultItem {
  id: number;
  hostId: number;
  hostname: string;
  name: string;
  pack: string;
  query: string;
  action: string;
  /** Seconds, as osquery sent it. */
  unixTime: number;
  /** Milliseconds. */
  receivedAt: number;
  columns: Record<string, unknown>;
  decorations: Record<string, unknown>;
  ecs: Record<string, unknown> | null;
}

type SearchRows = Awaited<ReturnType<Store['results']['search']>>;

/** Rows fetched per database round trip while exporting. */
const EXPORT_PAGE = 500;

function objectOf(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function positionOf(cursor: string | undefined): ResultPosition | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const v = decodeCursor(cursor);
  if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && Number.isSafeInteger(v[1])) {
    return { unixTime: v[0] as number, id: v[1] as number };
  }
  throw new BadRequestError('cursor is not one this API returned');
}

export class ResultsService {
  constructor(private readonly store: Store, private readonly hub: ServiceHub) {}

  async page(query: ResultQuery, cursor: string | undefined, limit: number): Promise<{ items: ResultItem[]; nextCursor: string | null }> {
    const filter = await this.filterOf(query);
    const rows = await this.store.results.search(filter, positionOf(cursor), limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: await this.present(page),
      nextCursor: rows.length > limit && last !== undefined ? encodeCursor([last.unix_time, last.id]) : null,
    };
  }

  /**
   * Every matching row, newest first, fetched a page at a time as the consumer reads (exports).
   * The filter is resolved first, so a bad filter fails before any byte is sent.
   */
  async export(query: ResultQuery, max?: number): Promise<AsyncIterable<ResultItem>> {
    const filter = await this.filterOf(query);
    const limit = max ?? Number.MAX_SAFE_INTEGER;
    const search = (before: ResultPosition | undefined, n: number) => this.store.results.search(filter, before, n);
    const present = (rows: SearchRows) => this.present(rows);
    return {
      async *[Symbol.asyncIterator]() {
        let before: ResultPosition | undefined;
        let sent = 0;
        while (sent < limit) {
          const want = Math.min(EXPORT_PAGE, limit - sent);
          const rows = await search(before, want);
          yield* await present(rows);
          sent += rows.length;
          const last = rows[rows.length - 1];
          if (last === undefined || rows.length < want) return;
          before = { unixTime: last.unix_time, id: last.id };
        }
      },
    };
  }

  private async filterOf(q: ResultQuery): Promise<ResultFilter> {
    let pack = q.pack;
    if (q.packId !== undefined) {
      const p = await this.store.packs.findById(q.packId);
      if (p === undefined) throw new NotFoundError(`pack ${q.packId} not found`);
      if (pack !== undefined && pack !== p.name) {
        throw new ValidationError('packId and pack name disagree', [{ path: '/pack', message: `pack ${q.packId} is named "${p.name}"` }]);
      }
      pack = p.name;
    }
    if (q.sinceMs !== undefined && q.untilMs !== undefined && q.untilMs <= q.sinceMs) {
      throw new ValidationError('empty time range', [{ path: '/until', message: 'until must be after since' }]);
    }
    // A name filter also filters on the pack and query it splits into (stored rows carry both,
    // log-ingest.service.ts): the (pack, query, unix_time) index then serves it, with no index of
    // its own on name to keep up at every insert (migration 0011).
    const split = q.name === undefined ? undefined : splitPackQueryName(q.name);
    return {
      pack,
      query: q.query,
      name: q.name,
      packOfName: split?.pack,
      queryOfName: split?.query,
      hostId: q.hostId,
      action: q.action,
      since: q.sinceMs === undefined ? undefined : Math.ceil(q.sinceMs / 1000),
      until: q.untilMs === undefined ? undefined : Math.ceil(q.untilMs / 1000),
      q: q.q,
    };
  }

  private async present(rows: SearchRows): Promise<ResultItem[]> {
    const applyEcs = this.hub.applyEcs;
    const mappings = applyEcs === undefined ? new Map<string, string>() : await this.store.packs.ecsMappings(rows.map((r) => ({ pack: r.pack, query: r.query })));
    const parsed = new Map<string, EcsMapping | null>();
    const mappingFor = (key: string): EcsMapping | null => {
      if (!parsed.has(key)) {
        const text = mappings.get(key);
        parsed.set(key, text === undefined ? null : (objectOf(text) as EcsMapping));
      }
      return parsed.get(key) ?? null;
    };
    return rows.map((r) => {
      const columns = objectOf(r.columns);
      let ecs: Record<string, unknown> | null = null;
      const mapping = r.pack === '' ? null : mappingFor(`${r.pack}\u0000${r.query}`);
      if (applyEcs !== undefined && mapping !== null) {
        try {
          ecs = { ...applyEcs(mapping, columns), osquery: columns };
        } catch {
          // A mapping the ECS service rejects must not hide the row itself.
          ecs = null;
        }
      }
      return {
        id: r.id,
        hostId: r.host_id,
        hostname: r.hostname ?? '',
        name: r.name,
        pack: r.pack,
        query: r.query,
        action: r.action,
        unixTime: r.unix_time,
        receivedAt: r.received_at,
        columns,
        decorations: objectOf(r.decorations),
        ecs,
      };
    });
  }
}
