/**
 * Follows a live query over Server-Sent Events (GET /live-queries/:id/stream, see live.stream.ts):
 * `status` counts, `result` batches of host answers with their rows, `done` at the end. Opening
 * the stream of a finished query replays every stored answer, so one path serves both live and
 * past results. A reconnect resumes after the last complete answer (EventSource sends
 * Last-Event-ID); rows of an answer that was only partly delivered are dropped first, because the
 * server sends that answer again from its first row. Re-renders are throttled to 4 per second.
 */
import type { LiveStreamStatus } from '@mimir/api-contract';
import type { LiveStreamResult } from '../../components/apiTypes';
import { useEffect, useRef, useState } from 'react';
import { API_BASE } from '../../api/client';
import { ResultStore } from './resultStore';

export interface LiveStream {
  /** One store per query of the live query (a pack run has several). */
  stores: ReadonlyMap<number, ResultStore>;
  version: number;
  status: LiveStreamStatus | null;
  done: boolean;
  error: string | null;
}

export function useLiveStream(id: number, onStatus?: () => void): LiveStream {
  const stores = useRef(new Map<number, ResultStore>());
  const [version, setVersion] = useState(0);
  const [status, setStatus] = useState<LiveStreamStatus | null>(null);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const onStatusRef = useRef(onStatus);
  onStatusRef.current = onStatus;

  useEffect(() => {
    stores.current = new Map();
    setVersion(0);
    setStatus(null);
    setDone(false);
    setError(null);
    if (!Number.isInteger(id) || id <= 0) return undefined;
    const es = new EventSource(`${API_BASE}/live-queries/${id}/stream`);
    /** Store lengths after the last complete answer: what survives a reconnect. */
    let committed = new Map<number, number>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bump = () => {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        setVersion((v) => v + 1);
      }, 250);
    };
    const storeFor = (i: number) => {
      let s = stores.current.get(i);
      if (s === undefined) {
        s = new ResultStore();
        stores.current.set(i, s);
      }
      return s;
    };
    const parse = (e: Event): unknown => {
      try {
        return JSON.parse((e as MessageEvent<string>).data);
      } catch {
        return undefined;
      }
    };
    es.addEventListener('status', (e) => {
      const s = parse(e) as LiveStreamStatus | undefined;
      if (s !== undefined) setStatus(s);
      onStatusRef.current?.();
    });
    es.addEventListener('result', (e) => {
      const r = parse(e) as LiveStreamResult | undefined;
      if (r === undefined) return;
      for (const a of r.results) {
        const store = storeFor(a.queryIndex);
        for (const row of a.rows) store.add(a.hostname, row.osquery);
      }
      if (e.lastEventId !== '') committed = new Map([...stores.current].map(([k, s]) => [k, s.length]));
      bump();
    });
    es.addEventListener('done', (e) => {
      const s = parse(e) as LiveStreamStatus | undefined;
      if (s !== undefined) setStatus(s);
      setDone(true);
      es.close();
      bump();
      onStatusRef.current?.();
    });
    es.addEventListener('stream-error', (e) => {
      setError((parse(e) as { message?: string } | undefined)?.message ?? 'The result stream failed.');
    });
    es.onerror = () => {
      for (const [k, s] of stores.current) s.truncate(committed.get(k) ?? 0);
      if (es.readyState === EventSource.CLOSED) setError('The result stream closed. Reload the page to try again.');
      bump();
    };
    es.onopen = () => setError(null);
    return () => {
      es.close();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [id]);

  return { stores: stores.current, version, status, done, error };
}
