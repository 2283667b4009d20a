/**
 * File carving on the osquery side (osquery-protocol.md §6, §9 items 14–15, S10): `carve/begin`
 * opens a session, `carve/block` stores one base64 block at its offset, and the archive is
 * finalized (fsync, SHA-256, rename) once every block id is present.
 *
 * Files live in `<dataDir>/carves/`: `<session>.part` while blocks arrive, then `<session>.tar`
 * or `<session>.tar.zst` (zstd magic `28 B5 2F FD`, §6). The `path` column holds that file name
 * relative to the carve directory, so a data directory can be moved without rewriting rows.
 *
 * Concurrency: every operation on one session (block, finalize, expiry) runs on an in-process
 * promise chain keyed by session id, so completion happens exactly once even when the server
 * processes two blocks of the same carve at the same time. SQLite means one server process, so an
 * in-process lock is enough.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, statfs } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  BadRequestError, ConflictError, NotFoundError, PayloadTooLargeError, createError,
} from '../../errors.js';
import type { Store } from '../../storage/store.js';
import type { HostState } from '../host-cache.js';
import type { CarveBeginInput, CarveBlockInput, CarveReceiver } from './carve.types.js';

/** A block sent with another host's node key (osquery ≥ 5.23 header auth; fleetdm/fleet#44209). */
export const CarveForbiddenError = createError('carve_forbidden', 403);
/** Not enough free disk space to accept a carve of the announced size. */
export const InsufficientStorageError = createError('insufficient_storage', 507);

export const CARVE_STATUSES = ['in_progress', 'complete', 'failed', 'expired'] as const;
export type CarveStatus = (typeof CARVE_STATUSES)[number];

/** A carve as the operator API sees it (camelCase; the on-disk path stays internal). */
export interface Carve {
  id: number;
  sessionId: string;
  hostId: number;
  carveGuid: string;
  requestId: string;
  blockCount: number;
  blockSize: number;
  carveSize: number;
  blocksReceived: number;
  status: CarveStatus;
  /** Hex SHA-256 of the archive; empty until complete. */
  sha256: string;
  /** The archive is zstd-compressed (`--carver_compression=true`, §6). */
  compressed: boolean;
  error: string;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
}

/** A completed archive opened for download. */
export interface CarveArchive {
  carve: Carve;
  /** `<session>.tar` or `<session>.tar.zst`: safe to use as a download name. */
  fileName: string;
  size: number;
  /** Closes its file when it ends or errors. */
  stream: Readable;
}

export interface CarveServiceOptions {
  dataDir: string;
  /** Largest accepted `block_size` (bytes). Fleet caps it at 256 MiB (§6.1). */
  maxBlockSize: number;
  /** Largest accepted `carve_size` (bytes). Fleet caps it at 8 GiB (§6.1). */
  maxCarveSize: number;
  /** An in-progress carve with no new block for this long is expired. */
  expiryMs: number;
  log?: { warn(obj: object, msg: string): void };
}

type CarveRow = NonNullable<Awaited<ReturnType<Store['carves']['findById']>>>;

/** Running SHA-256 over blocks received strictly in order (the normal case: §6.2 "strictly sequential"). */
interface RunningHash {
  next: number;
  hash: Hash;
}

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const MAX_LIST_LIMIT = 1000;

function toStatus(s: string): CarveStatus {
  return (CARVE_STATUSES as readonly string[]).includes(s) ? (s as CarveStatus) : 'failed';
}

function toCarve(r: CarveRow): Carve {
  return {
    id: r.id,
    sessionId: r.session_id,
    hostId: r.host_id,
    carveGuid: r.carve_guid,
    requestId: r.request_id,
    blockCount: r.block_count,
    blockSize: r.block_size,
    carveSize: r.carve_size,
    blocksReceived: r.blocks_received,
    status: toStatus(r.status),
    sha256: r.sha256,
    compressed: r.path.endsWith('.zst'),
    error: r.error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    completedAt: r.completed_at,
  };
}

/** Size block `blockId` must have: `block_size`, except the last which holds the remainder (§6.2). */
function expectedLength(r: Pick<CarveRow, 'block_count' | 'block_size' | 'carve_size'>, blockId: number): number {
  return blockId === r.block_count - 1 ? r.carve_size - (r.block_count - 1) * r.block_size : r.block_size;
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

/** Make a rename durable. Directories cannot be opened for fsync on every platform: best effort. */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Windows refuses to open directories; the rename is still atomic, only less durable.
  }
}

