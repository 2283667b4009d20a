/**
 * What several Mimir instances on one PostgreSQL must tell each other (issue #10): cache
 * invalidations and wake-ups on a bus, and which instance runs the once-per-fleet background jobs.
 *
 * Every message means "something changed in the database; drop what you cached" or "look again":
 * the database stays the only source of truth, so a lost message costs staleness, never data. When
 * the bus connection is lost and comes back, `resync` fires locally so every cache starts over.
 *
 * SQLite is one process: the single-instance cluster has no peers and is always the leader.
 */
import { randomUUID } from 'node:crypto';

/** Topics and their payloads. Payloads are small: NOTIFY carries at most 8000 bytes. */
export interface ClusterTopics {
  /** Hosts whose cached state (node key, group, refetch flag) changed or that were deleted. */
  'hosts.evict': { hostIds: number[] };
  /** Packs, groups, options or settings that shape osquery configs changed. */
  'configs.invalidate': Record<string, never>;
  /** Enroll secrets changed. */
  'secrets.invalidate': Record<string, never>;
  /** Labels were created, changed or deleted. */
  'labels.invalidate': Record<string, never>;
  /** Distributed queue items were queued for these hosts; `null` = too many to list, reload. */
  'distributed.pending': { hostIds: number[] | null };
  /** A live query changed (answers, expiry, cancel): wake its stream subscribers. */
  'live.changed': { id: number };
  /** Local only: the bus was down for a while and messages may be lost; drop every cache. */
  resync: Record<string, never>;
}

export type ClusterTopic = keyof ClusterTopics;

export interface Cluster {
  /** Random per process start; messages from ourselves are ignored. */
  readonly instanceId: string;
  readonly mode: 'single' | 'postgres';
  /** Tell the other instances (not this one: the caller already applied its own change). */
  publish<K extends Exclude<ClusterTopic, 'resync'>>(topic: K, payload: ClusterTopics[K]): void;
  /** Handle a topic from other instances. Returns unsubscribe. */
  on<K extends ClusterTopic>(topic: K, handler: (payload: ClusterTopics[K]) => void): () => void;
  /** This instance runs the once-per-fleet jobs now (retention, label refresh, expiry). */
  isLeader(): boolean;
  close(): Promise<void>;
}

type Handler = (payload: unknown) => void;

/** Handler registry shared by both cluster kinds. */
export class Subscribers {
  private readonly handlers = new Map<string, Set<Handler>>();

  constructor(private readonly onError: (err: unknown, topic: string) => void) {}

  add(topic: string, handler: Handler): () => void {
    let set = this.handlers.get(topic);
    if (set === undefined) {
      set = new Set();
      this.handlers.set(topic, set);
    }
    set.add(handler);
    return () => void this.handlers.get(topic)?.delete(handler);
  }

  deliver(topic: string, payload: unknown): void {
    for (const h of this.handlers.get(topic) ?? []) {
      try {
        h(payload);
      } catch (err) {
        this.onError(err, topic);
      }
    }
  }
}

/** SQLite, or a single PostgreSQL instance without peers: nothing to tell, always the leader. */
export function singleInstanceCluster(): Cluster {
  const subs = new Subscribers(() => undefined);
  return {
    instanceId: randomUUID(),
    mode: 'single',
    publish: () => undefined,
    on: (topic, handler) => subs.add(topic, handler as Handler),
    isLeader: () => true,
    close: () => Promise.resolve(),
  };
}

/** Split a host id list into NOTIFY-sized chunks (8000 bytes; ids are at most 16 digits + comma). */
export function chunkIds(ids: readonly number[], size = 400): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < ids.length; i += size) out.push(ids.slice(i, i + size));
  return out;
}
