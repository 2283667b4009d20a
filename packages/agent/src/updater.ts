/**
 * Updating osqueryd and the agent itself (seed 000, issue #6). For a target the server names:
 * check it (signature over the canonical manifest with the pinned keys, SHA-256 format, manifest
 * freshness, no downgrade unless the server marks a deliberate rollback) → wait the client-side
 * stagger → download (resuming) → verify SHA-256 → install into a new versioned directory →
 * switch `current` atomically → restart → health-check → keep it, or roll back and report.
 * A build that failed or was refused is remembered and not tried again.
 */
import type { KeyObject } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { CheckInAnswer, ServerClient, Target } from './client.js';
import type { AgentConfig, Layout } from './config.js';
import { errorText, type AgentLogger } from './log.js';
import { compareVersions, freshnessProblem, verifySignature, type UpdateKind } from './manifest.js';
import { clearPending, hasFailed, loadState, markFailed, writeJson, type AgentState, type AgentUpdateMarker } from './state.js';
import type { OsquerydSupervisor } from './supervisor.js';
import { currentVersion, installBuild, switchCurrent, versionDir } from './tree.js';

/** healthCheck's answer when the agent stops meanwhile. */
const SHUTTING_DOWN = 'the agent is shutting down';

/** Largest build accepted (the server caps uploads at 512 MiB). */
const MAX_BINARY_BYTES = 512 * 1024 * 1024;

export interface UpdaterDeps {
  cfg: AgentConfig;
  paths: Layout;
  client: ServerClient;
  keys: readonly KeyObject[];
  log: AgentLogger;
  supervisor: OsquerydSupervisor;
  os: string;
  arch: string;
  agentVersion: string;
  /** The worker exits so the launcher starts the new agent (docs/agent.md "Self-update"). */
  requestReexec: () => void;
  /** Aborted on shutdown: waits end early. */
  signal: AbortSignal;
  now?: () => number;
  random?: () => number;
}

export type UpdateOutcome = 'none' | 'waiting' | 'refused' | 'installed' | 'rolled_back' | 'reexec' | 'error';

export class Updater {
  private readonly now: () => number;
  private readonly random: () => number;
  /** One update at a time. */
  private busy = false;

  constructor(private readonly d: UpdaterDeps) {
    this.now = d.now ?? Date.now;
    this.random = d.random ?? Math.random;
  }

  private base(kind: UpdateKind): { dir: string; file: string } {
    return kind === 'osquery' ? { dir: this.d.paths.osqueryDir, file: 'osqueryd' } : { dir: this.d.paths.agentDir, file: 'mimir-agent' };
  }

  async current(kind: UpdateKind): Promise<string> {
    if (kind === 'agent') return this.d.agentVersion;
    return (await currentVersion(this.d.paths.osqueryDir)) ?? '';
  }

  /** Act on one check-in answer: osquery first, then the agent (whose update ends this process). */
  async handle(answer: CheckInAnswer): Promise<Record<UpdateKind, UpdateOutcome>> {
    const out: Record<UpdateKind, UpdateOutcome> = { osquery: 'none', agent: 'none' };
    if (this.busy) return out;
    this.busy = true;
    try {
      if (this.d.cfg.osqueryAutoUpdate && answer.osquery !== null) out.osquery = await this.consider('osquery', answer.osquery);
      if (this.d.cfg.agentAutoUpdate && answer.agent !== null && out.osquery !== 'installed') out.agent = await this.consider('agent', answer.agent);
    } finally {
      this.busy = false;
    }
    return out;
  }

  /** Why a target must not be installed, or undefined when it may. */
  checkTarget(kind: UpdateKind, t: Target, current: string): string | undefined {
    if (!/^[0-9a-fA-F]{64}$/.test(t.sha256)) return 'the SHA-256 is not 64 hex characters';
    if (!t.url.startsWith('/api/')) return `the download URL ${t.url} is not a Mimir /api/ path`;
    const m = { kind, version: t.version, os: this.d.os, arch: this.d.arch, url: t.url, sha256: t.sha256, timestamp: t.timestamp };
    if (!verifySignature(m, t.signature, this.d.keys)) return 'the Ed25519 manifest signature does not verify against the pinned update keys';
    const stale = freshnessProblem(t.timestamp, this.now(), this.d.cfg.maxManifestAgeDays);
    if (stale !== undefined) return stale;
    if (current !== '' && compareVersions(t.version, current) < 0 && !t.rollback) return `${t.version} is older than ${current} and the server did not mark it as a rollback: not downgrading`;
    return undefined;
  }

  private async consider(kind: UpdateKind, t: Target): Promise<UpdateOutcome> {
    const log = this.d.log.child({ kind, version: t.version });
    const current = await this.current(kind);
    const state = await loadState(this.d.paths.stateFile);
    if (t.version === current) {
      if (state.pending[kind] !== undefined) {
        clearPending(state, kind);
        await writeJson(this.d.paths.stateFile, state);
      }
      return 'none';
    }
    if (hasFailed(state, kind, t.version, t.sha256) !== undefined) {
      log.debug('target failed before: staying');
      return 'none';
    }
    const problem = this.checkTarget(kind, t, current);
    if (problem !== undefined) {
      log.error('update refused', { problem });
      markFailed(state, kind, { version: t.version, sha256: t.sha256, at: this.now(), reason: problem });
      await writeJson(this.d.paths.stateFile, state);
      await this.report({ kind, fromVersion: current, toVersion: t.version, outcome: 'refused', message: problem });
      return 'refused';
    }
    // Client-side stagger (seed 000): a random wait up to staggerSeconds, drawn once per target.
    let pending = state.pending[kind];
    if (pending?.version !== t.version || pending.sha256 !== t.sha256) {
      pending = { version: t.version, sha256: t.sha256, notBefore: this.now() + Math.floor(this.random() * this.d.cfg.staggerSeconds * 1000) };
      state.pending[kind] = pending;
      await writeJson(this.d.paths.stateFile, state);
      log.info('new update target: staggering', { notBefore: new Date(pending.notBefore).toISOString() });
    }
    if (this.now() < pending.notBefore) return 'waiting';

    let file: string;
    try {
      file = await this.fetch(kind, t, log);
    } catch (e) {
      log.warn('download failed: will retry at the next poll', { err: errorText(e) });
      return 'error';
    }
    const { dir, file: name } = this.base(kind);
    await installBuild(dir, t.version, file, name);
    await rm(file, { force: true });
    log.info('installed into a new versioned directory', { dir: join(dir, versionDir(t.version)) });
    return kind === 'osquery' ? this.switchOsquery(t, current, state, log) : this.switchAgent(t, current, log);
  }

