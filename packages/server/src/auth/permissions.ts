/**
 * Roles and what they may do (issue: Admin = everything incl. seed 000's admin-only settings;
 * Operator = seed 004's "All": run, schedule and save queries; Read-only = view hosts, results and
 * history, cannot run live queries or edit). Every operator route names one permission.
 */
import type { Role } from '@mimir/api-contract';

export const PERMISSIONS = [
  'hosts:read', 'hosts:write',
  'groups:read', 'groups:write',
  'labels:read', 'labels:write',
  'queries:read', 'queries:write',
  'live:read', 'live:run',
  'packs:read', 'packs:write',
  'results:read',
  'carves:read',
  'settings:read', 'settings:write',
  'users:read', 'users:write',
  'audit:read',
  'updates:admin',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const READONLY: readonly Permission[] = [
  'hosts:read', 'groups:read', 'labels:read', 'queries:read', 'live:read', 'packs:read', 'results:read', 'settings:read',
];
const OPERATOR: readonly Permission[] = [
  ...READONLY, 'hosts:write', 'labels:write', 'queries:write', 'live:run', 'packs:write', 'carves:read',
];

export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  readonly: new Set(READONLY),
  operator: new Set(OPERATOR),
  admin: new Set(PERMISSIONS),
};

const RANK: Readonly<Record<Role, number>> = { readonly: 0, operator: 1, admin: 2 };

/** The lesser of two roles (a token never exceeds its owner). */
export function minRole(a: Role, b: Role): Role {
  return RANK[a] <= RANK[b] ? a : b;
}

export function roleAtLeast(role: Role, min: Role): boolean {
  return RANK[role] >= RANK[min];
}

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}

export function isRole(v: string): v is Role {
  return v === 'admin' || v === 'operator' || v === 'readonly';
}
