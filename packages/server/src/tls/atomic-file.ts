// Crash-safe file writes for certificate material: a half-written key or certificate would make the
// next start fail (or worse, make it think the CA is corrupt), so every file is written to a
// temporary name in the same directory, flushed, and renamed over the target in one step.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Creates the directory if needed and restricts it to the owner, since it holds private keys. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask and ignored for an existing directory, so set it
  // explicitly; on Windows this is a no-op, which is acceptable.
  await chmod(dir, 0o700);
}

export async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    // 'wx' refuses to follow a pre-planted file or symlink at the temporary name; the mode applies
    // from creation, so the key is never readable by others, not even briefly.
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(data, 'utf8');
      await handle.chmod(mode); // the creation mode was reduced by the umask
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

// Makes the rename itself durable. Not every platform can open a directory (Windows cannot), and
// the data is already safe on those that cannot, so failures here are ignored.
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort, see above
  }
}
