/**
 * Groups (Elastic "agent policies", Fleet "teams", fleet.md §1.7): a name, per-group osquery
 * options, enroll secrets, and the hosts in it. A host's group comes from the secret it enrolled
 * with and decides the config (options and packs) it is served.
 *
 * Secrets follow Fleet's rotation story: add a new secret, ship it, then revoke the old one.
 * Revoking only blocks new enrollments; enrolled hosts keep their node keys (Fleet §5).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CreateGroupRequest, OsqueryOptionsInput, RotateSecretRequest, UpdateGroupRequest } from '@mimir/api-contract';
import { ConflictError, createError, NotFoundError, ValidationError } from '../../errors.js';
import { renderFlagfile } from '../../flagfile.js';
import { DEFAULT_GROUP } from '../../storage/repositories/groups.repository.js';
import { isUniqueViolation } from '../../storage/errors.js';
import type { Store } from '../../storage/store.js';
import { generateSecret, type SecretResolver } from '../enroll-secrets.js';
import type { HostCache } from '../host-cache.js';
import type { OsqueryConfigService } from '../osquery-config.service.js';

/** The default group: hosts enrolling with the default secret land here; it must always exist. */
export const GroupProtectedError = createError('group_protected', 409);
export const GroupNotEmptyError = createError('group_not_empty', 409);

/**
 * Flags osquery only reads from the command line: in config `options` it ignores them with a
 * warning (osquery-protocol.md §3.2), so accepting them would only hide a mistake.
 */
const CLI_ONLY_OPTION = /^(tls_hostname|tls_server_certs|tls_client_(cert|key)|enroll_.+|config_plugin|config_tls_(endpoint|refresh|max_attempts)|config_refresh|config_accelerated_refresh|carver_.+|disable_carver|disable_enrollment)$/;
/** osquery flag names: lower snake case (custom_* for extensions). */
const OPTION_NAME = /^[a-z][a-z0-9_]{0,99}$/;
const MAX_OPTIONS = 200;

const MAX_OPTION_TEXT = 4096;

export function validateOptions(options: OsqueryOptionsInput): Record<string, string | number | boolean> {
  const problems: Array<{ path: string; message: string }> = [];
  const entries = Object.entries(options);
  if (entries.length > MAX_OPTIONS) problems.push({ path: '/options', message: `at most ${MAX_OPTIONS} options` });
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of entries) {
    const path = `/options/${k}`;
    if (!OPTION_NAME.test(k)) problems.push({ path, message: 'option names are lower-case osquery flag names (letters, digits, _)' });
    else if (CLI_ONLY_OPTION.test(k)) problems.push({ path, message: `${k} is a command-line flag: osquery ignores it in config options; put it in the flagfile` });
    // osquery options are strings, booleans or integers (O-opt): 1.5 or an object would not mean what was meant.
    if (typeof v === 'boolean' || (typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && v.length <= MAX_OPTION_TEXT)) out[k] = v;
    else problems.push({ path, message: typeof v === 'number' ? 'numbers must be integers' : `a string (at most ${MAX_OPTION_TEXT} characters), an integer or a boolean` });
  }
  if (problems.length > 0) throw new ValidationError('invalid osquery options', problems);
  return out;
}

function parseOptions(text: string): Record<string, string | number | boolean> {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
    const out: Record<string, string | number | boolean> = {};
    for (const [k, val] of Object.entries(v)) {
      if (typeof val === 'string' || typeof val === 'number' || typeof val === 'boolean') out[k] = val;
    }
    return out;
  } catch {
    return {};
  }
}

export interface GroupView {
  id: number;
  name: string;
  description: string;
  options: Record<string, string | number | boolean>;
  isDefault: boolean;
  hostCount: number;
  activeSecrets: number;
  createdAt: number;
  updatedAt: number;
}

export interface GroupsServiceDeps {
  store: Store;
  cache: HostCache;
  secrets: SecretResolver;
  osqueryConfig: OsqueryConfigService;
  settings: { dataDir: string; configRefresh: number };
  /** Called after anything that changes which hosts are where or how their status is computed. */
  onHostsChanged: () => void;
}

