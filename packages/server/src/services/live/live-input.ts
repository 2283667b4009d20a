/**
 * Checks a live query request before anything is written: timeout range (seed 004: 60–900 s),
 * exactly one source of SQL, targets that name real hosts, SQL and ECS mappings through the
 * queries area's validator when it is published. Every problem is reported at once, as 422
 * details `{path, message}` (the same shape as schema validation errors).
 */
import { HOST_PLATFORMS } from '@mimir/osquery-protocol';
import { ValidationError } from '../../errors.js';
import type { EcsMapping, ServiceHub, TargetSpec } from '../contracts.js';

export const TIMEOUT_MIN_S = 60;
export const TIMEOUT_MAX_S = 900;

export interface LiveQueryPartInput {
  name?: string | undefined;
  sql: string;
  ecsMapping?: EcsMapping | undefined;
}

export interface CreateLiveQueryInput {
  sql?: string | undefined;
  savedQueryId?: number | undefined;
  packId?: number | undefined;
  queries?: readonly LiveQueryPartInput[] | undefined;
  targets: TargetSpec;
  timeoutSeconds?: number | undefined;
  ecsMapping?: EcsMapping | undefined;
}

export interface Issue {
  path: string;
  message: string;
}

export function fail(message: string, details: readonly Issue[]): never {
  throw new ValidationError(message, details);
}

export function checkTimeout(timeout: number | undefined, issues: Issue[]): number {
  const t = timeout ?? TIMEOUT_MIN_S;
  if (!Number.isInteger(t) || t < TIMEOUT_MIN_S || t > TIMEOUT_MAX_S) {
    issues.push({ path: '/timeoutSeconds', message: `must be an integer from ${TIMEOUT_MIN_S} to ${TIMEOUT_MAX_S} seconds (seed 004)` });
  }
  return t;
}

/** Each mapping entry names an osquery column or a static value, not both (seed 004 "Value" column). */
export function checkEcs(mapping: EcsMapping | undefined, path: string, issues: Issue[]): void {
  if (mapping === undefined) return;
  for (const [key, v] of Object.entries(mapping)) {
    const hasField = v.field !== undefined && v.field !== '';
    const hasValue = v.value !== undefined;
    if (hasField === hasValue) issues.push({ path: `${path}/${key}`, message: 'give either field (an osquery column) or value (a static value)' });
  }
}

export function checkSql(hub: ServiceHub, sql: string, path: string, platforms: readonly string[] | undefined, issues: Issue[]): string[] {
  if (sql.trim() === '') {
    issues.push({ path, message: 'SQL is empty' });
    return [];
  }
  // Read at request time: the queries area publishes the validator; without it the SQL goes to
  // osquery as typed and osquery reports any error per host ("Failed").
  const v = hub.sqlValidator?.validate(sql, { platforms });
  if (v === undefined) return [];
  for (const e of v.errors) issues.push({ path, message: e.message });
  return v.warnings.map((w) => w.message);
}

function nonEmpty<T>(a: readonly T[] | undefined): a is readonly T[] {
  return a !== undefined && a.length > 0;
}

export function checkTargetShape(spec: TargetSpec, issues: Issue[]): void {
  if (spec.all !== true && !nonEmpty(spec.hostIds) && !nonEmpty(spec.labelIds) && !nonEmpty(spec.groupIds) && !nonEmpty(spec.platforms)) {
    issues.push({ path: '/targets', message: 'choose at least one host, label, group or platform, or all hosts' });
  }
  const known: readonly string[] = HOST_PLATFORMS.filter((p) => p !== 'unknown');
  for (const [i, p] of (spec.platforms ?? []).entries()) {
    if (!known.includes(p)) issues.push({ path: `/targets/platforms/${i}`, message: `unknown platform ${p}: use ${known.join(', ')}` });
  }
}
