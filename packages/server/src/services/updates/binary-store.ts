/**
 * Update binaries on disk under `<dataDir>/binaries`: an upload streams into a temporary file in
 * the same directory tree while SHA-256 is computed and the size is capped, is flushed to disk, and
 * is renamed into place atomically, so a download never sees half a binary.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { UpdateKind } from '@mimir/api-contract';
import { PayloadTooLargeError } from '../../errors.js';

/** Largest accepted binary (osqueryd is ~60 MB; the agent less): generous, but bounded. */
export const MAX_BINARY_BYTES = 512 * 1024 * 1024;

/** File name agents download, per kind (seed 000: `/api/v1/osquery/binary/<os>/<arch>/<version>/osqueryd`). */
export const BINARY_NAME: Readonly<Record<UpdateKind, string>> = { osquery: 'osqueryd', agent: 'mimir-agent' };
const URL_SEGMENT: Readonly<Record<UpdateKind, string>> = { osquery: 'binary', agent: 'agent-binary' };

/** The agent-facing download URL of a stored binary. */
export function binaryUrl(kind: UpdateKind, os: string, arch: string, version: string): string {
  return `/api/v1/osquery/${URL_SEGMENT[kind]}/${os}/${arch}/${encodeURIComponent(version)}/${BINARY_NAME[kind]}`;
}

/** The (kind, os, arch, version) a Mimir download URL names, or undefined for any other URL. */
export function parseBinaryUrl(url: string): { kind: UpdateKind; os: string; arch: string; version: string } | undefined {
  const m = /^\/api\/v1\/osquery\/(binary|agent-binary)\/([^/?#]+)\/([^/?#]+)\/([^/?#]+)\/(osqueryd|mimir-agent)$/.exec(url);
  if (m === null) return undefined;
  const kind: UpdateKind = m[1] === 'binary' ? 'osquery' : 'agent';
  if (m[5] !== BINARY_NAME[kind]) return undefined;
  try {
    return { kind, os: decodeURIComponent(m[2] ?? ''), arch: decodeURIComponent(m[3] ?? ''), version: decodeURIComponent(m[4] ?? '') };
  } catch {
    return undefined;
  }
}

/**
 * Directory name for a version. Versions are free text, so only plain ones are used as is; anything
 * else (slashes, `..`, spaces, non-ASCII) becomes `~` + base64url, which cannot leave the directory.
 */
export function versionDir(version: string): string {
  return /^[0-9A-Za-z][0-9A-Za-z._+-]{0,99}$/.test(version) ? version : `~${Buffer.from(version, 'utf8').toString('base64url')}`;
}

export interface StagedBinary {
  /** Absolute path of the temporary file. */
  tempPath: string;
  sha256: string;
  size: number;
}

export class BinaryStore {
  readonly root: string;

  constructor(dataDir: string, readonly maxBytes = MAX_BINARY_BYTES) {
    this.root = join(dataDir, 'binaries');
  }

  /** Path of a binary relative to the store root. */
  relativePath(kind: UpdateKind, os: string, arch: string, version: string): string {
    return join(kind, os, arch, versionDir(version), BINARY_NAME[kind]);
  }

  absolute(relative: string): string {
    return join(this.root, relative);
  }

  /**
   * Stream `source` into a temporary file, hashing as it goes. Throws PayloadTooLargeError past the
   * cap (`truncated()` lets a multipart parser report its own limit), leaving nothing behind.
   */
  async stage(source: Readable, truncated: () => boolean = () => false): Promise<StagedBinary> {
    const tmpDir = join(this.root, '.tmp');
    await mkdir(tmpDir, { recursive: true, mode: 0o700 });
    const tempPath = join(tmpDir, `${randomBytes(12).toString('hex')}.part`);
    const hash = createHash('sha256');
    let size = 0;
    const max = this.maxBytes;
    try {
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            size += chunk.length;
            if (size > max) throw new PayloadTooLargeError(`binary exceeds ${max} bytes`);
            hash.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(tempPath, { mode: 0o600 }),
      );
      if (truncated()) throw new PayloadTooLargeError(`binary exceeds ${max} bytes`);
      // Flush before the rename makes it visible: a crash must not leave a renamed, empty file.
      const fh = await open(tempPath, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (err) {
      await rm(tempPath, { force: true });
      throw err;
    }
    return { tempPath, sha256: hash.digest('hex'), size };
  }

  /** Move a staged file into place (atomic rename within one file system). */
  async commit(staged: StagedBinary, relative: string): Promise<void> {
    const target = this.absolute(relative);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    await rename(staged.tempPath, target);
  }

  async discard(staged: StagedBinary | undefined): Promise<void> {
    if (staged !== undefined) await rm(staged.tempPath, { force: true });
  }
}
