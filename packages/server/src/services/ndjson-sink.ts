/**
 * Optional NDJSON mirror of result / status logs (one JSON object per line), for shipping to a
 * SIEM with any file tailer. Lines are written after the database commit, so the file never holds
 * a line the database refused.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { once } from 'node:events';

export class NdjsonSink {
  private readonly stream: WriteStream;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.stream = createWriteStream(path, { flags: 'a', mode: 0o640 });
  }

  write(objects: readonly unknown[]): void {
    if (objects.length === 0) return;
    this.stream.write(objects.map((o) => JSON.stringify(o)).join('\n') + '\n');
  }

  /** Flush and close (graceful shutdown). */
  async close(): Promise<void> {
    this.stream.end();
    if (!this.stream.closed) await once(this.stream, 'close');
  }
}
