/**
 * The versioned install tree (docs/agent.md "Layout"): `<base>/<version>/<file>` per build and a
 * `<base>/current` symlink. Builds are written into a temporary directory, flushed and renamed into
 * place; `current` is switched by renaming a fresh symlink over it, so a crash at any point leaves
 * either the old or the new build current, never a half-written one.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, chmod, mkdir, open, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Directory name for a version: kept when plainly safe, else `~<base64url>` (versions are free text). */
export function versionDir(version: string): string {
  if (/^[0-9A-Za-z._+-]{1,100}$/.test(version) && version !== '.' && version !== '..' && !version.startsWith('~') && version !== 'current' && !version.startsWith('.')) return version;
  return `~${Buffer.from(version, 'utf8').toString('base64url')}`;
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Install `src` as `<base>/<version>/<fileName>` (executable), replacing any earlier copy of that version. */
export async function installBuild(base: string, version: string, src: string, fileName: string): Promise<string> {
  await mkdir(base, { recursive: true, mode: 0o755 });
  const tmp = join(base, `.tmp-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp, { mode: 0o755 });
  try {
    const dest = join(tmp, fileName);
    await copyFile(src, dest);
    await chmod(dest, 0o755);
    await fsyncFile(dest);
    await writeFile(join(tmp, 'VERSION'), version, { mode: 0o644 });
    const final = join(base, versionDir(version));
    const aside = join(base, `.old-${randomBytes(6).toString('hex')}`);
    const moved = await rename(final, aside).then(() => true, () => false);
    await rename(tmp, final);
    if (moved) await rm(aside, { recursive: true, force: true });
    return final;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The version `current` points at, or undefined when nothing is installed. */
export async function currentVersion(base: string): Promise<string | undefined> {
  try {
    const target = await readlink(join(base, 'current'));
    return await readFile(join(base, target, 'VERSION'), 'utf8');
  } catch {
    return undefined;
  }
}

/** Is this version installed (its directory complete)? */
export async function hasBuild(base: string, version: string): Promise<boolean> {
  return readFile(join(base, versionDir(version), 'VERSION'), 'utf8').then((v) => v === version, () => false);
}

/** Point `current` at an installed version, atomically (rename of a new symlink over the old). */
export async function switchCurrent(base: string, version: string): Promise<void> {
  if (!(await hasBuild(base, version))) throw new Error(`${version} is not installed under ${base}`);
  const tmp = join(base, `.current-${randomBytes(6).toString('hex')}`);
  await symlink(versionDir(version), tmp);
  try {
    await rename(tmp, join(base, 'current'));
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export function currentFile(base: string, fileName: string): string {
  return join(base, 'current', fileName);
}

/** Synchronous `currentVersion`, for building a check-in body. */
export function currentVersionSync(base: string): string | undefined {
  try {
    return readFileSync(join(base, readlinkSync(join(base, 'current')), 'VERSION'), 'utf8');
  } catch {
    return undefined;
  }
}
