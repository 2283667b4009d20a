/**
 * `GET /live-queries/:id/stream`: Server-Sent Events (Fleet streams over a SockJS WebSocket and
 * offers no SSE, Fleet §1.2; SSE passes proxies and needs no client library).
 *
 * Events:
 * - `status` {status, counts, rowCount, truncated}: first thing sent (a late subscriber starts from
 *   the current counts), then at most once per second while something changes;
 * - `result` {results: [{hostId, hostname, queryIndex, status, message, rowCount, rows, more}]}:
 *   answers in the order they were recorded, batched (≤ 500 rows or 100 answers per event); a big
 *   answer spans events (`more: true`). `id:` is the answer sequence: a reconnecting EventSource
 *   sends it back as Last-Event-ID and resumes after the last complete answer;
 * - `done` {same as status}: every host answered, expired or was cancelled; the server then closes.
 * - `stream-error` {message}: the server gave up on this stream (reconnect to resume).
 * Comments (`: ping`) every 15 s keep proxies from closing an idle stream.
 *
 * Rows are read from the database by cursor on each wake-up, never queued per subscriber, so a
 * slow client only slows its own reads (writes wait for `drain`). Wake-ups come from this
 * instance's ingest and, with several instances, from the cluster bus (docs/scale-out.md).
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LiveStreamAnswer, LiveStreamStatus } from '@mimir/api-contract';
import type { Logger } from '../../logger.js';
import type { LiveQueryService, Snapshot } from '../../services/live/live-query.service.js';
import { ecsOf, parseRow, type EcsContext } from './live.presenters.js';

export interface StreamOptions {
  heartbeatMs: number;
  /** Minimum gap between `status` events. */
  statusEveryMs: number;
  /** Minimum gap between database reads, so a burst of answers becomes a few batched events. */
  batchWindowMs: number;
  batchRows: number;
  batchAnswers: number;
}

export const DEFAULT_STREAM_OPTIONS: StreamOptions = { heartbeatMs: 15_000, statusEveryMs: 1_000, batchWindowMs: 200, batchRows: 500, batchAnswers: 100 };

/** Open streams, so shutdown can end them (an open response would hold `close()` forever). */
export class StreamRegistry {
  private readonly open = new Set<() => void>();
  add(end: () => void): () => void {
    this.open.add(end);
    return () => this.open.delete(end);
  }
  closeAll(): void {
    for (const end of [...this.open]) end();
  }
  get size(): number {
    return this.open.size;
  }
}

function statusOf(s: Snapshot): LiveStreamStatus {
  return { status: s.state, counts: s.counts, rowCount: s.rowCount, truncated: s.truncated };
}

function lastEventId(req: FastifyRequest): number {
  const h = req.headers['last-event-id'];
  const v = Number(Array.isArray(h) ? h[0] : h);
  return Number.isSafeInteger(v) && v > 0 ? v : 0;
}

