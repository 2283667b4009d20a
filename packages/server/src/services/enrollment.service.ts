/**
 * osquery enrollment (osquery-protocol.md §2, S6) and the host identity rule.
 *
 * Identity rule (documented in docs/architecture.md "Host identity"):
 *  1. A host is one osquery instance: (host_identifier, osquery_info.instance_id). The identifier
 *     falls back to osquery_info.uuid, then system_info.uuid, when osquery sends none.
 *  2. Same identifier and same instance → the same host re-enrolling: a fresh node key; the old one
 *     stops working at once.
 *  3. Same identifier, different instance, and the existing host checked in within the clone window
 *     → a clone (cloned VM sharing a hardware UUID, Fleet #373/#16393): a separate host, both
 *     flagged `duplicate_identifier`. Both keep working: nothing flaps.
 *  4. Same identifier, different instance, existing host quiet for longer than the window →
 *     osquery was reinstalled on that machine: the existing host is taken over.
 *  5. Flap guard: when the same (identifier, instance) re-enrolls within the cooldown while its
 *     current key is still in active use, the enroll is refused (Fleet's enroll cooldown). That only
 *     happens when two machines share an osquery database; it bounds the re-enroll rate instead of
 *     letting them steal each other's key every second.
 */
import { randomBytes } from 'node:crypto';
import type { EnrollInfo } from '@mimir/osquery-protocol';
import { platformFromMask, platformFromOsName } from '@mimir/osquery-protocol';
import { EnrollFailedError } from '../errors.js';
import type { Store } from '../storage/store.js';
import type { NewHost } from '../storage/repositories/hosts.repository.js';
import { isUniqueViolation } from '../storage/errors.js';
import { hashNodeKey, type HostCache } from './host-cache.js';
import type { SecretResolver } from './enroll-secrets.js';
import { hostFieldsFromDetails } from './host-fields.js';

export interface EnrollmentOptions {
  /** A host that checked in within this many ms is "live" for the clone rule. */
  cloneWindowMs: number;
  /** Flap guard window (ms). */
  cooldownMs: number;
  /** Group for hosts that enroll with a verified client certificate and no secret. */
  clientCertGroupId: () => Promise<number>;
}

export interface EnrollContext {
  remoteIp: string;
  /** Subject CN of a client certificate verified against MIMIR_TLS_CLIENT_CA, if any. */
  clientCertIdentity: string | undefined;
  now: number;
}

export interface EnrollOutcome {
  nodeKey: string;
  hostId: number;
  created: boolean;
  duplicate: boolean;
}

export function newNodeKey(): string {
  return randomBytes(32).toString('base64url');
}

export class EnrollmentService {
  constructor(
    private readonly store: Store,
    private readonly cache: HostCache,
    private readonly secrets: SecretResolver,
    private readonly opts: EnrollmentOptions,
  ) {}

  /**
   * Hosts running with --disable_enrollment and a TLS client certificate send no node key (seed
   * 001): the verified certificate identifies them. The first request enrolls them implicitly;
   * their key hash is derived from the certificate identity (a NUL-prefixed value no real node key
   * can equal).
   */
  async hostForCertificate(identity: string, remoteIp: string, now: number) {
    const pseudoKey = `\u0000cert:${identity}`;
    const known = await this.cache.authenticate(pseudoKey);
    if (known !== undefined) return known;
    const empty = { os_version: {}, osquery_info: {}, system_info: {}, platform_info: {} };
    await this.enroll({ hostIdentifier: identity, platformType: undefined, details: empty, secret: '' }, { remoteIp, clientCertIdentity: identity, now }, pseudoKey);
    return this.cache.authenticate(pseudoKey);
  }