  /** Download into the state directory (resuming a partial file) and check the SHA-256. */
  private async fetch(kind: UpdateKind, t: Target, log: AgentLogger): Promise<string> {
    await mkdir(this.d.paths.downloads, { recursive: true, mode: 0o700 });
    const file = join(this.d.paths.downloads, `${kind}-${versionDir(t.version)}.part`);
    const got = await this.d.client.download(t.url, file, t.sha256, MAX_BINARY_BYTES);
    if (got.resumedFrom > 0) log.info('download resumed', { from: got.resumedFrom });
    if (got.sha256 !== t.sha256.toLowerCase()) {
      await rm(file, { force: true });
      throw new Error(`SHA-256 mismatch: got ${got.sha256}, the signed manifest says ${t.sha256.toLowerCase()}`);
    }
    return file;
  }

  private async switchOsquery(t: Target, previous: string, state: AgentState, log: AgentLogger): Promise<UpdateOutcome> {
    const dir = this.d.paths.osqueryDir;
    await switchCurrent(dir, t.version);
    const before = this.d.supervisor.starts;
    await this.d.supervisor.restart();
    const problem = await this.healthCheck(t.version, before);
    if (problem === SHUTTING_DOWN) {
      // Unproven, not failed: go back to the previous build and try again after the restart
      // (the pending target and its stagger are kept).
      log.warn('shutting down during the health check: back to the previous build for now', { to: previous });
      if (previous !== '') await switchCurrent(dir, previous);
      return 'error';
    }
    if (problem === undefined) {
      clearPending(state, 'osquery');
      await writeJson(this.d.paths.stateFile, state);
      log.info('osquery update healthy', { from: previous });
      await this.report({ kind: 'osquery', fromVersion: previous, toVersion: t.version, outcome: 'installed', message: '' });
      return 'installed';
    }
    log.error('osquery update failed its health check: rolling back', { problem, to: previous });
    if (previous !== '') await switchCurrent(dir, previous);
    await this.d.supervisor.restart();
    clearPending(state, 'osquery');
    markFailed(state, 'osquery', { version: t.version, sha256: t.sha256, at: this.now(), reason: problem });
    await writeJson(this.d.paths.stateFile, state);
    await this.report({ kind: 'osquery', fromVersion: previous, toVersion: t.version, outcome: 'rolled_back', message: problem });
    return 'rolled_back';
  }

  /**
   * Healthy = osqueryd stays up `healthUptimeSeconds` without exiting, and the server reports the
   * host at the new version (what osqueryd itself sent, not the agent's word). Returns the problem.
   */
  private async healthCheck(version: string, startsBefore: number): Promise<string | undefined> {
    const { cfg, supervisor, client } = this.d;
    const since = this.now();
    const deadline = since + cfg.healthTimeoutSeconds * 1000;
    let reported = '';
    while (!this.d.signal.aborted) {
      // Only processes started for the new build count (the old one's stop is an exit too).
      const exit = supervisor.exits.find((e) => e.startNo > startsBefore);
      if (exit !== undefined) return `osqueryd ${version} exited ${exit.uptimeMs} ms after start (code ${exit.code ?? 'none'}, signal ${exit.signal ?? 'none'})`;
      try {
        reported = (await client.checkIn()).host?.osqueryVersion ?? '';
      } catch (e) {
        this.d.log.warn('check-in during health check failed', { err: errorText(e) });
      }
      const up = supervisor.runningSince > 0 && this.now() - supervisor.runningSince >= cfg.healthUptimeSeconds * 1000;
      if (up && reported === version) return undefined;
      if (this.now() >= deadline) {
        return `osqueryd ${version} not healthy within ${cfg.healthTimeoutSeconds} s (${up ? 'up' : 'not up long enough'}; the server reports osquery ${reported === '' ? 'nothing' : reported})`;
      }
      try {
        await delay(cfg.healthPollSeconds * 1000, undefined, { signal: this.d.signal });
      } catch {
        break;
      }
    }
    return SHUTTING_DOWN;
  }

  /** Switch the agent's `current` and hand over to the launcher, which starts the new build and watches it. */
  private async switchAgent(t: Target, previous: string, log: AgentLogger): Promise<UpdateOutcome> {
    const marker: AgentUpdateMarker = { from: previous, to: t.version, sha256: t.sha256.toLowerCase(), at: this.now() };
    await writeJson(this.d.paths.agentUpdateFile, marker);
    await switchCurrent(this.d.paths.agentDir, t.version);
    log.info('agent build switched: re-executing', { from: previous });
    this.d.requestReexec();
    return 'reexec';
  }

  private async report(r: Parameters<ServerClient['report']>[0]): Promise<void> {
    try {
      await this.d.client.report(r);
    } catch (e) {
      this.d.log.warn('could not report the update outcome', { err: errorText(e), ...r });
    }
  }
}
