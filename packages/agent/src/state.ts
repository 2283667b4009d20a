/**
 * The agent's small persistent state (`<root>/state/state.json`, written atomically): the pending
 * target of each kind with its stagger deadline (so a restart does not draw a new random wait), and
 * builds that failed or were refused (so a bad build is not retried at every poll).
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { UpdateKind } from './manifest.js';

export interface PendingTarget {
  version: string;
  sha256: string;
  /** Not before this time (ms): the client-side stagger. */
  notBefore: number;
}

export interface FailedBuild {
  version: string;
  sha256: string;
  at: number;
  reason: string;
}

export interface AgentState {
  pending: Partial<Record<UpdateKind, PendingTarget>>;
  failed: Record<UpdateKind, FailedBuild[]>;
}

/** In-progress agent self-update (`state/agent-update.json`), settled by the new agent or the launcher. */
export interface AgentUpdateMarker {
  from: string;
  to: string;
  sha256: string;
  at: number;
}

const MAX_FAILED = 20;

export function emptyState(): AgentState {
  return { pending: {}, failed: { osquery: [], agent: [] } };
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 2), { mode: 0o600 });
  await rename(tmp, file);
}

export async function loadState(file: string): Promise<AgentState> {
  const s = await readJson<Partial<AgentState>>(file);
  const out = emptyState();
  if (s?.pending !== undefined) out.pending = s.pending;
  const failed = s?.failed as Partial<AgentState['failed']> | undefined;
  if (failed !== undefined) out.failed = { osquery: failed.osquery ?? [], agent: failed.agent ?? [] };
  return out;
}

export function clearPending(state: AgentState, kind: UpdateKind): void {
  const next: AgentState['pending'] = {};
  for (const k of ['osquery', 'agent'] as const) {
    const p = state.pending[k];
    if (k !== kind && p !== undefined) next[k] = p;
  }
  state.pending = next;
}

export function markFailed(state: AgentState, kind: UpdateKind, f: FailedBuild): void {
  const list = state.failed[kind].filter((x) => !(x.version === f.version && x.sha256 === f.sha256));
  list.push(f);
  state.failed[kind] = list.slice(-MAX_FAILED);
}

export function hasFailed(state: AgentState, kind: UpdateKind, version: string, sha256: string): FailedBuild | undefined {
  return state.failed[kind].find((x) => x.version === version && x.sha256.toLowerCase() === sha256.toLowerCase());
}
