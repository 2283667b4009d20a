/**
 * Result and status log ingestion (osquery-protocol.md §4, S8). A request is stored whole in one
 * transaction or not at all. Each stored row carries a hash of (its position in the request, its
 * content); osquery re-sends the same lines after a lost response (§1.5, §9 item 18) and re-reads
 * its buffer from the oldest line after a failure (§4.1), so a resent line lands on the same hash
 * and is skipped by the unique index.
 */
import type { EcsMapping, ServiceHub } from './contracts.js';
import { createHash } from 'node:crypto';
import { stripNul, type NormalizedLog, type ResultRecord, type StatusRecord } from '@mimir/osquery-protocol';
import type { Store } from '../storage/store.js';
import type { NewResultLog, NewStatusLog } from '../storage/repositories/logs.repository.js';
import type { NdjsonSink } from './ndjson-sink.js';
import { LogWriter } from './log-writer.js';

export interface LogHost {
  id: number;
  identifier: string;
  hostname: string;
}

/** `pack/<pack>/<query>` (we serve pack_delimiter "/") → pack and query names. */
export function splitPackQueryName(name: string): { pack: string; query: string } {
  if (name.startsWith('pack/')) {
    const rest = name.slice(5);
    const i = rest.indexOf('/');
    if (i > 0) return { pack: rest.slice(0, i), query: rest.slice(i + 1) };
  }
  return { pack: '', query: name };
}

function digest(parts: readonly (string | number)[]): string {
  return createHash('sha1').update(parts.join('\u0000')).digest('base64url').slice(0, 22);
}

export interface IngestResult {
  received: number;
  stored: number;
}

export class LogIngestService {
  /** ECS mappings of pack queries by `pack\u0000query`, refreshed every minute (seed 004 mappings live on pack queries). */
  private ecsCache: { at: number; mappings: Map<string, EcsMapping> } | undefined;
  private readonly writer: LogWriter;

  constructor(
    private readonly store: Store,
    private readonly sinks: { results?: NdjsonSink | undefined; statuses?: NdjsonSink | undefined } = {},
    /** The ECS applier once the queries area has published it (core.hub.applyEcs). */
    private readonly ecs: () => ServiceHub['applyEcs'] = () => undefined,
  ) {
    this.writer = new LogWriter(store);
  }

  /** ECS mappings for the pack queries among `rows` (only consulted when a sink mirrors results). */
  private async ecsMappings(rows: readonly NewResultLog[], now: number): Promise<Map<string, EcsMapping>> {
    if (this.ecsCache === undefined || now - this.ecsCache.at > 60_000) {
      const pairs = new Map<string, { pack: string; query: string }>();
      for (const r of rows) if (r.pack !== undefined && r.pack !== '') pairs.set(`${r.pack}\u0000${r.query ?? ''}`, { pack: r.pack, query: r.query ?? '' });
      const raw = await this.store.packs.ecsMappings([...pairs.values()]);
      const mappings = new Map<string, EcsMapping>();
      for (const [k, v] of raw) mappings.set(k, JSON.parse(v) as EcsMapping);
      // Cache what was looked up; pairs never seen before are looked up next time the cache lapses.
      this.ecsCache = { at: now, mappings };
    }
    return this.ecsCache.mappings;
  }

  async ingest(host: LogHost, log: NormalizedLog, now: number): Promise<IngestResult> {
    return log.type === 'result' ? this.ingestResults(host, log.records, now) : this.ingestStatuses(host, log.records, now);
  }

  private async ingestResults(host: LogHost, records: readonly ResultRecord[], now: number): Promise<IngestResult> {
    const rows: NewResultLog[] = [];
    records.forEach((rec, i) => {
      // Row values are NUL-free already (normalize.ts); the name is stored as a text column too
      // and PostgreSQL text refuses NUL (§9 item 13).
      const name = stripNul(rec.name);
      const { pack, query } = splitPackQueryName(name);
      const decorations = JSON.stringify(rec.decorations);
      rec.rows.forEach((row, j) => {
        const columns = JSON.stringify(row.columns);
        rows.push({
          host_id: host.id,
          name,
          pack,
          query,
          action: row.action,
          columns,
          decorations,
          unix_time: rec.unixTime,
          epoch: rec.epoch,
          counter: rec.counter,
          received_at: now,
          dedup: digest([i, j, name, rec.unixTime, rec.epoch, rec.counter, row.action, columns]),
        });
      });
    });
    if (rows.length === 0) return { received: 0, stored: 0 };
    // The stored set is asked for only when a sink mirrors it: RETURNING costs SQLite a result row each.
    const sink = this.sinks.results;
    const { count, stored } = await this.writer.write(rows.length, (tx) => tx.logs.insertResults(rows, { returnStored: sink !== undefined }));
    if (sink === undefined) return { received: rows.length, stored: count };
    // Mirror only what this request stored: a resent line (§1.5, §4.1) is skipped by the
    // dedup index and must not reach the NDJSON file twice either.
    const apply = this.ecs();
    const mappings = apply !== undefined ? await this.ecsMappings(rows, now) : undefined;
    sink.write(
      rows.filter((r) => stored.has(r.dedup)).map((r) => {
        const columns = JSON.parse(r.columns) as Record<string, unknown>;
        const mapping = mappings?.get(`${r.pack ?? ''}\u0000${r.query ?? ''}`);
        // Mapped ECS fields sit next to the original `osquery.*` row (seed 004 "results include both").
        const { osquery: _original, ...ecsFields } = mapping !== undefined && apply !== undefined ? apply(mapping, columns) : {};
        return {
        ...ecsFields,
        '@timestamp': new Date(r.unix_time * 1000).toISOString(),
        host: { id: host.id, identifier: host.identifier, hostname: host.hostname },
        name: r.name,
        pack: r.pack,
        query: r.query,
        action: r.action,
        epoch: r.epoch,
        counter: r.counter,
        decorations: JSON.parse(r.decorations ?? '{}') as unknown,
        osquery: columns,
        };
      }),
    );
    return { received: rows.length, stored: count };
  }

  private async ingestStatuses(host: LogHost, records: readonly StatusRecord[], now: number): Promise<IngestResult> {
    const clean = records.map((s) => ({ ...s, filename: stripNul(s.filename), version: stripNul(s.version) }));
    const rows: NewStatusLog[] = clean.map((s, i) => ({
      host_id: host.id,
      unix_time: s.unixTime,
      severity: s.severity,
      filename: s.filename,
      line: s.line,
      message: s.message,
      version: s.version,
      received_at: now,
      dedup: digest([i, s.unixTime, s.severity, s.filename, s.line, s.message]),
    }));
    if (rows.length === 0) return { received: 0, stored: 0 };
    const sink = this.sinks.statuses;
    const { count, stored } = await this.writer.write(rows.length, (tx) => tx.logs.insertStatuses(rows, { returnStored: sink !== undefined }));
    if (sink === undefined) return { received: rows.length, stored: count };
    sink.write(
      clean.filter((_, i) => stored.has(rows[i]?.dedup ?? '')).map((s) => ({
        '@timestamp': new Date(s.unixTime * 1000).toISOString(),
        host: { id: host.id, identifier: host.identifier, hostname: host.hostname },
        severity: s.severity,
        filename: s.filename,
        line: s.line,
        message: s.message,
        version: s.version,
      })),
    );
    return { received: rows.length, stored: count };
  }
}
