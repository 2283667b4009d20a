/**
 * WAL checkpoints on a worker thread (issue #9, event-loop stalls). By default SQLite checkpoints
 * inside the COMMIT that crosses 1,000 WAL pages, and a checkpoint ends with an fsync of the
 * database file: with better-sqlite3 that is the event loop standing still for every request,
 * for as long as the disk takes (the capacity bench saw COMMITs of 300 ms under load). The main
 * connection turns automatic checkpoints off and a worker with its own connection checkpoints
 * every second instead; commits then only append to the WAL (synchronous=NORMAL: no fsync).
 * If the worker cannot run, the main connection gets its automatic checkpoints back.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

/**
 * The worker's whole program: its own connection, a PASSIVE checkpoint (never waits for readers
 * or the writer) on a timer. Evaluated as a script rather than loaded from a file so it runs the
 * same from the TypeScript sources (tsx, whose loader worker threads do not get) and from dist.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); }
  catch (err) { parentPort.postMessage({ error: err instanceof Error ? err.message : String(err) }); }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private stopped = false;

  constructor(raw: BetterSqlite3.Database, file: string, intervalMs = 1000, onError: (message: string) => void = () => undefined) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const fallBack = (message: string): void => {
      if (this.stopped) return;
      this.stopped = true;
      if (raw.open) raw.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
      onError(message);
    };
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file, intervalMs } });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (m: { error?: string }) => {
      if (m.error !== undefined) onError(`WAL checkpoint failed: ${m.error}`);
    });
    this.worker.on('error', (err) => fallBack(`WAL checkpoint worker failed, back to automatic checkpoints: ${err.message}`));
    this.worker.on('exit', (code) => fallBack(`WAL checkpoint worker exited (${code}), back to automatic checkpoints`));
    // Never what keeps the process alive (after the listeners, which would hold it again).
    this.worker.unref();
    raw.pragma('wal_autocheckpoint = 0');
  }

  /**
   * Close the worker's connection and end the thread. Await it before closing the main connection:
   * the last connection to close checkpoints and removes the WAL, and that must happen before the
   * caller goes on (a test removing the data directory, a backup copying the file).
   */
  stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      // Held again while it winds down, or a caller awaiting this could see the process end first.
      this.worker.ref();
      this.worker.postMessage('stop');
    }
    return this.exited;
  }
}