function validateBegin(input: CarveBeginInput, opts: CarveServiceOptions): void {
  // The route passes -1 for values that are not integers, so "positive integer" covers both.
  if (input.carveGuid === '') throw new BadRequestError('carve_id must not be empty');
  if (!Number.isSafeInteger(input.blockSize) || input.blockSize <= 0) {
    throw new BadRequestError(`block_size must be a positive integer (got ${input.blockSize})`);
  }
  if (input.blockSize > opts.maxBlockSize) {
    throw new PayloadTooLargeError(`block_size ${input.blockSize} exceeds the maximum of ${opts.maxBlockSize} bytes (lower --carver_block_size)`);
  }
  if (!Number.isSafeInteger(input.carveSize) || input.carveSize <= 0) {
    throw new BadRequestError(`carve_size must be a positive integer (got ${input.carveSize})`);
  }
  if (input.carveSize > opts.maxCarveSize) {
    throw new PayloadTooLargeError(`carve_size ${input.carveSize} exceeds the maximum of ${opts.maxCarveSize} bytes`);
  }
  const expected = Math.ceil(input.carveSize / input.blockSize);
  if (input.blockCount !== expected) {
    throw new BadRequestError(`block_count ${input.blockCount} does not match ceil(carve_size / block_size) = ${expected}`);
  }
}

export class CarveService implements CarveReceiver {
  private readonly dir: string;
  /** Tail of each key's promise chain; removed when the chain goes idle. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly hashes = new Map<string, RunningHash>();

  constructor(
    private readonly store: Store,
    private readonly opts: CarveServiceOptions,
  ) {
    this.dir = join(opts.dataDir, 'carves');
  }

  /**
   * Open a carve session (§6.1). The part file is created empty, not pre-sized: a sparse
   * `truncate` would reserve no disk anyway, so the free-space check here is the real guard, and
   * positional writes grow the file to `carve_size` as blocks land.
   */
  async begin(host: HostState, input: CarveBeginInput, now: number): Promise<{ sessionId: string }> {
    validateBegin(input, this.opts);
    // Serialized per (host, guid, request) so a begin and its immediate re-send (§1.5) cannot both
    // miss each other and create two sessions.
    const key = `begin\0${host.id}\0${input.carveGuid}\0${input.requestId}`;
    return this.serialize(key, async () => {
      const resent = await this.findUnstartedSession(host.id, input);
      if (resent !== undefined) return { sessionId: resent.session_id };

      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await this.ensureFreeSpace(input.carveSize);
      const sessionId = randomUUID();
      const part = this.partPath(sessionId);
      const fh = await open(part, 'wx', 0o600);
      await fh.close();
      try {
        await this.store.carves.create({
          session_id: sessionId,
          host_id: host.id,
          carve_guid: input.carveGuid,
          request_id: input.requestId,
          block_count: input.blockCount,
          block_size: input.blockSize,
          carve_size: input.carveSize,
          status: 'in_progress',
          created_at: now,
          updated_at: now,
          completed_at: null,
        });
      } catch (err) {
        await rm(part, { force: true });
        throw err;
      }
      this.hashes.set(sessionId, { next: 0, hash: createHash('sha256') });
      return { sessionId };
    });
  }

  /**
   * Store one block (§6.2). Blocks carry no node key before 5.23, so the session id (+ request id)
   * authenticates them (§9 item 14); the header host, when present, must own the session.
   * osquery ignores the answer (§9 item 15), so rejections only protect the stored archive.
   */
  async block(input: CarveBlockInput, headerHost: HostState | undefined, now: number): Promise<void> {
    return this.serialize(`session\0${input.sessionId}`, async () => {
      const row = await this.store.carves.findBySession(input.sessionId);
      if (row === undefined) throw new NotFoundError('unknown carve session');
      if (input.requestId !== undefined && input.requestId !== row.request_id) {
        throw new BadRequestError('request_id does not match the carve session');
      }
      if (headerHost !== undefined && headerHost.id !== row.host_id) {
        throw new CarveForbiddenError('carve session belongs to another host');
      }
      const status = toStatus(row.status);
      if (status === 'expired' || status === 'failed') {
        throw new ConflictError(`carve session is ${status}${row.error === '' ? '' : `: ${row.error}`}`);
      }
      const bytes = this.decodeBlock(row, input);
      if (status === 'complete') {
        await this.checkCompletedDuplicate(row, input.blockId, bytes);
        return;
      }

      // Write first, record second: a crash in between leaves an unrecorded block that osquery's
      // retry rewrites, never a recorded block with no bytes. Positional writes make blocks order-
      // independent and re-sent blocks idempotent (a differing re-send overwrites: last write wins
      // until completion; after it the archive is immutable, see checkCompletedDuplicate).
      const fh = await open(this.partPath(row.session_id), 'r+');
      try {
        await fh.write(bytes, 0, bytes.length, input.blockId * row.block_size);
      } finally {
        await fh.close();
      }
      const received = await this.store.transaction(async (tx) => {
        if (!(await tx.carves.addBlock(row.id, input.blockId, bytes.length))) return undefined;
        return tx.carves.incrementReceived(row.id, now);
      });
      this.advanceHash(row.session_id, input.blockId, bytes, received !== undefined);
      // A duplicate of the last block after a crash mid-finalize also lands here and finishes it.
      if ((received ?? row.blocks_received) >= row.block_count) await this.finalize(row, now);
    });
  }

