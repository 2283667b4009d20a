/**
 * One writer for osquery log rows (issue #9: "batched ingestion through one writer"). Requests
 * that arrive while a write is under way wait for the next one, and each write stores every
 * waiting request in one transaction: under load one commit covers many requests instead of one
 * commit each. A request is still stored whole or not at all (S8): if a shared transaction fails,
 * each of its requests is written again in a transaction of its own, so one request's failure is
 * its own (the rows are inserted with ON CONFLICT DO NOTHING on their dedup hash, so writing again
 * after a rollback stores nothing twice). A caller's promise settles only after its rows commit:
 * osquery gets its `{}` for acknowledged data only (osquery-protocol.md §4.1).
 */
import type { Repositories, Store } from '../storage/store.js';

interface Job<T> {
  rows: number;
  run: (tx: Repositories) => Promise<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

export interface LogWriterOptions {
  /** Transactions in flight at once: 1 for SQLite (one writer anyway), a few for PostgreSQL. */
  concurrency: number;
  /**
   * Rows one transaction takes at most. On SQLite a transaction holds the event loop from BEGIN to
   * COMMIT (every statement is synchronous), and every check-in waits behind it: at ~11 µs a row,
   * 4,096 rows bound that to ~45 ms where 16,384 allowed ~180 ms. The ingest bench stored as many
   * rows per CPU-second with 4,096 as with 16,384 (docs/performance.md, third round).
   */
  maxRows: number;
  /**
   * How long the first waiting request waits for others to join before the write starts (ms), unless
   * `maxRows` are waiting sooner. SQLite's cost per row falls by a third from 512 to 4,000 rows
   * per commit (docs/performance.md); osquery waits for its `{}` anyway, and a few milliseconds
   * more per log request cost it nothing.
   */
  lingerMs: number;
}

export const DEFAULT_LOG_WRITER_OPTIONS: LogWriterOptions = { concurrency: 1, maxRows: 4_096, lingerMs: 10 };

export class LogWriter {
  // Jobs of different result types share the queue; `unknown` is narrowed back by each job's resolve.
  private readonly queue: Array<Job<unknown>> = [];
  private queuedRows = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly options: LogWriterOptions;

  constructor(private readonly store: Store, options: Partial<LogWriterOptions> = {}) {
    // PostgreSQL takes several writers at once (one per pooled connection); SQLite has one anyway.
    const concurrency = store.dialect.name === 'postgres' ? 4 : 1;
    this.options = { ...DEFAULT_LOG_WRITER_OPTIONS, concurrency, ...options };
  }

  /** Run `run` in a transaction shared with the other requests waiting; settles after the commit. */
  write<T>(rows: number, run: (tx: Repositories) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ rows, run, resolve: resolve as (v: unknown) => void, reject });
      this.queuedRows += rows;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.inFlight >= this.options.concurrency || this.queue.length === 0) return;
    const full = this.queuedRows >= this.options.maxRows;
    if (this.timer !== undefined && !full) return;
    clearTimeout(this.timer);
    // A timer even when full: never start a write from inside write() itself.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, full ? 0 : this.options.lingerMs);
  }

  private take(): Array<Job<unknown>> {
    let rows = 0;
    let n = 0;
    while (n < this.queue.length) {
      const next = this.queue[n]?.rows ?? 0;
      if (n > 0 && rows + next > this.options.maxRows) break;
      rows += next;
      n++;
    }
    this.queuedRows -= rows;
    return this.queue.splice(0, n);
  }

  private async flush(): Promise<void> {
    if (this.inFlight >= this.options.concurrency) return;
    const batch = this.take();
    if (batch.length === 0) return;
    this.inFlight++;
    // Another transaction may start now if the concurrency allows and jobs are left.
    this.schedule();
    try {
      let results: unknown[] | undefined;
      try {
        results = await this.store.transaction(async (tx) => {
          const out: unknown[] = [];
          for (const job of batch) out.push(await job.run(tx));
          return out;
        });
      } catch (err) {
        if (batch.length === 1) batch[0]?.reject(err);
        else await this.oneByOne(batch);
      }
      if (results !== undefined) batch.forEach((job, i) => job.resolve(results[i]));
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }

  private async oneByOne(batch: Array<Job<unknown>>): Promise<void> {
    for (const job of batch) {
      try {
        job.resolve(await this.store.transaction((tx) => job.run(tx)));
      } catch (err) {
        job.reject(err);
      }
    }
  }
}