/** Validate (404 before anything is sent), then hijack the reply and stream until done or gone. */
export async function streamLiveQuery(
  req: FastifyRequest, reply: FastifyReply, svc: LiveQueryService, id: number, ctx: EcsContext, registry: StreamRegistry, log: Logger,
  opts: StreamOptions = DEFAULT_STREAM_OPTIONS,
): Promise<void> {
  const first = await svc.snapshot(id);
  reply.hijack();
  const res: ServerResponse = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // nginx buffers responses unless told not to.
    'x-accel-buffering': 'no',
    'x-content-type-options': 'nosniff',
  });
  // One object, not `let`s: callbacks flip these while the loop awaits.
  const st = { closed: false, dirty: false };
  // Read through functions: TypeScript would otherwise keep a narrowing across awaits.
  const gone = () => st.closed;
  const news = () => st.dirty;
  let wake: (() => void) | undefined;
  const stop = () => {
    if (st.closed) return;
    st.closed = true;
    wake?.();
    res.end();
  };
  const unregister = registry.add(stop);
  const unsubscribe = svc.subscribe(id, () => {
    st.dirty = true;
    wake?.();
  });
  res.on('close', () => {
    st.closed = true;
    wake?.();
  });
  let lastWrite = performance.now();

  const write = async (chunk: string): Promise<void> => {
    if (st.closed) return;
    lastWrite = performance.now();
    if (res.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  };
  const event = (name: string, data: unknown, eventId?: number) =>
    write(`event: ${name}\n${eventId !== undefined ? `id: ${eventId}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        wake = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      wake = done;
    });

  let cursor = lastEventId(req);
  /** Send every answer recorded after `cursor`; true when something was sent. */
  const pump = async (): Promise<boolean> => {
    let sent = false;
    while (!st.closed) {
      const answers = await svc.answersAfter(id, cursor, opts.batchAnswers);
      if (answers.length === 0) return sent;
      sent = true;
      let batch: LiveStreamAnswer[] = [];
      let rowsInBatch = 0;
      const flush = async (completeSeq: number | undefined) => {
        if (batch.length === 0) return;
        await event('result', { results: batch }, completeSeq);
        batch = [];
        rowsInBatch = 0;
      };
      for (const a of answers) {
        const seq = a.seq ?? cursor;
        let after = -1;
        for (;;) {
          const want = Math.max(1, opts.batchRows - rowsInBatch);
          const page = a.status === 'successful' && a.row_count > 0 ? await svc.answerRows(id, a.query_idx, a.host_id, after, want + 1) : [];
          const more = page.length > want;
          const rows = more ? page.slice(0, want) : page;
          batch.push({
            hostId: a.host_id,
            hostname: a.hostname ?? '',
            queryIndex: a.query_idx,
            status: a.status as LiveStreamAnswer['status'],
            message: a.message,
            rowCount: a.row_count,
            rows: rows.map((r) => {
              const osquery = parseRow(r.data);
              const ecs = ecsOf(ctx, a.query_idx, osquery);
              return ecs !== undefined ? { osquery, ecs } : { osquery };
            }),
            more,
          });
          rowsInBatch += rows.length;
          const last = rows[rows.length - 1];
          if (last !== undefined) after = last.row_idx;
          if (more || rowsInBatch >= opts.batchRows || batch.length >= opts.batchAnswers) await flush(more ? undefined : seq);
          if (!more || gone()) break;
        }
        cursor = seq;
      }
      await flush(cursor);
    }
    return sent;
  };

  try {
    await write('retry: 3000\n\n');
    await event('status', statusOf(first));
    let lastStatusAt = performance.now();
    let lastSent = JSON.stringify(statusOf(first));
    let statusDue = false;
    while (!st.closed) {
      st.dirty = false;
      const readAt = performance.now();
      if (await pump()) statusDue = true;
      const snap = await svc.snapshot(id);
      if (snap.finished) {
        // Nothing changes after this: send what is left, then the final counts.
        await pump();
        await event('done', statusOf(snap));
        break;
      }
      const text = JSON.stringify(statusOf(snap));
      if (text !== lastSent) statusDue = true;
      const sinceStatus = performance.now() - lastStatusAt;
      if (statusDue && sinceStatus >= opts.statusEveryMs) {
        await event('status', statusOf(snap));
        lastSent = text;
        lastStatusAt = performance.now();
        statusDue = false;
      }
      if (performance.now() - lastWrite >= opts.heartbeatMs) await write(': ping\n\n');
      // Wait for news, but no longer than the next due status, heartbeat, or expiry check (1 s).
      const untilStatus = statusDue ? Math.max(0, opts.statusEveryMs - (performance.now() - lastStatusAt)) : 1_000;
      const untilBeat = Math.max(0, opts.heartbeatMs - (performance.now() - lastWrite));
      const window = Math.max(0, opts.batchWindowMs - (performance.now() - readAt));
      // Not cut short by news: this pause is what turns a burst of answers into one batch.
      if (window > 0) await new Promise((resolve) => setTimeout(resolve, window));
      if (!news() && !gone()) await sleep(Math.min(untilStatus, untilBeat, 1_000));
    }
  } catch (err) {
    log.error({ err, liveQueryId: id }, 'live query stream failed');
    if (!st.closed) await event('stream-error', { message: 'the stream failed; reconnect to resume' }).catch(() => undefined);
  } finally {
    unsubscribe();
    unregister();
    stop();
  }
}
