/**
 * Presenters decide exactly which fields leave the server (Outline server/presenters): new columns
 * never leak by accident. Database snake_case → API camelCase happens here.
 */
import type { ApiToken, AuditEntry, Role, User } from '@mimir/api-contract';
import type { ApiTokensTable, AuditLogTable, UsersTable } from '../storage/schema.js';
import type { Selectable } from 'kysely';

export const iso = (ms: number): string => new Date(ms).toISOString();
export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export function presentUser(u: Selectable<UsersTable>): User {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role as Role,
    disabled: u.disabled_at !== null,
    createdAt: iso(u.created_at),
    lastLoginAt: isoOrNull(u.last_login_at),
  };
}

export function presentToken(t: Selectable<ApiTokensTable>): ApiToken {
  return {
    id: t.id,
    name: t.name,
    prefix: t.prefix,
    role: t.role as Role,
    userId: t.user_id,
    createdAt: iso(t.created_at),
    expiresAt: isoOrNull(t.expires_at),
    lastUsedAt: isoOrNull(t.last_used_at),
    revoked: t.revoked_at !== null,
  };
}

export function presentAudit(a: Selectable<AuditLogTable>): AuditEntry {
  return {
    id: a.id,
    at: iso(a.at),
    actorId: a.actor_id,
    actorEmail: a.actor_email,
    action: a.action,
    targetType: a.target_type,
    targetId: a.target_id,
    ip: a.ip,
    details: JSON.parse(a.details) as unknown,
  };
}