  async enroll(info: EnrollInfo, ctx: EnrollContext, fixedNodeKey?: string): Promise<EnrollOutcome> {
    let groupId: number | undefined;
    let method = 'secret';
    if (info.secret !== '') groupId = await this.secrets.groupFor(info.secret);
    if (groupId === undefined && ctx.clientCertIdentity !== undefined) {
      // seed 001 "TLS client-auth enrollment": a verified client certificate is enough.
      groupId = await this.opts.clientCertGroupId();
      method = 'certificate';
    }
    if (groupId === undefined) {
      throw new EnrollFailedError(info.secret === '' ? 'enroll failed: missing enroll secret' : 'enroll failed: invalid enroll secret');
    }
    const identifier =
      info.hostIdentifier || info.details.osquery_info['uuid'] || info.details.system_info['uuid'] || ctx.clientCertIdentity || '';
    if (identifier === '') throw new EnrollFailedError('enroll failed: no host_identifier and no uuid in host_details');
    const instanceId = info.details.osquery_info['instance_id'] ?? '';

    const nodeKey = fixedNodeKey ?? newNodeKey();
    const keyHash = hashNodeKey(nodeKey);
    const fields = hostFieldsFromDetails(info.details);
    const platform =
      fields.platform !== undefined && fields.platform !== 'unknown'
        ? fields.platform
        : info.platformType !== undefined ? platformFromMask(info.platformType) : platformFromOsName(info.details.os_version['platform'] ?? '');
    const now = ctx.now;

    const attempt = () =>
      this.store.transaction(async (tx) => {
        const existing = await tx.hosts.findByIdentifier(identifier);
        const seen = (h: (typeof existing)[number]) => Math.max(h.seen_at ?? 0, this.cache.getById(h.id)?.seenAt ?? 0);
        const live = (h: (typeof existing)[number]) => now - seen(h) <= this.opts.cloneWindowMs;
        const same = existing.find((h) => h.instance_id === instanceId);
        let target = same;
        let duplicate = false;
        if (same !== undefined) {
          if (now - same.last_enrolled_at < this.opts.cooldownMs && now - seen(same) < this.opts.cooldownMs && seen(same) > same.last_enrolled_at) {
            throw new EnrollFailedError('enroll failed: this host enrolled moments ago and its node key is in use (duplicate osquery database?)');
          }
        } else if (existing.length > 0) {
          const quiet = existing.filter((h) => !live(h));
          if (quiet.length === existing.length && quiet.length > 0) {
            target = quiet[quiet.length - 1]; // reinstall: take over the newest quiet host
          } else {
            duplicate = true;
          }
        }
        const values: NewHost = {
          ...fields.columns,
          platform,
          node_key_hash: keyHash,
          identifier,
          instance_id: instanceId,
          enroll_method: method,
          group_id: groupId,
          remote_ip: ctx.remoteIp,
          last_enrolled_at: now,
          updated_at: now,
        };
        let hostId: number;
        let created = false;
        if (target !== undefined) {
          hostId = target.id;
          await tx.hosts.update(hostId, values);
        } else {
          hostId = await tx.hosts.insert({ ...values, duplicate_identifier: duplicate ? 1 : 0, enrolled_at: now, created_at: now });
          created = true;
          if (duplicate) for (const h of existing) await tx.hosts.update(h.id, { duplicate_identifier: 1 });
        }
        for (const [name, data] of Object.entries(info.details)) {
          if (Object.keys(data).length > 0) await tx.hosts.upsertVitals(hostId, name, JSON.stringify(data), now);
        }
        await tx.hosts.upsertSeen([[hostId, now]]);
        const row = await tx.hosts.findAuthById(hostId);
        if (row === undefined) throw new Error('enrolled host vanished');
        return { row, created, duplicate };
      });

    let result;
    try {
      result = await attempt();
    } catch (err) {
      // Two enrolls for the same identity raced; the second sees the first's row on retry.
      if (!isUniqueViolation(err)) throw err;
      result = await attempt();
    }
    this.cache.admit(result.row, keyHash, now);
    return { nodeKey, hostId: result.row.id, created: result.created, duplicate: result.duplicate };
  }
}
