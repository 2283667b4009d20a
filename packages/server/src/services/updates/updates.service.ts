/**
 * Signed updates (seed 000, issue #5): register a signed manifest (Pending), approve it (verified
 * again, who and when recorded), roll it out by presets, delete it at 0%, store binaries, report
 * progress, and answer agents. Register → Approve is the deliberate two-step that catches a
 * manifest CI published by accident; rollout is refused until a row is approved.
 */
import type { Readable } from 'node:stream';
import { ROLLOUT_PRESETS, type AgentUpdateAnswer, type AgentUpdateTarget, type UpdateKind, type UpdateProgress } from '@mimir/api-contract';
import { BadRequestError, ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Actor, UpdateArtifactRow, UpdateBinaryRow } from '../../storage/repositories/updates.repository.js';
import type { Store } from '../../storage/store.js';
import { normaliseArch } from '../host-fields.js';
import { BinaryStore, binaryUrl, parseBinaryUrl, type StagedBinary } from './binary-store.js';
import { chooseTarget, inCohort } from './cohort.js';
import { verifyManifest, type ManifestFields, type TrustedKey } from './manifest.js';
import { checkArch, checkOs, checkRegisterInput, checkVersion, isUpdateArch, isUpdateKind, isUpdateOs, type Issue, type RegisterInput } from './validate.js';

export type { Actor } from '../../storage/repositories/updates.repository.js';

/** How the console names a row, e.g. `osquery 5.12.1 (linux/amd64)` (seed 000 toasts). */
export function artifactLabel(r: { kind: string; version: string; os: string; arch: string }): string {
  return `${r.kind} ${r.version} (${r.os}/${r.arch})`;
}

export type BinaryStatus = 'stored' | 'sha_mismatch' | 'missing' | 'external';

export interface UpdatesServiceOptions {
  store: Store;
  keys: readonly TrustedKey[];
  dataDir: string;
  now: () => number;
  log: Logger;
  /** Upload cap in bytes (tests lower it). */
  maxBinaryBytes?: number | undefined;
}

export interface AgentCheckInput {
  os: string;
  arch: string;
  osqueryVersion: string;
  agentVersion: string;
  /** Installer switch for osquery auto-updates; false = never offer osquery (seed 000 troubleshooting). */
  autoUpdate: boolean;
}

/** The architecture a host row records, in update vocabulary (Windows' os_version.arch says "64-bit"). */
export function updateArch(arch: string): string {
  const a = normaliseArch(arch);
  if (a === '64-bit') return 'amd64';
  if (/arm\s*64/.test(a)) return 'arm64';
  return a;
}

export class UpdatesService {
  readonly binaries: BinaryStore;
  private readonly store: Store;
  private readonly keys: readonly TrustedKey[];
  private readonly now: () => number;
  private readonly log: Logger;
  /** Binary commits run one at a time so the file on disk and its row always agree. */
  private commitChain: Promise<unknown> = Promise.resolve();

  constructor(opts: UpdatesServiceOptions) {
    this.store = opts.store;
    this.keys = opts.keys;
    this.now = opts.now;
    this.log = opts.log;
    this.binaries = new BinaryStore(opts.dataDir, opts.maxBinaryBytes);
  }

  get trustedKeys(): readonly TrustedKey[] {
    return this.keys;
  }

  presets(kind: UpdateKind): readonly number[] {
    return ROLLOUT_PRESETS[kind];
  }

  list(f: { kind: UpdateKind; beforeId?: number | undefined; limit: number; os?: string | undefined; arch?: string | undefined; status?: 'pending' | 'approved' | undefined }) {
    return this.store.updates.listArtifacts(f);
  }

  async get(kind: UpdateKind, id: number): Promise<UpdateArtifactRow> {
    const row = await this.store.updates.findArtifact(kind, id);
    if (row === undefined) throw new NotFoundError(`${kind} update ${id} not found`);
    return row;
  }

