/**
 * Request bodies on the osquery surface (S2, S3): read the raw stream with a cap, inflate gzip as a
 * stream with a cap on the inflated size (gzip bombs, §9 item 6), then parse JSON that must be an
 * object. Each failure is a DomainError the osquery error handler turns into `{"error": …}`.
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip } from 'node:zlib';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors.js';

export interface BodyLimits {
  /** Max bytes on the wire. */
  raw: number;
  /** Max bytes after inflating (equal to raw for identity bodies). */
  inflated: number;
}

function readAll(stream: NodeJS.ReadableStream & { destroy(err?: Error): void }, cap: number, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      reject(err);
    };
    stream.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > cap) {
        fail(new PayloadTooLargeError(`${what} exceeds ${cap} bytes`));
        stream.destroy();
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, size));
    });
    stream.on('error', (err: Error) => fail(err));
    // A client that goes away mid-body must not leave this promise (and its chunks) pending forever.
    // 'close' also follows every normal 'end': build the error (and its stack) only when it is one.
    stream.on('close', () => {
      if (!done) fail(new BadRequestError(`${what} ended early: the connection closed`));
    });
  });
}

/**
 * Parsed bodies whose raw JSON held no `\u0000` escape. JSON text can carry a NUL only that way,
 * so their strings need no NUL strip (osquery-protocol.md §9 item 13): one scan of the raw bytes
 * instead of one check per row value (docs/performance.md, ingestion).
 */
const nulFreeBodies = new WeakSet<object>();

export function isNulFree(body: unknown): boolean {
  return typeof body === 'object' && body !== null && nulFreeBodies.has(body);
}

export async function readOsqueryBody(payload: IncomingMessage, limits: BodyLimits): Promise<object> {
  const encoding = (payload.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== '') {
    throw new UnsupportedMediaTypeError(`unsupported Content-Encoding: ${encoding} (expected gzip or identity)`);
  }
  const declared = Number(payload.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limits.raw) {
    throw new PayloadTooLargeError(`request body of ${declared} bytes exceeds ${limits.raw} bytes`);
  }
  let text: Buffer;
  if (encoding === 'gzip') {
    const gunzip = createGunzip();
    const rawDone = readAll(payload, limits.raw, 'request body');
    payload.pipe(gunzip);
    rawDone.catch(() => gunzip.destroy());
    try {
      text = await readAll(gunzip, limits.inflated, 'inflated request body');
    } catch (err) {
      if (err instanceof PayloadTooLargeError) throw err;
      // A raw-size failure surfaces here as a destroyed stream: report the real cause.
      await rawDone;
      throw new BadRequestError(`invalid gzip body: ${err instanceof Error ? err.message : String(err)}`);
    }
    await rawDone;
  } else {
    text = await readAll(payload, limits.raw, 'request body');
  }
  if (text.length === 0) throw new BadRequestError('empty request body: expected a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text.toString('utf8'));
  } catch (err) {
    throw new BadRequestError(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadRequestError('request body must be a JSON object');
  }
  if (text.indexOf('\\u0000') === -1) nulFreeBodies.add(value);
  return value;
}