export interface FlagfileRequest {
  tlsHostname?: string | undefined;
  caPath?: string | undefined;
  secretPath?: string | undefined;
  secretId?: number | undefined;
  /** `host[:port]` the operator reached the server with: the last-resort tls_hostname. */
  requestHost: string;
}

/** Where `mimir flagfile` and the start banner tell operators to put the files (bin/mimir.ts). */
const DEFAULT_CA_PATH = '/etc/osquery/mimir/ca.pem';
const DEFAULT_SECRET_PATH = '/etc/osquery/mimir/enroll_secret';
/** osquery-protocol.md §8 / Fleet's generated flags. */
const DEFAULT_CARVER_BLOCK_SIZE = 2_000_000;

export class GroupsService {
  constructor(private readonly deps: GroupsServiceDeps) {}

  private changedConfig(): void {
    this.deps.osqueryConfig.invalidate();
    this.deps.onHostsChanged();
  }

  async list(): Promise<GroupView[]> {
    const { store } = this.deps;
    const [groups, hosts, secrets] = await Promise.all([store.groups.list(), store.hostQueries.countByGroup(), store.groups.activeSecretCounts()]);
    return groups.map((g) => ({
      id: g.id,
      name: g.name,
      description: g.description,
      options: parseOptions(g.options),
      isDefault: g.name === DEFAULT_GROUP,
      hostCount: hosts.get(g.id) ?? 0,
      activeSecrets: secrets.get(g.id) ?? 0,
      createdAt: g.created_at,
      updatedAt: g.updated_at,
    }));
  }

  async get(id: number): Promise<GroupView> {
    const g = (await this.list()).find((x) => x.id === id);
    if (g === undefined) throw new NotFoundError(`group ${id} not found`);
    return g;
  }

  private async mustExist(id: number) {
    const g = await this.deps.store.groups.findById(id);
    if (g === undefined) throw new NotFoundError(`group ${id} not found`);
    return g;
  }

