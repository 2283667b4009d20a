/**
 * The audit log: who did what, when, from where (issue: every admin action, every live query run,
 * every sign-in). Written in its own small transaction after the action succeeded.
 */
import type { Store } from '../storage/store.js';

export interface AuditEvent {
  actorId: number | null;
  actorEmail: string;
  action: string;
  targetType?: string | undefined;
  targetId?: string | number | undefined;
  ip: string;
  details?: unknown;
}

export class AuditService {
  constructor(private readonly store: Store, private readonly now: () => number) {}

  async record(e: AuditEvent): Promise<void> {
    await this.store.audit.insert({
      at: this.now(),
      actor_id: e.actorId,
      actor_email: e.actorEmail,
      action: e.action,
      target_type: e.targetType ?? '',
      target_id: e.targetId === undefined ? '' : String(e.targetId),
      ip: e.ip,
      details: JSON.stringify(e.details ?? {}),
    });
  }
}
