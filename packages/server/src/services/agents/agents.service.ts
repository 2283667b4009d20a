/**
 * Mimir agent identities (issue #6). The agent that wraps osqueryd enrolls with the same enroll
 * secret as osquery but gets a key of its own, so it can check in, ask for updates and report
 * install outcomes whether or not osqueryd is running. It is tied to the osquery host of its
 * machine by hardware UUID: the agent starts osqueryd with `--host_identifier=uuid`, so osquery's
 * identifier is that UUID (osquery-protocol.md §7.1).
 */
import { randomBytes } from 'node:crypto';
import type { AgentUpdateTarget } from '@mimir/api-contract';
import { BadRequestError, EnrollFailedError, InvalidNodeKeyError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { AgentReportedState, AgentRow } from '../../storage/repositories/agents.repository.js';
import type { Store } from '../../storage/store.js';
import type { SecretResolver } from '../enroll-secrets.js';
import { hashNodeKey, type HostCache } from '../host-cache.js';
import { updateArch, type UpdatesService } from '../updates/updates.service.js';
import { checkArch, checkOs, checkVersion, isUpdateKind, type Issue } from '../updates/validate.js';

/** What an agent says about itself (enroll and every check-in). */
export interface AgentSelfReport {
  hostname: string;
  os: string;
  arch: string;
  agentVersion: string;
  osqueryVersion: string;
  /** Installer switch: osquery auto-updates on (seed 000 troubleshooting (2)). */
  autoUpdate: boolean;
}

export interface AgentEnrollInput extends AgentSelfReport {
  enrollSecret: string;
  hardwareUuid: string;
}

/** The server's view of the linked osquery host: what osqueryd itself last reported. */
export interface AgentHostView {
  id: number;
  hostname: string;
  osqueryVersion: string;
  /** Last osquery check-in, ms (0 = none yet). */
  seenAt: number;
}

/**
 * A target plus `rollback`: true when it is a build first approved before the one the agent runs,
 * served again because an admin approved it anew (seed 000's rollback path). Agents refuse any
 * other downgrade.
 */
export type AgentTarget = AgentUpdateTarget & { rollback: boolean };

export interface AgentCheckInAnswer {
  agentId: number;
  host: AgentHostView | null;
  osquery: AgentTarget | null;
  agent: AgentTarget | null;
}

export const REPORT_OUTCOMES = ['installed', 'rolled_back', 'refused'] as const;
export type ReportOutcome = (typeof REPORT_OUTCOMES)[number];

export interface AgentReportInput {
  kind: string;
  fromVersion: string;
  toVersion: string;
  outcome: string;
  message: string;
}

const MAX_UUID = 128;
const MAX_HOSTNAME = 255;
const MAX_MESSAGE = 4000;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function fail(issues: Issue[]): never {
  throw new BadRequestError(issues.map((i) => `${i.path.slice(1)} ${i.message}`).join('; '), issues);
}

/** Validate and normalise a self-report (update vocabulary for os/arch, as the update check does). */
function checkSelf(raw: AgentSelfReport, issues: Issue[]): AgentReportedState {
  const os = raw.os.toLowerCase();
  const arch = updateArch(raw.arch);
  checkOs(os, issues);
  checkArch(arch, issues);
  if (raw.agentVersion === '') issues.push({ path: '/agentVersion', message: 'is required' });
  else checkVersion(raw.agentVersion, issues, '/agentVersion');
  if (raw.osqueryVersion !== '') checkVersion(raw.osqueryVersion, issues, '/osqueryVersion');
  if (raw.hostname.length > MAX_HOSTNAME || CONTROL.test(raw.hostname)) issues.push({ path: '/hostname', message: `must be at most ${MAX_HOSTNAME} characters without control characters` });
  return {
    hostname: raw.hostname, os, arch, agent_version: raw.agentVersion, osquery_version: raw.osqueryVersion, auto_update: raw.autoUpdate ? 1 : 0,
  };
}

export interface AgentsServiceDeps {
  store: Store;
  secrets: SecretResolver;
  cache: HostCache;
  updates: UpdatesService;
  now: () => number;
  log: Logger;
}

export class AgentsService {
  constructor(private readonly deps: AgentsServiceDeps) {}

  /**
   * Enroll (or re-enroll) the agent of one machine. Identity is the hardware UUID: a machine whose
   * agent state was wiped gets its row back with a fresh key, and the old key dies at once.
   */
  async enroll(input: AgentEnrollInput): Promise<{ agentId: number; agentKey: string }> {
    const issues: Issue[] = [];
    const uuid = input.hardwareUuid.trim().toUpperCase();
    if (uuid === '' || uuid.length > MAX_UUID || CONTROL.test(uuid)) issues.push({ path: '/hardwareUuid', message: `is required: at most ${MAX_UUID} characters without control characters` });
    const self = checkSelf(input, issues);
    if (issues.length > 0) fail(issues);
    const groupId = input.enrollSecret === '' ? undefined : await this.deps.secrets.groupFor(input.enrollSecret);
    if (groupId === undefined) throw new EnrollFailedError('invalid enroll secret');
    const agentKey = randomBytes(32).toString('base64url');
    const at = this.deps.now();
    const values = { key_hash: hashNodeKey(agentKey), group_id: groupId, enrolled_at: at, ...self };
    const agentId = await this.deps.store.transaction(async (tx) => {
      const existing = await tx.agents.findByHardwareUuid(uuid);
      if (existing === undefined) return tx.agents.insert({ ...values, hardware_uuid: uuid });
      await tx.agents.rekey(existing.id, values);
      return existing.id;
    });
    this.deps.log.info({ agentId, hardwareUuid: uuid, hostname: self.hostname, agentVersion: self.agent_version }, 'agent enrolled');
    return { agentId, agentKey };
  }

  /** The agent a key belongs to; an unknown key is `InvalidNodeKeyError` (the agent re-enrolls). */
  async authenticate(agentKey: string): Promise<AgentRow> {
    const row = agentKey === '' ? undefined : await this.deps.store.agents.findByKeyHash(hashNodeKey(agentKey));
    if (row === undefined) throw new InvalidNodeKeyError('invalid agent key');
    return row;
  }

  private async hostView(hostId: number): Promise<AgentHostView | null> {
    const cached = this.deps.cache.getById(hostId);
    if (cached !== undefined) return { id: hostId, hostname: cached.hostname, osqueryVersion: cached.osqueryVersion, seenAt: cached.seenAt };
    const row = await this.deps.store.hosts.findById(hostId);
    if (row === undefined) return null;
    return { id: hostId, hostname: row.hostname, osqueryVersion: row.osquery_version, seenAt: 0 };
  }

  /**
   * A periodic check-in: record what the agent runs, link it to its machine's osquery host, and
   * answer what to run (the same decision as `POST /updates`, cohort by the host's id). Until
   * osqueryd has enrolled there is no host and so no cohort: the answer is "stay where you are".
   */
  async checkIn(agent: AgentRow, raw: AgentSelfReport): Promise<AgentCheckInAnswer> {
    const issues: Issue[] = [];
    const self = checkSelf(raw, issues);
    if (issues.length > 0) fail(issues);
    const at = this.deps.now();
    // Keep an existing link while its host exists (cheap: usually in the host cache); search by
    // UUID only for an agent not linked yet or whose host was deleted (osquery re-enrolled anew).
    let hostId = agent.host_id;
    if (hostId !== null && this.deps.cache.getById(hostId) === undefined && (await this.deps.store.hosts.findById(hostId)) === undefined) hostId = null;
    hostId ??= (await this.deps.store.agents.findHostByUuid(agent.hardware_uuid))?.id ?? null;
    await this.deps.store.agents.recordCheckIn(agent.id, self, hostId, at);
    if (hostId === null) return { agentId: agent.id, host: null, osquery: null, agent: null };
    let view = await this.hostView(hostId);
    // The agent says osquery changed (it installed or rolled back a build): ask osqueryd for its
    // details on its next distributed read rather than an hour later, so the server — and the
    // agent's health check — see the version osqueryd itself reports.
    if (view !== null && self.osquery_version !== '' && self.osquery_version !== agent.osquery_version && self.osquery_version !== view.osqueryVersion) {
      if (await this.deps.store.hostQueries.requestRefetch(hostId, at)) {
        const cached = this.deps.cache.getById(hostId);
        if (cached !== undefined) cached.refetchRequested = true;
        this.deps.cache.changed([hostId]); // other instances reload it with the flag (issue #10)
      }
      view = await this.hostView(hostId);
    }
    const answer = await this.deps.updates.check(hostId, {
      os: self.os, arch: self.arch, osqueryVersion: self.osquery_version, agentVersion: self.agent_version, autoUpdate: raw.autoUpdate,
    });
    return {
      agentId: agent.id,
      host: view,
      osquery: await this.withRollback('osquery', self, self.osquery_version, answer.osquery),
      agent: await this.withRollback('agent', self, self.agent_version, answer.agent),
    };
  }

  private async withRollback(kind: 'osquery' | 'agent', self: AgentReportedState, current: string, t: AgentUpdateTarget | null): Promise<AgentTarget | null> {
    if (t === null) return null;
    const first = (v: string) => this.deps.store.agents.firstApproval(kind, self.os, self.arch, v);
    const targetFirst = await first(t.version);
    const currentFirst = current === '' ? undefined : await first(current);
    return { ...t, rollback: targetFirst !== undefined && currentFirst !== undefined && targetFirst < currentFirst };
  }

  /** An install attempt's outcome (installed, rolled back, refused), kept and logged. */
  async report(agent: AgentRow, raw: AgentReportInput): Promise<void> {
    const issues: Issue[] = [];
    if (!isUpdateKind(raw.kind)) issues.push({ path: '/kind', message: 'must be osquery or agent' });
    if (!(REPORT_OUTCOMES as readonly string[]).includes(raw.outcome)) issues.push({ path: '/outcome', message: `must be one of ${REPORT_OUTCOMES.join(', ')}` });
    checkVersion(raw.toVersion, issues, '/toVersion');
    if (raw.fromVersion !== '') checkVersion(raw.fromVersion, issues, '/fromVersion');
    if (raw.message.length > MAX_MESSAGE) issues.push({ path: '/message', message: `must be at most ${MAX_MESSAGE} characters` });
    if (issues.length > 0) fail(issues);
    await this.deps.store.agents.insertReport({
      agent_id: agent.id, host_id: agent.host_id, kind: raw.kind, from_version: raw.fromVersion, to_version: raw.toVersion,
      outcome: raw.outcome, message: raw.message, reported_at: this.deps.now(),
    });
    const entry = { agentId: agent.id, hostId: agent.host_id, kind: raw.kind, from: raw.fromVersion, to: raw.toVersion, outcome: raw.outcome, message: raw.message };
    if (raw.outcome === 'installed') this.deps.log.info(entry, 'agent installed an update');
    else this.deps.log.warn(entry, 'agent update failed');
  }

  reports(agentId: number, limit = 50) {
    return this.deps.store.agents.listReports(agentId, limit);
  }
}