  /** Expire carves with no block for `expiryMs` and delete their files. Returns how many. */
  async expireStale(now: number): Promise<number> {
    const before = now - this.opts.expiryMs;
    let count = 0;
    for (const stale of await this.store.carves.listStale(before)) {
      const expired = await this.serialize(`session\0${stale.session_id}`, async () => {
        // Re-read under the session lock: a block may have arrived since listStale.
        const row = await this.store.carves.findById(stale.id);
        if (row === undefined || row.status !== 'in_progress' || row.updated_at >= before) return false;
        const idleS = Math.round((now - row.updated_at) / 1000);
        await this.store.carves.update(row.id, { status: 'expired', error: `no block received for ${idleS} s`, updated_at: now });
        this.hashes.delete(row.session_id);
        await this.removeFiles(row.session_id);
        return true;
      });
      if (expired) count++;
    }
    return count;
  }

  async getCarve(id: number): Promise<Carve> {
    const row = await this.store.carves.findById(id);
    if (row === undefined) throw new NotFoundError(`carve ${id} not found`);
    return toCarve(row);
  }

  /** Newest first; `limit` defaults to 100 and is capped at 1000. */
  async listCarves(filter: { hostId?: number; limit?: number } = {}): Promise<Carve[]> {
    const q: { hostId?: number; limit?: number } = {};
    if (filter.hostId !== undefined) q.hostId = filter.hostId;
    if (filter.limit !== undefined) q.limit = Math.min(Math.max(1, Math.trunc(filter.limit)), MAX_LIST_LIMIT);
    return (await this.store.carves.list(q)).map(toCarve);
  }

