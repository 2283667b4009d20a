/**
 * Node keys kept in a file between runs (osquery keeps its key in RocksDB; osquery-perf has
 * `-node_key_file`): a restarted simulator resumes as the same hosts without enrolling again. Keys
 * are stored per host index for one (server, identity seed) pair; a file written for another server
 * or seed is ignored rather than reused, since those keys would only earn `node_invalid`.
 * Writes go to a temporary file renamed over the old one, so a crash never leaves half a file.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const FORMAT = 'mimir-loadsim-node-keys/1';

interface KeyFile {
  format: string;
  server: string;
  seed: string;
  savedAt: string;
  keys: Record<string, string>;
}

function isKeyFile(v: unknown): v is KeyFile {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return o['format'] === FORMAT && typeof o['server'] === 'string' && typeof o['seed'] === 'string' &&
    typeof o['keys'] === 'object' && o['keys'] !== null;
}

export interface KeyStoreLoad {
  store: NodeKeyStore;
  /** Why saved keys were not used, when a file existed but did not match. */
  warning?: string;
}

export class NodeKeyStore {
  private readonly keys = new Map<number, string>();
  private dirty = false;

  private constructor(readonly path: string | undefined, readonly server: string, readonly seed: string) {}

  /** An in-memory store (no file). */
  static memory(server: string, seed: string): NodeKeyStore {
    return new NodeKeyStore(undefined, server, seed);
  }

  /** Load keys for (server, seed) from `path`; a missing file is an empty store. */
  static load(path: string, server: string, seed: string): KeyStoreLoad {
    const store = new NodeKeyStore(path, server, seed);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { store };
      throw e;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { store, warning: `${path} is not JSON; starting without saved node keys (the file will be replaced)` };
    }
    if (!isKeyFile(parsed)) return { store, warning: `${path} is not a loadsim node-key file; starting without saved node keys` };
    if (parsed.server !== server || parsed.seed !== seed) {
      return {
        store,
        warning: `${path} holds keys for server ${parsed.server} / seed ${parsed.seed}, not ${server} / ${seed}; enrolling afresh`,
      };
    }
    for (const [k, v] of Object.entries(parsed.keys)) {
      const i = Number(k);
      if (Number.isInteger(i) && i >= 0 && typeof v === 'string' && v !== '') store.keys.set(i, v);
    }
    return { store };
  }

  get size(): number {
    return this.keys.size;
  }

  get(index: number): string | undefined {
    return this.keys.get(index);
  }

  /** Record a host's current key ("" forgets it). */
  set(index: number, key: string): void {
    const old = this.keys.get(index);
    if (key === '') {
      if (old !== undefined) {
        this.keys.delete(index);
        this.dirty = true;
      }
      return;
    }
    if (old !== key) {
      this.keys.set(index, key);
      this.dirty = true;
    }
  }

  /** Write the file if anything changed. Returns whether it wrote. */
  save(): boolean {
    if (this.path === undefined || !this.dirty) return false;
    const keys: Record<string, string> = {};
    for (const [i, k] of [...this.keys].sort((a, b) => a[0] - b[0])) keys[String(i)] = k;
    const body: KeyFile = { format: FORMAT, server: this.server, seed: this.seed, savedAt: new Date().toISOString(), keys };
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    // Node keys are credentials for the simulated hosts: owner-only.
    writeFileSync(tmp, `${JSON.stringify(body)}\n`, { mode: 0o600 });
    renameSync(tmp, this.path);
    this.dirty = false;
    return true;
  }
}
