/**
 * The signed manifest of an update artifact (seed 000 "Manifest signature — hex-encoded Ed25519
 * signature over the manifest"; issue #5). One canonical byte form, documented in docs/updates.md
 * and produced identically by scripts/sign-osquery-manifest.sh:
 *
 *   UTF-8 of the JSON object {arch, kind, os, sha256, timestamp, url, version}, keys in that
 *   (sorted) order, no whitespace, strings escaped as ECMAScript JSON.stringify does (which is RFC
 *   8785 JCS for an object of strings), sha256 in lower case, every other value exactly as typed.
 *
 * Ed25519 is used as pure Ed25519 (RFC 8032, no pre-hash) over those bytes.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface ManifestFields {
  kind: string;
  version: string;
  os: string;
  arch: string;
  url: string;
  sha256: string;
  timestamp: string;
}

/** The exact bytes the signature covers. */
export function canonicalManifest(m: ManifestFields): Buffer {
  // Object literal order is the serialisation order: keep it sorted.
  const ordered = {
    arch: m.arch,
    kind: m.kind,
    os: m.os,
    sha256: m.sha256.toLowerCase(),
    timestamp: m.timestamp,
    url: m.url,
    version: m.version,
  };
  return Buffer.from(JSON.stringify(ordered), 'utf8');
}

export interface TrustedKey {
  /** First 16 hex characters of SHA-256 of the raw 32-byte key: names the key in the API and logs. */
  id: string;
  key: KeyObject;
  /** The configured value it came from (a path or a raw key). */
  source: string;
}

const HEX_KEY = /^[0-9a-fA-F]{64}$/;
/** 32 bytes in base64 or base64url: 43 characters plus optional padding. */
const BASE64_KEY = /^[A-Za-z0-9+/_-]{43}=?$/;

function rawOf(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url');
}

function fromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') } });
}

/**
 * One MIMIR_UPDATE_PUBLIC_KEYS entry: a raw key in hex (64 characters) or base64, else the path of
 * a PEM public key (SPKI, as `openssl pkey -pubout` and the signing script write it).
 */
export function parsePublicKey(spec: string, cwd = process.cwd()): TrustedKey {
  const s = spec.trim();
  let key: KeyObject | undefined;
  if (HEX_KEY.test(s)) key = fromRaw(Buffer.from(s, 'hex'));
  else if (BASE64_KEY.test(s)) {
    const raw = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (raw.length === 32) key = fromRaw(raw);
  }
  if (key === undefined) {
    let pem: string;
    try {
      pem = readFileSync(resolve(cwd, s), 'utf8');
    } catch (err) {
      throw new Error(`MIMIR_UPDATE_PUBLIC_KEYS: "${s}" is neither a raw Ed25519 key (64 hex characters or 32 bytes of base64) nor a readable PEM file (${err instanceof Error ? err.message : String(err)})`, { cause: err });
    }
    // A private key would load (Node derives the public half) but must never sit on the server.
    if (pem.includes('PRIVATE KEY')) throw new Error(`MIMIR_UPDATE_PUBLIC_KEYS: ${s} holds a private key; configure the public key file instead (keygen writes it next to the private key as .pub.pem)`);
    try {
      key = createPublicKey(pem);
    } catch (err) {
      throw new Error(`MIMIR_UPDATE_PUBLIC_KEYS: ${s} is not a PEM public key (${err instanceof Error ? err.message : String(err)})`, { cause: err });
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`MIMIR_UPDATE_PUBLIC_KEYS: ${s} is a ${key.asymmetricKeyType ?? 'unknown'} key; update manifests are signed with Ed25519`);
  }
  const id = createHash('sha256').update(rawOf(key)).digest('hex').slice(0, 16);
  return { id, key, source: s };
}

/** Every configured key; every bad entry is reported at once so a restart fixes them all. */
export function loadTrustedKeys(specs: readonly string[], cwd = process.cwd()): TrustedKey[] {
  const keys: TrustedKey[] = [];
  const problems: string[] = [];
  for (const spec of specs) {
    if (spec.trim() === '') continue;
    try {
      const k = parsePublicKey(spec, cwd);
      if (!keys.some((x) => x.id === k.id)) keys.push(k);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return keys;
}

export const SIGNATURE_HEX = /^[0-9a-fA-F]{128}$/;

/**
 * The key that verifies `signatureHex` over the canonical manifest, or undefined. The signature is
 * hex-decoded exactly as agents do (seed 000): anything but 128 hex characters never verifies.
 */
export function verifyManifest(m: ManifestFields, signatureHex: string, keys: readonly TrustedKey[]): TrustedKey | undefined {
  if (!SIGNATURE_HEX.test(signatureHex)) return undefined;
  const sig = Buffer.from(signatureHex, 'hex');
  const data = canonicalManifest(m);
  return keys.find((k) => verify(null, data, k.key, sig));
}
