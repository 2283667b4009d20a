/**
 * The agent's conversation with the server (docs/agent.md "Endpoints"): enroll for an agent key
 * (kept in the state directory, mode 0600), check in, report install outcomes, download builds.
 * An unknown key (`node_invalid`) means the server forgot the agent: it enrolls again once and
 * retries, as osquery does.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Layout } from './config.js';
import { AgentHttp, ServerError } from './http.js';
import type { AgentLogger } from './log.js';
import type { UpdateKind, UpdateTarget } from './manifest.js';

const BASE = '/api/v1/osquery/agent';

export interface SelfReport {
  hostname: string;
  os: string;
  arch: string;
  agentVersion: string;
  osqueryVersion: string;
  autoUpdate: boolean;
}

export type Target = UpdateTarget & { rollback: boolean };

export interface CheckInAnswer {
  agentId: number;
  /** osqueryd's host as the server sees it (what osqueryd itself reported), once it enrolled. */
  host: { id: number; hostname: string; osqueryVersion: string; seenAt: number } | null;
  osquery: Target | null;
  agent: Target | null;
}

export interface OutcomeReport {
  kind: UpdateKind;
  fromVersion: string;
  toVersion: string;
  outcome: 'installed' | 'rolled_back' | 'refused';
  message: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const s = (o: Obj, k: string): string => {
  const v = o[k];
  if (typeof v !== 'string') throw new Error(`check-in answer: ${k} is not a string`);
  return v;
};

function parseTarget(v: unknown, name: string): Target | null {
  if (v === null || v === undefined) return null;
  if (!isObj(v)) throw new Error(`check-in answer: ${name} is not an object`);
  return { version: s(v, 'version'), url: s(v, 'url'), sha256: s(v, 'sha256'), signature: s(v, 'signature'), timestamp: s(v, 'timestamp'), rollback: v['rollback'] === true };
}

/** Validate the server's check-in answer (nothing from the network is trusted by shape). */
export function parseCheckIn(v: unknown): CheckInAnswer {
  if (!isObj(v)) throw new Error('check-in answer is not an object');
  const h = v['host'];
  let host: CheckInAnswer['host'] = null;
  if (isObj(h)) {
    host = {
      id: typeof h['id'] === 'number' ? h['id'] : 0,
      hostname: typeof h['hostname'] === 'string' ? h['hostname'] : '',
      osqueryVersion: typeof h['osqueryVersion'] === 'string' ? h['osqueryVersion'] : '',
      seenAt: typeof h['seenAt'] === 'number' ? h['seenAt'] : 0,
    };
  }
  return { agentId: typeof v['agentId'] === 'number' ? v['agentId'] : 0, host, osquery: parseTarget(v['osquery'], 'osquery'), agent: parseTarget(v['agent'], 'agent') };
}

export class ServerClient {
  private key: string | undefined;

  constructor(
    readonly http: AgentHttp,
    private readonly paths: Layout,
    private readonly opts: { enrollSecretPath: string; hardwareUuid: string; self: () => SelfReport; log: AgentLogger },
  ) {}

  private async storedKey(): Promise<string | undefined> {
    if (this.key !== undefined) return this.key;
    const k = await readFile(this.paths.keyFile, 'utf8').then((t) => t.trim(), () => '');
    if (k !== '') this.key = k;
    return this.key;
  }

  /** Enroll (again): a fresh agent key, written atomically with mode 0600. */
  async enroll(): Promise<string> {
    const secret = (await readFile(this.opts.enrollSecretPath, 'utf8')).trim();
    const answer = await this.http.postJson(`${BASE}/enroll`, { enrollSecret: secret, hardwareUuid: this.opts.hardwareUuid, ...this.opts.self() });
    const key = isObj(answer) && typeof answer['agentKey'] === 'string' ? answer['agentKey'] : '';
    if (key === '') throw new Error('enroll answer has no agentKey');
    const tmp = `${this.paths.keyFile}.tmp`;
    await writeFile(tmp, key, { mode: 0o600 });
    await rename(tmp, this.paths.keyFile);
    this.key = key;
    this.opts.log.info('agent enrolled', { agentId: isObj(answer) ? answer['agentId'] : undefined });
    return key;
  }

  async authHeaders(): Promise<Record<string, string>> {
    const key = (await this.storedKey()) ?? (await this.enroll());
    return { authorization: `AgentKey ${key}` };
  }

  /** A keyed request; on node_invalid enroll again and retry once. */
  private async keyed<T>(fn: (headers: Record<string, string>) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.authHeaders());
    } catch (e) {
      if (!(e instanceof ServerError) || !e.nodeInvalid) throw e;
      this.opts.log.warn('agent key refused by the server: enrolling again');
      this.key = undefined;
      await this.enroll();
      return fn(await this.authHeaders());
    }
  }

  async checkIn(): Promise<CheckInAnswer> {
    return this.keyed(async (headers) => parseCheckIn(await this.http.postJson(`${BASE}/checkin`, this.opts.self(), headers)));
  }

  async report(r: OutcomeReport): Promise<void> {
    await this.keyed((headers) => this.http.postJson(`${BASE}/report`, r, headers));
  }

  async download(url: string, file: string, expectedSha256: string, maxBytes: number) {
    return this.keyed(async (headers) => this.http.download(url, file, { headers, expectedSha256, maxBytes }));
  }
}