  /** Open a completed archive for download; NotFoundError unless the carve is complete and its file exists. */
  async openCarveStream(id: number): Promise<CarveArchive> {
    const row = await this.store.carves.findById(id);
    if (row === undefined) throw new NotFoundError(`carve ${id} not found`);
    if (row.status !== 'complete' || row.path === '') {
      throw new NotFoundError(`carve ${id} has no archive (status ${row.status})`);
    }
    // basename: the column only ever holds a file name, but never let it point outside the directory.
    const fileName = basename(row.path);
    let fh;
    try {
      fh = await open(join(this.dir, fileName), 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new NotFoundError(`carve ${id}: archive file is missing`);
      throw err;
    }
    try {
      const { size } = await fh.stat();
      return { carve: toCarve(row), fileName, size, stream: fh.createReadStream() };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  private partPath(sessionId: string): string {
    return join(this.dir, `${sessionId}.part`);
  }

  /**
   * The session a re-sent begin (§1.5) should get back: same host, carve and sizes, still in
   * progress and with no block yet. NOTE: the repository has no lookup by carve_guid, so this scans
   * the host's newest carves; a re-send arrives seconds after the original, well within them.
   */
  private async findUnstartedSession(hostId: number, input: CarveBeginInput): Promise<CarveRow | undefined> {
    const recent = await this.store.carves.list({ hostId, limit: 100 });
    return recent.find((r) =>
      r.carve_guid === input.carveGuid && r.request_id === input.requestId && r.status === 'in_progress'
      && r.blocks_received === 0 && r.block_count === input.blockCount && r.block_size === input.blockSize
      && r.carve_size === input.carveSize);
  }

  private async ensureFreeSpace(carveSize: number): Promise<void> {
    const fs = await statfs(this.dir);
    const free = fs.bavail * fs.bsize;
    if (free < carveSize) {
      throw new InsufficientStorageError(`not enough free disk space for a carve of ${carveSize} bytes (${free} bytes free)`);
    }
  }

  /** Validate block id, encoding and size against the session (S10); returns the raw bytes. */
  private decodeBlock(row: CarveRow, input: CarveBlockInput): Buffer {
    const { blockId } = input;
    if (!Number.isSafeInteger(blockId) || blockId < 0 || blockId >= row.block_count) {
      throw new BadRequestError(`block_id must be an integer in [0, ${row.block_count}) (got ${blockId})`);
    }
    // Cheap bound before decoding: base64 of block_size bytes is 4·ceil(block_size/3) characters.
    if (input.data.length > 4 * Math.ceil(row.block_size / 3)) {
      throw new PayloadTooLargeError(`data is larger than block_size ${row.block_size}`);
    }
    // Buffer.from skips characters outside the alphabet and accepts URL-safe ones; re-encoding
    // and comparing accepts only canonical standard base64 with padding, which osquery sends (§6.2).
    const bytes = Buffer.from(input.data, 'base64');
    if (bytes.toString('base64') !== input.data) throw new BadRequestError('data must be standard base64 with padding');
    if (bytes.length > row.block_size) {
      throw new PayloadTooLargeError(`data is ${bytes.length} bytes, larger than block_size ${row.block_size}`);
    }
    const expected = expectedLength(row, blockId);
    if (bytes.length !== expected) {
      throw new BadRequestError(`block ${blockId} must be ${expected} bytes (got ${bytes.length})`);
    }
    return bytes;
  }

  /** osquery re-sends a block whose answer was lost (§1.5): accept it if it matches the archive. */
  private async checkCompletedDuplicate(row: CarveRow, blockId: number, bytes: Buffer): Promise<void> {
    const stored = Buffer.alloc(bytes.length);
    const fh = await open(join(this.dir, basename(row.path)), 'r');
    try {
      await fh.read(stored, 0, stored.length, blockId * row.block_size);
    } finally {
      await fh.close();
    }
    if (!stored.equals(bytes)) throw new ConflictError(`carve is complete and block ${blockId} differs from the stored one`);
  }

  /**
   * Keep the SHA-256 running while blocks arrive in order, so finishing a multi-GB carve does not
   * re-read it within osquery's 16 s request timeout (§1.5). Anything else (out of order, a
   * re-sent block that might differ) drops it and finalize re-reads the file instead.
   */
  private advanceHash(sessionId: string, blockId: number, bytes: Buffer, added: boolean): void {
    const running = this.hashes.get(sessionId);
    if (running === undefined) return;
    if (added && blockId === running.next) {
      running.hash.update(bytes);
      running.next++;
    } else {
      this.hashes.delete(sessionId);
    }
  }

  /** All blocks present: fsync, hash, rename to the archive name, mark complete. Runs under the session lock. */
  private async finalize(row: CarveRow, now: number): Promise<void> {
    const part = this.partPath(row.session_id);
    const running = this.hashes.get(row.session_id);
    this.hashes.delete(row.session_id);
    try {
      const head = Buffer.alloc(ZSTD_MAGIC.length);
      let size: number;
      const fh = await open(part, 'r+');
      try {
        await fh.sync();
        size = (await fh.stat()).size;
        await fh.read(head, 0, head.length, 0);
      } finally {
        await fh.close();
      }
      if (size !== row.carve_size) throw new Error(`reassembled ${size} bytes, expected carve_size ${row.carve_size}`);
      const sha256 = running !== undefined && running.next === row.block_count ? running.hash.digest('hex') : await sha256File(part);
      const fileName = `${row.session_id}${head.equals(ZSTD_MAGIC) ? '.tar.zst' : '.tar'}`;
      await rename(part, join(this.dir, fileName));
      await syncDir(this.dir);
      await this.store.carves.update(row.id, { status: 'complete', sha256, path: fileName, completed_at: now, updated_at: now });
    } catch (err) {
      this.opts.log?.warn({ err, carveId: row.id, sessionId: row.session_id }, 'carve finalization failed');
      const message = err instanceof Error ? err.message : String(err);
      try {
        await this.store.carves.update(row.id, { status: 'failed', error: `finalization failed: ${message}`, updated_at: now });
        await this.removeFiles(row.session_id);
      } catch (cleanupErr) {
        this.opts.log?.warn({ err: cleanupErr, carveId: row.id }, 'could not mark carve as failed');
      }
      throw err;
    }
  }

  /** Remove every file a session may have left, including an archive renamed just before a crash. */
  private async removeFiles(sessionId: string): Promise<void> {
    for (const ext of ['.part', '.tar', '.tar.zst']) {
      try {
        await rm(join(this.dir, `${sessionId}${ext}`), { force: true });
      } catch (err) {
        this.opts.log?.warn({ err, sessionId }, 'could not remove carve file');
      }
    }
  }

  /** Run `fn` after every earlier task with the same key has settled. */
  private serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(key) ?? Promise.resolve();
    const run = prev.then(fn);
    const tail = run.then(() => undefined, () => undefined);
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return run;
  }
}
