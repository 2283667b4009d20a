/**
 * The cluster over PostgreSQL: LISTEN/NOTIFY for messages, a session advisory lock for the leader
 * (issue #10). Both live on one dedicated connection, outside the query pool: LISTEN and session
 * locks belong to a connection, and the pool hands connections to whoever asks.
 *
 * - A message is `{"f": instanceId, "t": topic, "p": payload}` on channel `mimir_cluster`. NOTIFY
 *   is sent after the change it announces has committed (callers publish after their transaction),
 *   so a peer that reacts by reading the database sees the change.
 * - Leader: `pg_try_advisory_lock` polled until won, then held for the life of the connection.
 *   The server releases it when the session ends (process killed, connection lost), and another
 *   instance takes over at its next poll. The jobs a leader runs are idempotent (retention,
 *   expiry, label scheduling), so the moment two instances could both believe they lead (a
 *   half-dead connection not yet noticed) does no harm.
 * - Connection lost: not leader any more, reconnect with a delay, then `resync` locally because
 *   messages sent meanwhile are gone.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../logger.js';
import { Subscribers, type Cluster, type ClusterTopic } from './cluster.js';

export const CLUSTER_CHANNEL = 'mimir_cluster';
/** Advisory lock key pair: 'MIMR' and the leader role. */
const LOCK_CLASS = 0x4d494d52;
const LOCK_LEADER = 1;
/** pg_notify payloads must stay under 8000 bytes. */
const MAX_PAYLOAD = 7900;

export interface PostgresClusterOptions {
  url: string;
  log: Logger;
  /** How often a follower tries to become the leader, and the leader checks its connection. */
  leaderPollMs?: number | undefined;
  /** Delay before reconnecting a lost bus connection. */
  reconnectMs?: number | undefined;
  /** Take part in leader election (default true). */
  lead?: boolean | undefined;
}

export async function postgresCluster(opts: PostgresClusterOptions): Promise<Cluster> {
  const { log } = opts;
  const instanceId = randomUUID();
  const pollMs = opts.leaderPollMs ?? 5_000;
  const reconnectMs = opts.reconnectMs ?? 2_000;
  const subs = new Subscribers((err, topic) => log.error({ err, topic }, 'cluster message handler failed'));
  let client: pg.Client | undefined;
  let leader = false;
  let closed = false;
  let polling = false;
  let reconnectTimer: NodeJS.Timeout | undefined;

  const onNotification = (msg: pg.Notification) => {
    if (msg.channel !== CLUSTER_CHANNEL || msg.payload === undefined) return;
    let m: unknown;
    try {
      m = JSON.parse(msg.payload);
    } catch {
      return;
    }
    if (typeof m !== 'object' || m === null) return;
    const { f, t, p } = m as { f?: unknown; t?: unknown; p?: unknown };
    if (f === instanceId || typeof t !== 'string' || t === 'resync') return;
    subs.deliver(t, p ?? {});
  };

  const lost = (c: pg.Client, err?: unknown) => {
    if (client !== c) return;
    client = undefined;
    if (leader) log.warn('cluster: lost the leader role with the bus connection');
    leader = false;
    c.removeAllListeners('notification');
    c.end().catch(() => undefined);
    if (closed) return;
    log.warn({ err }, 'cluster: bus connection lost; reconnecting');
    reconnectTimer = setTimeout(() => void connect(true), reconnectMs);
    reconnectTimer.unref();
  };

  async function connect(isReconnect: boolean): Promise<void> {
    if (closed) return;
    const c = new pg.Client({ connectionString: opts.url, application_name: 'mimir-cluster', keepAlive: true });
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c));
    c.on('notification', onNotification);
    try {
      await c.connect();
      await c.query(`LISTEN ${CLUSTER_CHANNEL}`);
    } catch (err) {
      c.removeAllListeners('end');
      c.end().catch(() => undefined);
      if (!isReconnect) throw err;
      log.warn({ err }, 'cluster: reconnect failed; retrying');
      reconnectTimer = setTimeout(() => void connect(true), reconnectMs);
      reconnectTimer.unref();
      return;
    }
    client = c;
    if (isReconnect) {
      log.info('cluster: bus reconnected; dropping caches');
      subs.deliver('resync', {});
    }
    await poll();
  }

  /** Try to become the leader, or (as leader) check that the lock's connection is alive. */
  async function poll(): Promise<void> {
    const c = client;
    if (c === undefined || polling || closed || opts.lead === false) return;
    polling = true;
    try {
      if (leader) {
        await c.query('SELECT 1');
      } else {
        const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [LOCK_CLASS, LOCK_LEADER]);
        if (r.rows[0]?.ok === true && client === c) {
          leader = true;
          log.info({ instanceId }, 'cluster: this instance is the leader');
        }
      }
    } catch (err) {
      lost(c, err);
    } finally {
      polling = false;
    }
  }

  await connect(false);
  const pollTimer = setInterval(() => void poll(), pollMs);
  pollTimer.unref();

  return {
    instanceId,
    mode: 'postgres',
    publish(topic, payload) {
      const text = JSON.stringify({ f: instanceId, t: topic, p: payload });
      if (Buffer.byteLength(text) > MAX_PAYLOAD) {
        log.error({ topic, bytes: Buffer.byteLength(text) }, 'cluster: message too large; not sent');
        return;
      }
      const c = client;
      if (c === undefined) {
        log.warn({ topic }, 'cluster: bus down; peers resync when it is back');
        return;
      }
      c.query('SELECT pg_notify($1, $2)', [CLUSTER_CHANNEL, text]).catch((err: unknown) => log.warn({ err, topic }, 'cluster: publish failed'));
    },
    on: (topic: ClusterTopic, handler) => subs.add(topic, handler as (p: unknown) => void),
    isLeader: () => leader,
    async close() {
      closed = true;
      clearInterval(pollTimer);
      if (reconnectTimer !== undefined) clearTimeout(reconnectTimer);
      const c = client;
      client = undefined;
      leader = false;
      // Ending the session releases the advisory lock: a follower takes over at its next poll.
      if (c !== undefined) await c.end().catch(() => undefined);
    },
  };
}
