/**
 * Field checks for the Register form and binary uploads (seed 000 "How to register a new version"),
 * each with a message meant for the person filling the form. Every problem is reported at once as
 * 422 details `{path, message}`, the shape schema validation errors use.
 */
import { UPDATE_ARCHES, UPDATE_KINDS, UPDATE_OSES, type UpdateArch, type UpdateKind, type UpdateOs } from '@mimir/api-contract';
import { ValidationError } from '../../errors.js';
import { SIGNATURE_HEX, type ManifestFields } from './manifest.js';

export interface Issue {
  path: string;
  message: string;
}

export const MAX_VERSION_LENGTH = 100;
const MAX_URL_LENGTH = 2048;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
// NOTE: no /u flag needed: only ASCII and C1 control characters are matched.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** RFC 3339 date-time in UTC ("Z"), optional fraction; upper-case T and Z (the canonical spelling). */
const RFC3339_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?Z$/;

export function isUpdateKind(v: string): v is UpdateKind {
  return (UPDATE_KINDS as readonly string[]).includes(v);
}
export function isUpdateOs(v: string): v is UpdateOs {
  return (UPDATE_OSES as readonly string[]).includes(v);
}
export function isUpdateArch(v: string): v is UpdateArch {
  return (UPDATE_ARCHES as readonly string[]).includes(v);
}

export function checkVersion(v: string, issues: Issue[], path = '/version'): void {
  if (v === '') issues.push({ path, message: 'is required (the upstream version string, e.g. 5.12.1)' });
  else if (v.length > MAX_VERSION_LENGTH) issues.push({ path, message: `must be at most ${MAX_VERSION_LENGTH} characters` });
  else if (CONTROL.test(v)) issues.push({ path, message: 'must not contain control characters' });
  // Kept as typed, but edge spaces are a paste accident that would never match what agents report.
  else if (v.trim() !== v) issues.push({ path, message: 'must not start or end with spaces' });
}

export function checkOs(v: string, issues: Issue[], path = '/os'): void {
  if (!isUpdateOs(v)) issues.push({ path, message: `must be one of ${UPDATE_OSES.join(', ')}` });
}

export function checkArch(v: string, issues: Issue[], path = '/arch'): void {
  if (!isUpdateArch(v)) issues.push({ path, message: `must be one of ${UPDATE_ARCHES.join(', ')}` });
}

export function checkTimestamp(v: string, issues: Issue[], path = '/timestamp'): void {
  const m = RFC3339_UTC.exec(v);
  const ms = m === null ? NaN : Date.parse(v);
  // Date.parse rolls 2026-02-30 over to March: require the fields to survive the round trip.
  if (m === null || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) !== v.slice(0, 19)) {
    issues.push({ path, message: 'must be an RFC 3339 UTC time like 2026-04-04T12:00:00Z' });
  }
}

export function checkUrl(v: string, issues: Issue[], path = '/url'): void {
  if (!v.startsWith('/api/')) issues.push({ path, message: 'must start with /api/' });
  else if (v.length > MAX_URL_LENGTH) issues.push({ path, message: `must be at most ${MAX_URL_LENGTH} characters` });
  else if (/\s/.test(v) || CONTROL.test(v) || v.includes('\\')) issues.push({ path, message: 'must not contain spaces, control characters or backslashes' });
  else if (v.split(/[?#]/)[0]?.split('/').some((seg) => seg === '.' || seg === '..') === true) issues.push({ path, message: 'must not contain . or .. path segments' });
}

export function checkSha256(v: string, issues: Issue[], path = '/sha256'): void {
  if (!SHA256_HEX.test(v)) issues.push({ path, message: 'must be exactly 64 hex characters' });
}

export function checkSignature(v: string, issues: Issue[], path = '/signature'): void {
  if (v === '') issues.push({ path, message: 'is required: the hex Ed25519 signature from the signing step (128 hex characters)' });
  else if (!SIGNATURE_HEX.test(v)) {
    const hint = /^[A-Za-z0-9+/_-]+=*$/.test(v) && !/^[0-9a-fA-F]+$/.test(v) ? ' (this looks like base64: paste the hex value)' : '';
    issues.push({ path, message: `must be exactly 128 hex characters (Ed25519, hex)${hint}` });
  }
}

export interface RegisterInput {
  version: string;
  os: string;
  arch: string;
  url: string;
  sha256: string;
  signature: string;
  timestamp: string;
}

/** Check every field; throw one ValidationError listing all problems. Returns the manifest to verify. */
export function checkRegisterInput(kind: UpdateKind, input: RegisterInput): ManifestFields & { signature: string } {
  const issues: Issue[] = [];
  checkVersion(input.version, issues);
  checkOs(input.os, issues);
  checkArch(input.arch, issues);
  checkUrl(input.url, issues);
  checkSha256(input.sha256, issues);
  checkSignature(input.signature, issues);
  checkTimestamp(input.timestamp, issues);
  if (issues.length > 0) {
    throw new ValidationError(`Registration failed: ${issues.map((i) => `${i.path.slice(1)} ${i.message}`).join('; ')}`, issues);
  }
  return {
    kind,
    version: input.version,
    os: input.os,
    arch: input.arch,
    url: input.url,
    sha256: input.sha256.toLowerCase(),
    timestamp: input.timestamp,
    signature: input.signature.toLowerCase(),
  };
}
