// Decides which certificate the server presents. osquery pins the server's CA with
// --tls_server_certs, so the CA is long-lived and never replaced behind the operator's back, while
// the server certificate under it is cheap and re-issued whenever it no longer fits (new host
// names, close to expiry, damaged files).
import { X509Certificate as NodeX509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { ensurePrivateDir, writeFileAtomic } from './atomic-file.js';
import {
  certificateSanNames,
  createCertificateAuthority,
  issueServerCertificate,
  parseCertificate,
  type CertificateAuthorityPem,
} from './certificates.js';
import { parseSanName, sanKey, uniqueSanNames, type SanName } from './san-names.js';

export {
  createCertificateAuthority,
  issueClientCertificate,
  type CertificateAuthorityPem,
  type IssuedCertificate,
} from './certificates.js';

export interface TlsOptions {
  /** Certificates live in `${dataDir}/tls/`. */
  dataDir: string;
  /** MIMIR_TLS_CERT: with keyPath, the files are used as given and nothing is generated. */
  certPath?: string | undefined;
  /** MIMIR_TLS_KEY */
  keyPath?: string | undefined;
  /** MIMIR_TLS_HOSTNAMES: extra DNS names / IP addresses for the generated server certificate. */
  hostnames: string[];
}

export interface TlsMaterial {
  /** PEM server certificate (chain) to serve. */
  cert: string;
  /** PEM private key. */
  key: string;
  /** The CA PEM agents pin with --tls_server_certs; undefined for an operator-supplied pair. */
  caPath: string | undefined;
  /** True when this start wrote new certificate files. */
  generated: boolean;
  /** The DNS names and IP addresses the server certificate covers. */
  names: string[];
}

export const CA_COMMON_NAME = 'Mimir local CA';
const RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;
const KEY_MODE = 0o600;
const CERT_MODE = 0o644;

export async function ensureTlsMaterial(opts: TlsOptions): Promise<TlsMaterial> {
  // An empty environment variable means "not set", not "a file named ''".
  const certPath = opts.certPath === '' ? undefined : opts.certPath;
  const keyPath = opts.keyPath === '' ? undefined : opts.keyPath;
  if (certPath !== undefined && keyPath !== undefined) return loadConfiguredPair(certPath, keyPath);
  if (certPath !== undefined) {
    throw new Error(`MIMIR_TLS_CERT is set (${certPath}) but MIMIR_TLS_KEY is not: set both, or neither to use a generated certificate`);
  }
  if (keyPath !== undefined) {
    throw new Error(`MIMIR_TLS_KEY is set (${keyPath}) but MIMIR_TLS_CERT is not: set both, or neither to use a generated certificate`);
  }
  return ensureGeneratedMaterial(opts);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && 'code' in err && err.code === 'ENOENT';
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${errorMessage(err)}`);
  }
}

/** Reads a file, or returns undefined when it does not exist (any other failure is an error). */
async function readIfExists(path: string, what: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw new Error(`cannot read ${what} ${path}: ${errorMessage(err)}`);
  }
}

function parseNodeCertificate(pem: string): NodeX509Certificate {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('not a PEM certificate');
  return new NodeX509Certificate(pem); // parses the first certificate of a chain
}

function parsePrivateKey(pem: string): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new Error('not a PEM private key');
  return createPrivateKey(pem);
}

async function loadConfiguredPair(certPath: string, keyPath: string): Promise<TlsMaterial> {
  const certPem = await readPem(certPath, 'TLS certificate (MIMIR_TLS_CERT)');
  const keyPem = await readPem(keyPath, 'TLS private key (MIMIR_TLS_KEY)');
  let cert: NodeX509Certificate;
  try {
    cert = parseNodeCertificate(certPem);
  } catch (err) {
    throw new Error(`TLS certificate ${certPath} (MIMIR_TLS_CERT) is not a valid PEM certificate: ${errorMessage(err)}`);
  }
  let key: KeyObject;
  try {
    key = parsePrivateKey(keyPem);
  } catch (err) {
    // Encrypted keys land here too: the server has no way to ask for a passphrase.
    throw new Error(`TLS private key ${keyPath} (MIMIR_TLS_KEY) is not a usable unencrypted PEM private key: ${errorMessage(err)}`);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new Error(`TLS private key ${keyPath} does not belong to the certificate ${certPath}`);
  }
  return {
    cert: certPem,
    key: keyPem,
    caPath: undefined,
    generated: false,
    names: certificateSanNames(parseCertificate(certPem)).map((n) => n.value),
  };
}

/** The names every generated server certificate covers, then the operator's extra names. */
function requestedNames(extra: string[]): SanName[] {
  const names: SanName[] = [
    { type: 'dns', value: 'localhost' },
    { type: 'ip', value: '127.0.0.1' },
    { type: 'ip', value: '::1' },
  ];
  // The machine's host name is a convenience, not a requirement: skip it if it is not a valid
  // DNS name rather than refusing to start.
  const own = parseSanName(hostname());
  if (own !== undefined) names.push(own);
  for (const raw of extra) {
    if (raw.trim() === '') continue; // "a,,b" or a trailing comma in MIMIR_TLS_HOSTNAMES
    const parsed = parseSanName(raw);
    if (parsed === undefined) {
      throw new Error(`MIMIR_TLS_HOSTNAMES entry ${JSON.stringify(raw)} is neither a DNS name nor an IP address`);
    }
    names.push(parsed);
  }
  return uniqueSanNames(names);
}

interface TlsFiles {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
}

async function ensureGeneratedMaterial(opts: TlsOptions): Promise<TlsMaterial> {
  const dir = resolve(opts.dataDir, 'tls');
  const files: TlsFiles = {
    dir,
    caCert: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
  };
  const wanted = requestedNames(opts.hostnames);
  await ensurePrivateDir(dir);

  const ca = await loadOrCreateCa(files);
  const existing = await loadUsableServerCertificate(files, ca.pem, wanted);
  if (existing !== undefined) {
    return { ...existing, caPath: files.caCert, generated: ca.created };
  }

  const issued = await issueServerCertificate(ca.pem, wanted);
  // Key first: if we crash between the two renames the pair mismatches, which the next start
  // detects and repairs by issuing again.
  await writeFileAtomic(files.serverKey, issued.key, KEY_MODE);
  await writeFileAtomic(files.serverCert, issued.cert, CERT_MODE);
  return {
    cert: issued.cert,
    key: issued.key,
    caPath: files.caCert,
    generated: true,
    names: wanted.map((n) => n.value),
  };
}

async function loadOrCreateCa(files: TlsFiles): Promise<{ pem: CertificateAuthorityPem; created: boolean }> {
  const certPem = await readIfExists(files.caCert, 'TLS CA certificate');
  const keyPem = await readIfExists(files.caKey, 'TLS CA private key');
  const remedy =
    `Mimir will not replace an existing CA on its own, because agents that pinned it (--tls_server_certs) would stop connecting. ` +
    `Restore the file from a backup, or delete ${files.dir} to start over with a new CA and redistribute the new ca.pem to every agent.`;

  if (certPem === undefined && keyPem === undefined) {
    const pem = await createCertificateAuthority(CA_COMMON_NAME);
    // The certificate is written last: it is what agents pin, so its presence marks a complete CA.
    await writeFileAtomic(files.caKey, pem.keyPem, KEY_MODE);
    await writeFileAtomic(files.caCert, pem.certPem, CERT_MODE);
    return { pem, created: true };
  }
  if (certPem === undefined) throw new Error(`TLS CA certificate ${files.caCert} is missing although its key ${files.caKey} exists. ${remedy}`);
  if (keyPem === undefined) throw new Error(`TLS CA private key ${files.caKey} is missing although the CA certificate ${files.caCert} exists. ${remedy}`);

  let cert: NodeX509Certificate;
  try {
    cert = parseNodeCertificate(certPem);
    parseCertificate(certPem); // the issuer needs @peculiar/x509 to read it as well
  } catch (err) {
    throw new Error(`TLS CA certificate ${files.caCert} is unreadable or corrupt (${errorMessage(err)}). ${remedy}`);
  }
  let key: KeyObject;
  try {
    key = parsePrivateKey(keyPem);
  } catch (err) {
    throw new Error(`TLS CA private key ${files.caKey} is unreadable or corrupt (${errorMessage(err)}). ${remedy}`);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new Error(`TLS CA private key ${files.caKey} does not belong to the CA certificate ${files.caCert}. ${remedy}`);
  }
  if (!cert.ca) throw new Error(`TLS CA certificate ${files.caCert} is not a CA certificate (basicConstraints CA:FALSE). ${remedy}`);
  if (Date.parse(cert.validTo) <= Date.now()) {
    throw new Error(`TLS CA certificate ${files.caCert} expired on ${cert.validTo}. Delete ${files.dir} to create a new CA and redistribute the new ca.pem to every agent.`);
  }
  return { pem: { certPem, keyPem }, created: false };
}

/**
 * The stored server certificate and key when they can be served as they are: both parse, belong
 * together, were issued by the current CA, cover every wanted name and stay valid for a while.
 * Anything else returns undefined so a fresh certificate is issued; these files are disposable.
 */
async function loadUsableServerCertificate(
  files: TlsFiles,
  ca: CertificateAuthorityPem,
  wanted: SanName[],
): Promise<Pick<TlsMaterial, 'cert' | 'key' | 'names'> | undefined> {
  const certPem = await readIfExists(files.serverCert, 'TLS server certificate');
  const keyPem = await readIfExists(files.serverKey, 'TLS server private key');
  if (certPem === undefined || keyPem === undefined) return undefined;
  try {
    const cert = parseNodeCertificate(certPem);
    const caCert = parseNodeCertificate(ca.certPem);
    if (!cert.checkPrivateKey(parsePrivateKey(keyPem))) return undefined;
    // Also catches a CA that was restored from a backup after this certificate was issued.
    if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return undefined;
    const now = Date.now();
    if (Date.parse(cert.validFrom) > now) return undefined; // the clock went backwards
    if (Date.parse(cert.validTo) - now < RENEW_BEFORE_MS) return undefined;
    const covered = certificateSanNames(parseCertificate(certPem));
    const coveredKeys = new Set(covered.map(sanKey));
    if (!wanted.every((name) => coveredKeys.has(sanKey(name)))) return undefined;
    return { cert: certPem, key: keyPem, names: covered.map((n) => n.value) };
  } catch {
    return undefined; // corrupt: re-issue
  }
}
