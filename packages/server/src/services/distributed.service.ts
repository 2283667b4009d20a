/**
 * Distributed (live) queries on the osquery side (osquery-protocol.md §5, S9): a per-host queue
 * delivered once, plus host vitals, on each `distributed/read`; idempotent result upserts on
 * `distributed/write`.
 *
 * Hot path: a read with nothing pending does no database work. Hosts with queued items are kept
 * in an in-memory set, loaded at start and maintained by enqueue/deliver.
 */
import { EventEmitter } from 'node:events';
import type { DistributedReadResponse, DistributedResult } from '@mimir/osquery-protocol';
import { chunkIds, type Cluster } from '../cluster/cluster.js';
import type { Store } from '../storage/store.js';
import type { HostState } from './host-cache.js';
import { VITALS_PREFIX, type VitalsSource } from './vitals/vitals.types.js';

export interface QueueItem {
  hostId: number;
  /** Name sent to osquery; results come back under it. Must be unique per host while queued. */
  name: string;
  sql: string;
  discovery?: string | undefined;
  /** Who queued it: `live`, `label`, `api`… (for routing and display). */
  source: string;
  expiresAt?: number | undefined;
}

export interface DistributedEvents {
  /** A host answered a queued query (not emitted for vitals). */
  result: [hostId: number, result: DistributedResult, source: string];
}

/** osquery re-sends a request once after a transport failure (§1.5); replay the answer that fast. */
const REPLAY_WINDOW_MS = 3_000;
/** Fleet sends `accelerate` for new hosts so their vitals arrive quickly (§5.1, Fleet §1.16). */
const NEW_HOST_ACCELERATE_S = 10;

export class DistributedService extends EventEmitter<DistributedEvents> {
  private readonly pendingHosts = new Set<number>();

  constructor(
    private readonly store: Store,
    private readonly vitals: VitalsSource,
    private readonly cluster?: Cluster,
    private readonly clock: () => number = Date.now,
  ) {
    super();
    // Scale-out (issue #10): a live query started on another instance reaches hosts checking in
    // here. Too many hosts to list, or a bus outage: reload the whole set from the database.
    cluster?.on('distributed.pending', ({ hostIds }) => {
      if (hostIds !== null) for (const id of hostIds) this.pendingHosts.add(id);
      else void this.reload();
    });
    cluster?.on('resync', () => void this.reload());
  }

  async init(now: number): Promise<void> {
    for (const id of await this.store.distributed.pendingHostIds(now)) this.pendingHosts.add(id);
  }

  private async reload(): Promise<void> {
    try {
      await this.init(this.clock());
    } catch {
      // The next message or resync tries again; hosts pending meanwhile get their queries then.
    }
  }

  /** Queue queries for hosts. They go out on each host's next distributed/read. */
  async enqueue(items: readonly QueueItem[], now: number): Promise<void> {
    if (items.length === 0) return;
    await this.store.transaction((tx) =>
      tx.distributed.enqueue(
        items.map((i) => ({
          host_id: i.hostId,
          name: i.name,
          sql: i.sql,
          discovery: i.discovery ?? null,
          source: i.source,
          created_at: now,
          expires_at: i.expiresAt ?? null,
          delivered_at: null,
          answered_at: null,
        })),
      ),
    );
    const hostIds = [...new Set(items.map((i) => i.hostId))];
    for (const id of hostIds) this.pendingHosts.add(id);
    if (hostIds.length > 2_000) this.cluster?.publish('distributed.pending', { hostIds: null });
    else for (const part of chunkIds(hostIds)) this.cluster?.publish('distributed.pending', { hostIds: part });
  }

  hasPending(hostId: number): boolean {
    return this.pendingHosts.has(hostId);
  }

  async read(host: HostState, now: number): Promise<DistributedReadResponse> {
    const queries: Record<string, string> = {};
    const discovery: Record<string, string> = {};
    if (host.lastRead !== undefined && now - host.lastRead.at < REPLAY_WINDOW_MS) {
      Object.assign(queries, host.lastRead.queries);
    }
    const vitals = this.vitals.dueQueries(host, now);
    if (vitals !== undefined) Object.assign(queries, vitals);
    if (this.pendingHosts.has(host.id)) {
      const items = await this.store.distributed.pendingForHost(host.id, now);
      this.pendingHosts.delete(host.id);
      if (items.length > 0) {
        for (const it of items) {
          queries[it.name] = it.sql;
          if (it.discovery !== null && it.discovery !== '') discovery[it.name] = it.discovery;
        }
        await this.store.transaction((tx) => tx.distributed.markDelivered(items.map((i) => i.id), now));
      }
    }
    const names = Object.keys(queries);
    if (names.length === 0) {
      host.lastRead = undefined;
      return { queries };
    }
    host.lastRead = { at: now, queries };
    const response: DistributedReadResponse = { queries };
    if (Object.keys(discovery).length > 0) {
      // osquery < 5.8 skips every query without a discovery entry as soon as one has one; pad with
      // SELECT 1 as Fleet does (§5.1, §9 item 9). Harmless on ≥ 5.8.
      for (const n of names) discovery[n] ??= 'SELECT 1';
      response.discovery = discovery;
    }
    if (host.detailUpdatedAt === 0) response.accelerate = NEW_HOST_ACCELERATE_S;
    return response;
  }

  /** Store a distributed write. Idempotent: resending the same write changes nothing more. */
  async write(host: HostState, results: readonly DistributedResult[], now: number): Promise<void> {
    host.lastRead = undefined;
    const vitals = results.filter((r) => r.id.startsWith(VITALS_PREFIX));
    const others = results.filter((r) => !r.id.startsWith(VITALS_PREFIX));
    const sources = new Map<string, string>();
    await this.store.transaction(async (tx) => {
      if (vitals.length > 0) await this.vitals.ingest(tx, host, vitals, now);
      if (others.length > 0) {
        await tx.distributed.upsertResults(
          others.map((r) => ({
            host_id: host.id,
            name: r.id,
            status: r.status,
            message: r.message,
            rows: JSON.stringify(r.rows),
            row_count: r.rows.length,
            stats: r.stats === null ? null : JSON.stringify(r.stats),
            received_at: now,
          })),
        );
        await tx.distributed.markAnswered(host.id, others.map((r) => r.id), now);
        for (const r of others) {
          const item = await tx.distributed.getQueueItem(host.id, r.id);
          if (item !== undefined) sources.set(r.id, item.source);
        }
      }
    });
    for (const r of others) this.emit('result', host.id, r, sources.get(r.id) ?? 'unknown');
  }
}