  async create(input: CreateGroupRequest, now: number): Promise<{ id: number; secretId: number | undefined }> {
    const name = input.name.trim();
    const options = validateOptions(input.options ?? {});
    const { store } = this.deps;
    try {
      const result = await store.transaction(async (tx) => {
        const id = await tx.groups.create(name, now, input.description ?? '');
        if (Object.keys(options).length > 0) await tx.groups.update(id, { options: JSON.stringify(options) }, now);
        const secretId = input.createSecret === false ? undefined : await tx.groups.addSecret(id, generateSecret(), 'created with the group', now);
        return { id, secretId };
      });
      this.deps.secrets.invalidate();
      this.changedConfig();
      return result;
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`a group named "${name}" already exists`, [{ path: '/name', message: 'already in use' }]);
      throw err;
    }
  }

  async update(id: number, input: UpdateGroupRequest, now: number): Promise<{ before: GroupView; changed: string[] }> {
    const g = await this.mustExist(id);
    const before = await this.get(id);
    const patch: { name?: string; description?: string; options?: string } = {};
    if (input.name !== undefined && input.name.trim() !== g.name) {
      // ensureDefaultGroup finds the default group by name at every start: a renamed one would be
      // replaced by a new, empty "default" group and the old secret would point elsewhere.
      if (g.name === DEFAULT_GROUP) throw new GroupProtectedError('the default group cannot be renamed', [{ path: '/name', message: 'the default group keeps its name' }]);
      patch.name = input.name.trim();
    }
    if (input.description !== undefined && input.description !== g.description) patch.description = input.description;
    if (input.options !== undefined) {
      const options = JSON.stringify(validateOptions(input.options));
      if (options !== g.options) patch.options = options;
    }
    if (Object.keys(patch).length === 0) return { before, changed: [] };
    try {
      await this.deps.store.groups.update(id, patch, now);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`a group named "${patch.name ?? ''}" already exists`, [{ path: '/name', message: 'already in use' }]);
      throw err;
    }
    if (patch.options !== undefined) this.changedConfig();
    return { before, changed: Object.keys(patch) };
  }

  /** Refused for the default group, and for a group with hosts unless they move elsewhere first. */
  async delete(id: number, moveHostsTo: number | undefined, now: number): Promise<{ name: string; movedHosts: number }> {
    const g = await this.mustExist(id);
    if (g.name === DEFAULT_GROUP) throw new GroupProtectedError('the default group cannot be deleted');
    if (moveHostsTo !== undefined) {
      if (moveHostsTo === id) throw new ValidationError('cannot move hosts into the group being deleted', [{ path: '/moveHostsTo', message: 'pick another group' }]);
      if ((await this.deps.store.groups.findById(moveHostsTo)) === undefined) {
        throw new ValidationError('no such group to move hosts to', [{ path: '/moveHostsTo', message: `no group with id ${moveHostsTo}` }]);
      }
    }
    const { store } = this.deps;
    const moved = await store.transaction(async (tx) => {
      const count = (await tx.hostQueries.countByGroup()).get(id) ?? 0;
      if (count > 0 && moveHostsTo === undefined) {
        throw new GroupNotEmptyError(`group "${g.name}" still has ${count} host(s): pass moveHostsTo to move them first`, [{ path: '/moveHostsTo', message: 'required while the group has hosts' }]);
      }
      const ids = moveHostsTo === undefined ? [] : await tx.hostQueries.moveGroup(id, moveHostsTo, now);
      await tx.groups.delete(id);
      return ids;
    });
    if (moveHostsTo !== undefined) for (const hostId of moved) this.setCachedGroup(hostId, moveHostsTo);
    this.deps.secrets.invalidate();
    this.changedConfig();
    return { name: g.name, movedHosts: moved.length };
  }

  /** Move hosts into a group (Fleet "transfer hosts"). Unknown host ids: 422, nothing moves. */
  async moveHosts(groupId: number, hostIds: readonly number[], now: number): Promise<number> {
    await this.mustExist(groupId);
    const { store } = this.deps;
    const unique = [...new Set(hostIds)];
    const moved = await store.transaction(async (tx) => {
      const existing = new Set(await tx.hostQueries.existingIds(unique));
      const missing = unique.filter((id) => !existing.has(id));
      if (missing.length > 0) {
        throw new ValidationError(`${missing.length} host id(s) do not exist`, [{ path: '/hostIds', message: `unknown host ids: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''}` }]);
      }
      return tx.hostQueries.moveHosts(unique, groupId, now);
    });
    for (const id of unique) this.setCachedGroup(id, groupId);
    this.deps.onHostsChanged();
    return moved;
  }

  /** The config a host is served depends on its group: its next config poll uses the new one. */
  private setCachedGroup(hostId: number, groupId: number): void {
    const state = this.deps.cache.getById(hostId);
    if (state !== undefined) state.groupId = groupId;
    this.deps.cache.changed([hostId]); // other instances reload it (issue #10)
  }

  // --- enroll secrets

  async listSecrets(groupId: number) {
    await this.mustExist(groupId);
    return (await this.deps.store.groups.listSecrets(groupId)).reverse();
  }

  private async addSecret(groupId: number, secret: string | undefined, name: string, now: number) {
    const value = secret ?? generateSecret();
    try {
      const id = await this.deps.store.groups.addSecret(groupId, value, name, now);
      this.deps.secrets.invalidate();
      const row = await this.deps.store.groups.findSecret(id);
      if (row === undefined) throw new Error('secret vanished');
      return row;
    } catch (err) {
      // The value enrolls into exactly one group; say so without revealing which.
      if (isUniqueViolation(err)) throw new ConflictError('this secret is already in use', [{ path: '/secret', message: 'choose another value' }]);
      throw err;
    }
  }

  async createSecret(groupId: number, input: { name?: string | undefined; secret?: string | undefined }, now: number) {
    await this.mustExist(groupId);
    return this.addSecret(groupId, input.secret, input.name ?? '', now);
  }

  /** A new secret; with revokeOld, the group's other active secrets are revoked once it exists. */
  async rotateSecret(groupId: number, input: RotateSecretRequest, now: number) {
    await this.mustExist(groupId);
    const before = (await this.deps.store.groups.listSecrets(groupId)).filter((s) => s.revoked_at === null);
    const created = await this.addSecret(groupId, input.secret, input.name ?? `rotated ${new Date(now).toISOString().slice(0, 10)}`, now);
    const revoked = [];
    if (input.revokeOld === true) {
      for (const s of before) {
        if (await this.deps.store.groups.revokeSecret(s.id, now)) revoked.push({ ...s, revoked_at: now });
      }
      this.deps.secrets.invalidate();
    }
    return { created, revoked };
  }

  async revokeSecret(groupId: number, secretId: number, now: number) {
    await this.mustExist(groupId);
    const s = await this.deps.store.groups.findSecret(secretId);
    if (s?.group_id !== groupId) throw new NotFoundError(`secret ${secretId} not found in group ${groupId}`);
    if (s.revoked_at !== null) return s;
    await this.deps.store.groups.revokeSecret(secretId, now);
    this.deps.secrets.invalidate();
    return { ...s, revoked_at: now };
  }

  // --- agent files

  /** The CA agents pin with --tls_server_certs; undefined when the server uses an operator-supplied certificate. */
  async caPem(groupId: number): Promise<string | undefined> {
    await this.mustExist(groupId);
    try {
      return await readFile(join(this.deps.settings.dataDir, 'tls', 'ca.pem'), 'utf8');
    } catch {
      return undefined;
    }
  }

  /**
   * The osqueryd flagfile for this group (osquery-protocol.md §8) with one of its active secrets.
   * tls_hostname and the carver block size come from the flagfile the server writes at start
   * (`<dataDir>/osquery/osquery.flags`, from MIMIR_PUBLIC_HOSTNAME and the carve limits), then from
   * the address the operator used; intervals are the ones this group is served.
   */
  async flagfile(groupId: number, req: FlagfileRequest) {
    await this.mustExist(groupId);
    const active = (await this.deps.store.groups.listSecrets(groupId)).filter((s) => s.revoked_at === null);
    const secret = req.secretId !== undefined ? active.find((s) => s.id === req.secretId) : active[active.length - 1];
    if (secret === undefined) {
      if (req.secretId !== undefined) throw new ValidationError('no such active secret in this group', [{ path: '/secretId', message: `secret ${req.secretId} is not an active secret of group ${groupId}` }]);
      throw new ConflictError(`group ${groupId} has no active enroll secret: create one first`);
    }
    const serverFlags = await this.serverFlags();
    const config = await this.deps.osqueryConfig.build(groupId, 'linux');
    const opt = (k: string, fallback: number) => {
      const v = config.options?.[k];
      const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
      return Number.isInteger(n) && n > 0 ? n : fallback;
    };
    const tlsHostname = req.tlsHostname ?? serverFlags.get('tls_hostname') ?? req.requestHost;
    const caPath = req.caPath ?? DEFAULT_CA_PATH;
    const secretPath = req.secretPath ?? DEFAULT_SECRET_PATH;
    const flagfile = renderFlagfile({
      tlsHostname,
      caPath,
      secretPath,
      configRefresh: this.deps.settings.configRefresh,
      distributedInterval: opt('distributed_interval', 10),
      loggerPeriod: opt('logger_tls_period', 10),
      carverBlockSize: Number(serverFlags.get('carver_block_size') ?? DEFAULT_CARVER_BLOCK_SIZE) || DEFAULT_CARVER_BLOCK_SIZE,
    });
    return { flagfile, enrollSecret: secret.secret, secretId: secret.id, tlsHostname, caPath, secretPath };
  }

  private async serverFlags(): Promise<Map<string, string>> {
    const flags = new Map<string, string>();
    try {
      const text = await readFile(join(this.deps.settings.dataDir, 'osquery', 'osquery.flags'), 'utf8');
      for (const line of text.split('\n')) {
        const m = /^--([a-z_]+)=(.*)$/.exec(line.trim());
        if (m?.[1] !== undefined && m[2] !== undefined) flags.set(m[1], m[2]);
      }
    } catch {
      // Not written (tests, read-only data directory): fall back to the request.
    }
    return flags;
  }
}

