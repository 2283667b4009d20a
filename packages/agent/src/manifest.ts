/**
 * Verifying a signed update before anything is installed (seed 000, docs/updates.md "The signed
 * manifest"). The agent rebuilds the canonical manifest from what the server named plus its own
 * kind, OS and arch, so neither the server nor a man in the middle can point it at another binary,
 * platform or version without the signing key.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type UpdateKind = 'osquery' | 'agent';

/** What the server names: a target for one kind (`POST /agent/checkin`). */
export interface UpdateTarget {
  version: string;
  url: string;
  sha256: string;
  signature: string;
  timestamp: string;
}

export interface ManifestFields {
  kind: UpdateKind;
  version: string;
  os: string;
  arch: string;
  url: string;
  sha256: string;
  timestamp: string;
}

/**
 * The exact signed bytes: JSON of {arch, kind, os, sha256, timestamp, url, version} in that sorted
 * order, no whitespace, escaped as JSON.stringify does (RFC 8785 for an object of strings),
 * sha256 lower case. Identical to the server's and scripts/sign-osquery-manifest.sh.
 */
export function canonicalManifest(m: ManifestFields): Buffer {
  const ordered = { arch: m.arch, kind: m.kind, os: m.os, sha256: m.sha256.toLowerCase(), timestamp: m.timestamp, url: m.url, version: m.version };
  return Buffer.from(JSON.stringify(ordered), 'utf8');
}

/** One pinned key: raw 32 bytes as 64 hex or base64(url) characters, or a PEM (SPKI) file path. */
export function loadPublicKey(spec: string): KeyObject {
  const s = spec.trim();
  let raw: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(s)) raw = Buffer.from(s, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(s)) raw = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  let key: KeyObject;
  if (raw?.length === 32) key = createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') } });
  else {
    const pem = readFileSync(s, 'utf8');
    if (pem.includes('PRIVATE KEY')) throw new Error(`${s} holds a private key; pin the public key`);
    key = createPublicKey(pem);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${s}: not an Ed25519 key`);
  return key;
}

const SIGNATURE_HEX = /^[0-9a-fA-F]{128}$/;

/**
 * Does `signatureHex` verify over the manifest under one of the pinned keys? The value is
 * hex-decoded (seed 000 "The agent verifies the signature at download time by hex-decoding this
 * string"): empty, truncated, base64 or otherwise encoded values never verify.
 */
export function verifySignature(m: ManifestFields, signatureHex: string, keys: readonly KeyObject[]): boolean {
  if (!SIGNATURE_HEX.test(signatureHex)) return false;
  const sig = Buffer.from(signatureHex, 'hex');
  const data = canonicalManifest(m);
  return keys.some((k) => verify(null, data, k, sig));
}

const RFC3339_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$/;
/** Allowed clock difference between the signing machine and this host. */
const FUTURE_SKEW_MS = 5 * 60_000;

/**
 * The manifest timestamp's freshness: an RFC 3339 UTC time, not in the future (beyond clock skew:
 * a manifest "from the future" was not made by a sane pipeline), and not older than
 * `maxAgeDays` (a replayed ancient manifest). Returns the problem, or undefined when fresh.
 */
export function freshnessProblem(timestamp: string, now: number, maxAgeDays: number): string | undefined {
  const m = RFC3339_UTC.exec(timestamp);
  const at = m === null ? NaN : Date.parse(timestamp);
  if (m === null || Number.isNaN(at)) return `manifest timestamp ${JSON.stringify(timestamp)} is not an RFC 3339 UTC time`;
  if (at > now + FUTURE_SKEW_MS) return `manifest timestamp ${timestamp} is in the future`;
  if (maxAgeDays > 0 && now - at > maxAgeDays * 86_400_000) return `manifest timestamp ${timestamp} is older than ${maxAgeDays} days`;
  return undefined;
}

/**
 * Compare dotted versions numerically (5.12.1 > 5.9.0); a numeric part beats a textual one and
 * text compares as text. Only used to recognise a downgrade: versions are free text (seed 000).
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/);
  const pb = b.split(/[.+-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : undefined;
    const ny = /^\d+$/.test(y) ? Number(y) : undefined;
    if (nx !== undefined && ny !== undefined) {
      if (nx !== ny) return nx < ny ? -1 : 1;
    } else if (nx !== undefined) return 1;
    else if (ny !== undefined) return -1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
