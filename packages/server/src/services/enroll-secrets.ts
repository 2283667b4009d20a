/**
 * Enroll secrets → group, cached in memory: enroll bursts (a fleet restarting) must not hit the
 * database per request. Any change to secrets calls `invalidate()`.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Cluster } from '../cluster/cluster.js';
import type { Store } from '../storage/store.js';
import { DEFAULT_GROUP } from '../storage/repositories/groups.repository.js';

export class SecretResolver {
  private cache: Map<string, number> | undefined;

  constructor(private readonly store: Store, private readonly cluster?: Cluster) {
    // Secrets added or revoked through another instance (issue #10).
    cluster?.on('secrets.invalidate', () => (this.cache = undefined));
    cluster?.on('resync', () => (this.cache = undefined));
  }

  invalidate(): void {
    this.cache = undefined;
    this.cluster?.publish('secrets.invalidate', {});
  }

  /** The group an active secret enrolls into; undefined for unknown or revoked secrets. */
  async groupFor(secret: string): Promise<number | undefined> {
    if (this.cache === undefined) {
      const rows = await this.store.groups.listSecrets();
      this.cache = new Map(rows.filter((r) => r.revoked_at === null).map((r) => [r.secret, r.group_id]));
    }
    // Compare in constant time against every active secret so response timing reveals nothing.
    let found: number | undefined;
    const given = Buffer.from(secret);
    for (const [s, groupId] of this.cache) {
      const b = Buffer.from(s);
      if (b.length === given.length && timingSafeEqual(b, given)) found = groupId;
    }
    return found;
  }
}

export function generateSecret(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * First start: make sure the default group exists and has a secret — MIMIR_ENROLL_SECRET when set
 * (added if missing), else a generated one, kept in the database.
 */
export async function ensureDefaultGroup(store: Store, configured: string | undefined, now: number): Promise<{ groupId: number; secret: string; created: boolean }> {
  return store.transaction(async (tx) => {
    const group = await tx.groups.findByName(DEFAULT_GROUP);
    const groupId = group !== undefined ? group.id : await tx.groups.create(DEFAULT_GROUP, now, 'Hosts enrolled with the default secret');
    const secrets = (await tx.groups.listSecrets(groupId)).filter((s) => s.revoked_at === null);
    if (configured !== undefined && configured !== '') {
      const existing = await tx.groups.findSecretByValue(configured);
      if (existing === undefined) {
        await tx.groups.addSecret(groupId, configured, 'MIMIR_ENROLL_SECRET', now);
        return { groupId, secret: configured, created: true };
      }
      // An operator revoked it in the console: that decision stands over the environment
      // (re-adding it would also collide with the unique secret). Fall through to an active one.
      if (existing.revoked_at === null) return { groupId: existing.group_id, secret: configured, created: false };
    }
    const first = secrets[0];
    if (first !== undefined) return { groupId, secret: first.secret, created: false };
    const secret = generateSecret();
    await tx.groups.addSecret(groupId, secret, 'generated on first start', now);
    return { groupId, secret, created: true };
  });
}
