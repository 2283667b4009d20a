/**
 * In-memory index of enrolled hosts by node-key hash: the check-in hot path (config, log,
 * distributed) authenticates without touching the database (Fleet §6.3 "a bounded host cache
 * keyed by node key", here in-process). Also tracks last-seen times and writes them in batches.
 */
import { createHash } from 'node:crypto';
import type { HostPlatform } from '@mimir/osquery-protocol';
import { HOST_PLATFORMS } from '@mimir/osquery-protocol';
import { chunkIds } from '../cluster/cluster.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Store } from '../storage/store.js';
import type { HostAuthRow } from '../storage/repositories/hosts.repository.js';

export interface HostState {
  readonly id: number;
  readonly keyHash: string;
  groupId: number;
  identifier: string;
  hostname: string;
  platform: HostPlatform;
  osqueryVersion: string;
  detailUpdatedAt: number;
  refetchRequested: boolean;
  /** When detail queries were last handed out, to avoid resending them every check-in. */
  detailRequestedAt: number;
  seenAt: number;
  seenWrittenAt: number;
  /** The last distributed/read answer, replayed if osquery re-sends the same read (§1.5). */
  lastRead: { at: number; queries: Record<string, string> } | undefined;
}

export function hashNodeKey(nodeKey: string): string {
  return createHash('sha256').update(nodeKey).digest('hex');
}

function toPlatform(p: string): HostPlatform {
  return (HOST_PLATFORMS as readonly string[]).includes(p) ? (p as HostPlatform) : 'unknown';
}

/** Only write a host's last-seen time when it moved by this much: online status has a 60 s buffer. */
const SEEN_WRITE_GRANULARITY_MS = 15_000;

export class HostCache {
  private readonly byKey = new Map<string, HostState>();
  private readonly byId = new Map<number, HostState>();
  private readonly dirtySeen = new Set<HostState>();
  private readonly maxEntries: number;
  private readonly cluster: Cluster | undefined;

  constructor(private readonly store: Store, opts: { maxEntries?: number; cluster?: Cluster | undefined } = {}) {
    this.maxEntries = opts.maxEntries ?? 1_000_000;
    // Scale-out (issue #10): a host re-enrolled, deleted or changed through another instance is
    // dropped here and reloaded from the database on its next check-in, so an old node key stops
    // working everywhere at once.
    this.cluster = opts.cluster;
    this.cluster?.on('hosts.evict', ({ hostIds }) => {
      for (const id of hostIds) this.evict(id);
    });
    this.cluster?.on('resync', () => {
      for (const id of [...this.byId.keys()]) this.evict(id);
    });
  }

  /**
   * Cached state of these hosts changed here (group, refetch flag, new key): other instances drop
   * theirs. Callers may call it host by host (moving 10k hosts): ids are gathered and sent at the
   * next turn of the event loop, a few hundred per message.
   */
  changed(hostIds: readonly number[]): void {
    if (this.cluster === undefined || hostIds.length === 0) return;
    for (const id of hostIds) this.changedIds.add(id);
    if (this.changeScheduled) return;
    this.changeScheduled = true;
    setImmediate(() => {
      this.changeScheduled = false;
      const ids = [...this.changedIds];
      this.changedIds.clear();
      for (const part of chunkIds(ids)) this.cluster?.publish('hosts.evict', { hostIds: part });
    });
  }

  private readonly changedIds = new Set<number>();
  private changeScheduled = false;

  get size(): number {
    return this.byKey.size;
  }

  /** Resolve a node key; undefined when unknown. One SHA-256 and one Map lookup when cached. */
  async authenticate(nodeKey: string): Promise<HostState | undefined> {
    if (nodeKey === '') return undefined;
    const keyHash = hashNodeKey(nodeKey);
    const hit = this.byKey.get(keyHash);
    if (hit !== undefined) return hit;
    const row = await this.store.hosts.findByNodeKeyHash(keyHash);
    if (row === undefined) return undefined;
    return this.put(row, keyHash, 0);
  }

  getById(id: number): HostState | undefined {
    return this.byId.get(id);
  }

  /** Put a freshly enrolled host in the cache (replacing any older entry for it, here and on other instances). */
  admit(row: HostAuthRow, keyHash: string, seenAt = 0): HostState {
    const state = this.put(row, keyHash, seenAt);
    this.changed([row.id]);
    return state;
  }

  private put(row: HostAuthRow, keyHash: string, seenAt: number): HostState {
    this.evict(row.id);
    if (this.byKey.size >= this.maxEntries) {
      // Bounded: drop the oldest entry; it reloads from the database on its next check-in.
      const oldest = this.byKey.values().next();
      if (oldest.done !== true) this.evict(oldest.value.id);
    }
    const state: HostState = {
      id: row.id,
      keyHash,
      groupId: row.group_id,
      identifier: row.identifier,
      hostname: row.hostname,
      platform: toPlatform(row.platform),
      osqueryVersion: row.osquery_version,
      detailUpdatedAt: row.detail_updated_at,
      refetchRequested: row.refetch_requested !== 0,
      detailRequestedAt: 0,
      seenAt,
      seenWrittenAt: seenAt,
      lastRead: undefined,
    };
    this.byKey.set(keyHash, state);
    this.byId.set(row.id, state);
    return state;
  }

  /** Forget a host (deleted, re-enrolled, or changed elsewhere); it reloads on next use. */
  evict(hostId: number): void {
    const s = this.byId.get(hostId);
    if (s === undefined) return;
    this.byId.delete(hostId);
    this.byKey.delete(s.keyHash);
    if (this.dirtySeen.has(s)) {
      // Keep the pending last-seen write: it is still true for the host row.
      this.pendingSeen.push([s.id, s.seenAt]);
      this.dirtySeen.delete(s);
    }
  }

  private pendingSeen: Array<[number, number]> = [];

  /** A deleted host: drop it and any last-seen write still pending for it. */
  forget(hostId: number): void {
    const s = this.byId.get(hostId);
    if (s !== undefined) this.dirtySeen.delete(s);
    this.pendingSeen = this.pendingSeen.filter(([id]) => id !== hostId);
    this.evict(hostId);
    this.changed([hostId]);
  }

  /** Record a check-in. No database write here: see flushSeen. */
  touch(state: HostState, now: number): void {
    state.seenAt = now;
    if (now - state.seenWrittenAt >= SEEN_WRITE_GRANULARITY_MS) this.dirtySeen.add(state);
  }

  /** Write batched last-seen times in one transaction. Returns how many hosts were written. */
  async flushSeen(): Promise<number> {
    if (this.dirtySeen.size === 0 && this.pendingSeen.length === 0) return 0;
    const batch: Array<[number, number]> = this.pendingSeen;
    this.pendingSeen = [];
    for (const s of this.dirtySeen) batch.push([s.id, s.seenAt]);
    const states = [...this.dirtySeen];
    this.dirtySeen.clear();
    try {
      await this.store.transaction((tx) => tx.hosts.upsertSeen(batch));
      for (const s of states) s.seenWrittenAt = s.seenAt;
    } catch (err) {
      // Retry on the next flush; a host deleted meanwhile (foreign key) is dropped then.
      for (const s of states) if (this.byId.get(s.id) === s) this.dirtySeen.add(s);
      throw err;
    }
    return batch.length;
  }
}
