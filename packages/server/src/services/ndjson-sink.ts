/**
 * Optional NDJSON mirror of result / status logs (one JSON object per line), for shipping to a
 * SIEM with any file tailer. Lines are written after the database commit, so the file never holds
 * a line the database refused.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { once } from 'node:events';

export interface NdjsonSinkOptions {
  /** Told about a failed write (disk full, file removed, permissions). */
  onError?: (err: Error) => void;
}

export class NdjsonSink {
  private readonly stream: WriteStream;
  private closing = false;
  /** The first write error, reported again by `close()`. */
  private failure: Error | undefined;

  constructor(readonly path: string, opts: NdjsonSinkOptions = {}) {
    mkdirSync(dirname(path), { recursive: true });
    this.stream = createWriteStream(path, { flags: 'a', mode: 0o640 });
    // The rows are already committed when a line fails to reach the mirror: an unhandled stream
    // 'error' would take the whole server (and every osquery check-in) down with it.
    this.stream.on('error', (err) => {
      this.failure ??= err;
      opts.onError?.(err);
    });
  }

  write(objects: readonly unknown[]): void {
    if (objects.length === 0) return;
    if (this.closing) throw new Error(`NDJSON sink ${this.path} is closed`);
    this.stream.write(objects.map((o) => JSON.stringify(o)).join('\n') + '\n');
  }

  /** Flush and close (graceful shutdown). Rejects with the first write error, if there was one. */
  async close(): Promise<void> {
    this.closing = true;
    if (!this.stream.closed) {
      const closed = once(this.stream, 'close');
      this.stream.end();
      await closed;
    }
    if (this.failure !== undefined) throw this.failure;
  }
}