  /** Stored binaries keyed `kind/os/arch/version` → SHA-256, for `binaryStatus`. */
  async binaryIndex(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const kind of ['osquery', 'agent'] as const) {
      for (const [k, v] of await this.store.updates.binaryHashes(kind)) out.set(`${kind}/${k}`, v);
    }
    return out;
  }

  /** Does Mimir store the binary the row's URL names, with the signed SHA-256? */
  binaryStatus(row: Pick<UpdateArtifactRow, 'url' | 'sha256'>, index: ReadonlyMap<string, string>): BinaryStatus {
    const target = parseBinaryUrl(row.url);
    if (target === undefined) return 'external';
    const sha = index.get(`${target.kind}/${target.os}/${target.arch}/${target.version}`);
    if (sha === undefined) return 'missing';
    return sha === row.sha256 ? 'stored' : 'sha_mismatch';
  }

  private verify(m: ManifestFields, signature: string): TrustedKey | undefined {
    return verifyManifest(m, signature, this.keys);
  }

  private noKeysIssue(): Issue {
    return { path: '/signature', message: 'cannot be verified: the server trusts no update signing keys (set MIMIR_UPDATE_PUBLIC_KEYS, see docs/updates.md)' };
  }

  /** Register a signed manifest as Pending. Nothing is stored unless every check passes. */
  async register(kind: UpdateKind, input: RegisterInput, actor: Actor): Promise<UpdateArtifactRow> {
    const m = checkRegisterInput(kind, input);
    if (this.keys.length === 0) throw new ValidationError('Registration failed: no update signing keys are configured', [this.noKeysIssue()]);
    const key = this.verify(m, m.signature);
    if (key === undefined) {
      // Any changed field breaks the signature; the usual culprit is a SHA and a signature from different builds (seed 000).
      throw new ValidationError(
        'Registration failed: the manifest signature does not cover these values. Re-paste both the SHA256 and the signature from the same signing run.',
        [
          { path: '/signature', message: 'does not verify (Ed25519) against any configured key for this kind, version, OS, arch, URL, SHA256 and timestamp' },
          { path: '/sha256', message: 'must be the SHA256 the manifest signature covers' },
        ],
      );
    }
    const existing = await this.store.updates.findArtifactByIdentity(kind, m.os, m.arch, m.version);
    if (existing !== undefined) {
      throw new ConflictError(`${artifactLabel(m)} is already registered (id ${existing.id}); to serve it again, approve it again, or delete it at 0% and register anew`);
    }
    const at = this.now();
    let id: number;
    try {
      id = await this.store.updates.insertArtifact({
        kind, version: m.version, os: m.os, arch: m.arch, url: m.url, sha256: m.sha256, signature: m.signature,
        timestamp: m.timestamp, key_id: key.id, rollout: 0, added_at: at, added_by_id: actor.id, added_by_email: actor.email,
        approved_at: null, approved_by_id: null, approved_by_email: null, updated_at: at,
      });
    } catch (err) {
      // Two admins registering the same version at once: the unique index decides.
      if (await this.store.updates.findArtifactByIdentity(kind, m.os, m.arch, m.version)) throw new ConflictError(`${artifactLabel(m)} is already registered`);
      throw err;
    }
    return this.get(kind, id);
  }

  /**
   * Approve (or approve again, the rollback path): the signature is verified again against the
   * keys configured now, and the stored binary, when Mimir stores it, must have the signed SHA-256.
   */
  async approve(kind: UpdateKind, id: number, actor: Actor): Promise<{ row: UpdateArtifactRow; again: boolean }> {
    const row = await this.get(kind, id);
    const fields: ManifestFields = { kind, version: row.version, os: row.os, arch: row.arch, url: row.url, sha256: row.sha256, timestamp: row.timestamp };
    if (this.keys.length === 0) throw new ValidationError('Approve failed: no update signing keys are configured', [this.noKeysIssue()]);
    if (this.verify(fields, row.signature) === undefined) {
      throw new ValidationError(
        `Approve failed: the Ed25519 manifest signature of ${artifactLabel(row)} does not verify against the configured keys. Re-register with values freshly generated by your signing pipeline.`,
        [{ path: '/signature', message: 'does not verify against any configured key (was the signing key rotated out?)' }],
      );
    }
    if (this.binaryStatus(row, await this.binaryIndex()) === 'sha_mismatch') {
      throw new ConflictError(`Approve failed: the binary stored at ${row.url} does not have the signed SHA256 ${row.sha256}; every agent would reject it. Upload the signed binary again.`);
    }
    await this.store.transaction(async (tx) => {
      // Approval order is what "newer than what a host runs" means (cohort.ts chooseTarget): keep it
      // strictly increasing per platform even for two approvals within one millisecond.
      const last = await tx.updates.lastApproval(kind, row.os, row.arch);
      await tx.updates.approveArtifact(row, Math.max(this.now(), (last ?? 0) + 1), actor);
    });
    return { row: await this.get(kind, id), again: row.approved_at !== null };
  }

  /** Set the rollout to a preset. Setting the current value again changes nothing. */
  async setRollout(kind: UpdateKind, id: number, percent: number): Promise<{ row: UpdateArtifactRow; changed: boolean; previous: number }> {
    const presets = this.presets(kind);
    if (!presets.includes(percent)) {
      throw new ValidationError(`Rollout must be one of ${presets.map((p) => `${p}%`).join(', ')} for ${kind} updates`, [
        { path: '/percent', message: `must be one of ${presets.join(', ')}` },
      ]);
    }
    const row = await this.get(kind, id);
    if (row.approved_at === null) throw new ConflictError(`${artifactLabel(row)} is pending: approve it before rollout`);
    if (row.rollout === percent) return { row, changed: false, previous: row.rollout };
    const changed = await this.store.updates.setRollout(id, percent, this.now());
    return { row: await this.get(kind, id), changed, previous: row.rollout };
  }

  /** Delete a row at 0% (final). Agents already running it are unaffected. */
  async delete(kind: UpdateKind, id: number): Promise<UpdateArtifactRow> {
    const row = await this.get(kind, id);
    // The guard is also in the DELETE's WHERE, so a rollout set meanwhile still wins.
    if (row.rollout > 0 || !(await this.store.updates.deleteArtifact(id))) {
      const now = await this.get(kind, id);
      throw new ConflictError('Set rollout to 0% before deleting.', { rollout: now.rollout });
    }
    return row;
  }

  /** Hosts of the row's (os, arch), how many are in its cohort, how many already report its version. */
  async progress(kind: UpdateKind, id: number): Promise<UpdateProgress> {
    const row = await this.get(kind, id);
    const hosts = await this.store.updates.progressHosts(row.os);
    let total = 0;
    let cohort = 0;
    let onVersion = 0;
    let reporting = 0;
    let autoOff = 0;
    const rollout = row.approved_at === null ? 0 : row.rollout;
    for (const h of hosts) {
      // The agent's own report wins: the host row's arch comes from osquery tables (Windows says "64-bit").
      const os = h.check_os ?? h.platform;
      const arch = h.check_arch ?? updateArch(h.arch);
      if (os !== row.os || arch !== row.arch) continue;
      total++;
      if (h.checked_at !== null) reporting++;
      if (h.check_auto_update === 0) autoOff++;
      if (inCohort(h.id, row.version, rollout)) cohort++;
      let version: string;
      if (kind === 'agent') version = h.agent_version;
      else {
        // The fresher of osquery's own detail refresh and the agent's report.
        const fromCheck = h.checked_at !== null && h.checked_at >= h.detail_updated_at && h.check_osquery_version !== null && h.check_osquery_version !== '';
        version = fromCheck ? (h.check_osquery_version ?? '') : h.osquery_version;
      }
      if (version === row.version) onVersion++;
    }
    return {
      artifactId: row.id, kind, version: row.version, platform: `${row.os}/${row.arch}`, rollout,
      hostsTotal: total, hostsInCohort: cohort, hostsOnVersion: onVersion, hostsReporting: reporting, autoUpdateOff: autoOff,
    };
  }

  /** What one kind's target is for a host running `current` (empty = unknown). */
  async targetFor(kind: UpdateKind, hostId: number, os: string, arch: string, current: string): Promise<AgentUpdateTarget | null> {
    const rows = await this.store.updates.servingRows(kind, os, arch);
    if (rows.length === 0) return null;
    const currentApprovedAt = current === '' ? undefined : await this.store.updates.lastApproval(kind, os, arch, current);
    const target = chooseTarget(rows.map((r) => ({ ...r, approvedAt: r.approved_at })), hostId, currentApprovedAt);
    if (target === undefined) return null;
    return { version: target.version, url: target.url, sha256: target.sha256, signature: target.signature, timestamp: target.timestamp };
  }

  /** An agent asks what to run; its report is recorded on the host. */
  async check(hostId: number, raw: AgentCheckInput): Promise<AgentUpdateAnswer> {
    const os = raw.os.toLowerCase();
    const arch = updateArch(raw.arch);
    const issues: Issue[] = [];
    checkOs(os, issues);
    checkArch(arch, issues);
    if (raw.osqueryVersion !== '') checkVersion(raw.osqueryVersion, issues, '/osqueryVersion');
    if (raw.agentVersion !== '') checkVersion(raw.agentVersion, issues, '/agentVersion');
    if (issues.length > 0) throw new BadRequestError(issues.map((i) => `${i.path.slice(1)} ${i.message}`).join('; '), issues);
    const input = { ...raw, os, arch };
    await this.store.updates.recordCheck(hostId, input, this.now());
    return {
      osquery: input.autoUpdate ? await this.targetFor('osquery', hostId, os, arch, input.osqueryVersion) : null,
      agent: await this.targetFor('agent', hostId, os, arch, input.agentVersion),
    };
  }

  // ---- binaries ----

  /** Stream an upload to a temporary file (hash + cap). Pair with commitBinary or discardBinary. */
  stageBinary(source: Readable, truncated?: () => boolean): Promise<StagedBinary> {
    return this.binaries.stage(source, truncated);
  }

  discardBinary(staged: StagedBinary | undefined): Promise<void> {
    return this.binaries.discard(staged);
  }

  /**
   * Validate the upload's fields and move the staged file into place. Same bytes again: unchanged.
   * Different bytes under an approved row: refused (agents would reject them; delete the row first).
   */
  async commitBinary(fields: Record<string, string>, staged: StagedBinary | undefined, actor: Actor): Promise<{ row: UpdateBinaryRow; changed: boolean }> {
    const issues: Issue[] = [];
    const kind = fields['kind'] ?? '';
    const os = fields['os'] ?? '';
    const arch = fields['arch'] ?? '';
    const version = fields['version'] ?? '';
    if (!isUpdateKind(kind)) issues.push({ path: '/kind', message: 'must be osquery or agent' });
    checkOs(os, issues);
    checkArch(arch, issues);
    checkVersion(version, issues);
    for (const name of Object.keys(fields)) {
      if (!['kind', 'os', 'arch', 'version'].includes(name)) issues.push({ path: `/${name}`, message: 'is not a field of this form (expected kind, os, arch, version, file)' });
    }
    if (staged === undefined) issues.push({ path: '/file', message: 'is required: the binary as a file part' });
    else if (staged.size === 0) issues.push({ path: '/file', message: 'is empty' });
    if (issues.length > 0 || staged === undefined || !isUpdateKind(kind) || !isUpdateOs(os) || !isUpdateArch(arch)) {
      throw new ValidationError(`Upload failed: ${issues.map((i) => `${i.path.slice(1)} ${i.message}`).join('; ')}`, issues);
    }
    const run = this.commitChain.then(async () => {
      const existing = await this.store.updates.findBinary(kind, os, arch, version);
      if (existing?.sha256 === staged.sha256) {
        await this.binaries.discard(staged);
        return { row: existing, changed: false };
      }
      const registered = await this.store.updates.findArtifactByIdentity(kind, os, arch, version);
      const named = registered === undefined ? undefined : parseBinaryUrl(registered.url);
      const servedFromHere = named?.kind === kind && named.os === os && named.arch === arch && named.version === version;
      if (servedFromHere && registered?.approved_at != null && registered.sha256 !== staged.sha256) {
        throw new ConflictError(`${artifactLabel(registered)} is approved with SHA256 ${registered.sha256}; replacing its binary would make every agent reject it. Set its rollout to 0% and delete it first.`);
      }
      const file = this.binaries.relativePath(kind, os, arch, version);
      await this.binaries.commit(staged, file);
      const id = await this.store.updates.upsertBinary({
        kind, os, arch, version, file, sha256: staged.sha256, size: staged.size, uploaded_at: this.now(),
        uploaded_by_id: actor.id, uploaded_by_email: actor.email,
      });
      this.log.info({ kind, os, arch, version, sha256: staged.sha256, size: staged.size }, 'update binary stored');
      const row = await this.store.updates.findBinary(kind, os, arch, version);
      if (row?.id !== id) throw new NotFoundError('stored binary vanished');
      return { row, changed: true };
    });
    this.commitChain = run.catch(() => undefined);
    try {
      return await run;
    } catch (err) {
      await this.binaries.discard(staged);
      throw err;
    }
  }

  listBinaries(f: { kind?: UpdateKind | undefined; beforeId?: number | undefined; limit: number }) {
    return this.store.updates.listBinaries(f);
  }

  binaryUrlOf(row: Pick<UpdateBinaryRow, 'kind' | 'os' | 'arch' | 'version'>): string {
    return isUpdateKind(row.kind) ? binaryUrl(row.kind, row.os, row.arch, row.version) : '';
  }

  /** A stored binary for download, or undefined. */
  async openBinary(kind: UpdateKind, os: string, arch: string, version: string): Promise<{ path: string; sha256: string; uploadedAt: number } | undefined> {
    const row = await this.store.updates.findBinary(kind, os, arch, version);
    if (row === undefined) return undefined;
    return { path: this.binaries.absolute(row.file), sha256: row.sha256, uploadedAt: row.uploaded_at };
  }
}
