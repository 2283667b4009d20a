// Certificate issuing on top of @peculiar/x509 and Node's WebCrypto. Everything here works on PEM
// strings so callers (the TLS service, enrollment tests) never touch ASN.1 or CryptoKey objects.
import * as x509 from '@peculiar/x509';
import { KeyObject, createPrivateKey, webcrypto } from 'node:crypto';
import { parseSanName, uniqueSanNames, type SanName } from './san-names.js';

/** A CA as stored on disk: certificate and PKCS#8 private key, both PEM. */
export interface CertificateAuthorityPem {
  certPem: string;
  keyPem: string;
}

/** A leaf certificate (PEM) and its PKCS#8 private key (PEM). */
export interface IssuedCertificate {
  cert: string;
  key: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
export const CA_VALIDITY_DAYS = 3650;
// 397 days stays under the 398-day ceiling browsers and Apple platforms enforce for leaf
// certificates, so the console also works when opened directly in a browser that trusts the CA.
export const LEAF_VALIDITY_DAYS = 397;
// Agents and the server do not share a clock; starting validity an hour in the past keeps a freshly
// issued certificate usable by an agent whose clock runs slightly behind.
const BACKDATE_MS = 60 * 60 * 1000;

const EC_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;

// Pass the provider explicitly instead of mutating @peculiar/x509's global provider on import; the
// library's default (globalThis.crypto) would also work on Node 20, but explicit is predictable.
// The repository compiles without the DOM lib, so the WebCrypto types come from Node's namespace.
const crypto: webcrypto.Crypto = webcrypto;
type CryptoKey = webcrypto.CryptoKey;

async function generateEcKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  // Extractable so the private key can be written to disk; 'verify' is needed to export the SPKI.
  return crypto.subtle.generateKey(EC_KEY_ALGORITHM, true, ['sign', 'verify']);
}

function privateKeyToPem(key: CryptoKey): string {
  // Node's own PKCS#8 PEM encoder, so tls.createServer({ key }) accepts it without surprises.
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString();
}

interface SigningKey {
  key: CryptoKey;
  algorithm: webcrypto.Algorithm | webcrypto.EcdsaParams;
}

const CURVE_HASH: Readonly<Record<string, { curve: string; hash: string }>> = {
  prime256v1: { curve: 'P-256', hash: 'SHA-256' },
  secp384r1: { curve: 'P-384', hash: 'SHA-384' },
  secp521r1: { curve: 'P-521', hash: 'SHA-512' },
};

/**
 * Imports a CA private key for signing. Our own CAs are ECDSA P-256, but a CA handed in by a test or
 * an operator may use another curve or RSA, so the algorithm is derived from the key itself.
 */
async function importSigningKey(keyPem: string): Promise<SigningKey> {
  const keyObject = createPrivateKey(keyPem);
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  if (keyObject.asymmetricKeyType === 'ec') {
    const named = CURVE_HASH[keyObject.asymmetricKeyDetails?.namedCurve ?? ''];
    if (named === undefined) {
      throw new Error(`unsupported CA key curve ${keyObject.asymmetricKeyDetails?.namedCurve ?? '(unknown)'}`);
    }
    const key = await crypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: named.curve }, false, ['sign']);
    return { key, algorithm: { name: 'ECDSA', hash: named.hash } };
  }
  if (keyObject.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const key = await crypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
    return { key, algorithm };
  }
  throw new Error(`unsupported CA key type ${keyObject.asymmetricKeyType ?? '(unknown)'}`);
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/;

/** The first certificate of a PEM bundle (a chain file starts with the leaf). */
export function firstCertificatePem(pem: string): string {
  const match = PEM_CERTIFICATE.exec(pem);
  if (match === null) throw new Error('no PEM certificate found');
  return match[0];
}

export function parseCertificate(pem: string): x509.X509Certificate {
  return new x509.X509Certificate(firstCertificatePem(pem));
}

/** The DNS and IP subject alternative names of a certificate, in canonical form. */
export function certificateSanNames(cert: x509.X509Certificate): SanName[] {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  if (san === null) return [];
  const names: SanName[] = [];
  for (const item of san.names.items) {
    if (item.type !== 'dns' && item.type !== 'ip') continue; // e-mail, URI, ... never match a host
    const parsed = parseSanName(item.value);
    if (parsed !== undefined) names.push(parsed);
  }
  return uniqueSanNames(names);
}

function subjectName(commonName: string): x509.JsonName {
  // The JSON form avoids DN-string escaping, so any common name (commas, '=', quotes) is taken
  // literally.
  return [{ CN: [commonName] }];
}

export async function createCertificateAuthority(
  commonName: string,
  validityDays: number = CA_VALIDITY_DAYS,
): Promise<CertificateAuthorityPem> {
  const keys = await generateEcKeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: subjectName(commonName),
      keys,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + validityDays * DAY_MS),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        // pathLength 0: this CA only ever signs leaf certificates, never intermediates.
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem') + '\n', keyPem: privateKeyToPem(keys.privateKey) };
}

interface LeafRequest {
  commonName: string;
  usages: x509.ExtendedKeyUsage[];
  names: SanName[];
  validityDays: number;
}

async function issueLeafCertificate(ca: CertificateAuthorityPem, request: LeafRequest): Promise<IssuedCertificate> {
  const caCert = parseCertificate(ca.certPem);
  const signer = await importSigningKey(ca.keyPem);
  const keys = await generateEcKeyPair();
  const now = Date.now();
  // A certificate outliving its issuer is rejected by verifiers anyway; capping makes the expiry
  // date we store (and check for renewal) the real one.
  const notAfter = new Date(Math.min(now + request.validityDays * DAY_MS, caCert.notAfter.getTime()));

  // Point at the CA's own key identifier when it has one, so chain building works even for CAs
  // that computed their identifier differently from @peculiar/x509.
  const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const authorityKeyId =
    caKeyId !== undefined
      ? new x509.AuthorityKeyIdentifierExtension(caKeyId)
      : await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey, false, crypto);

  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(request.usages),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
    authorityKeyId,
  ];
  if (request.names.length > 0) {
    extensions.push(new x509.SubjectAlternativeNameExtension(request.names.map((n) => ({ type: n.type, value: n.value }))));
  }

  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: subjectName(request.commonName),
      // Reuse the CA's encoded subject byte for byte: verifiers match issuer to subject exactly.
      issuer: caCert.subjectName,
      publicKey: keys.publicKey,
      signingKey: signer.key,
      signingAlgorithm: signer.algorithm,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter,
      extensions,
    },
    crypto,
  );
  return { cert: cert.toString('pem') + '\n', key: privateKeyToPem(keys.privateKey) };
}

/** A TLS server certificate (serverAuth) for the given names, signed by `ca`. */
export async function issueServerCertificate(
  ca: CertificateAuthorityPem,
  names: SanName[],
  validityDays: number = LEAF_VALIDITY_DAYS,
): Promise<IssuedCertificate> {
  return issueLeafCertificate(ca, {
    // Clients ignore the CN when SANs are present; it only makes the certificate readable in tools.
    commonName: 'Mimir server',
    usages: [x509.ExtendedKeyUsage.serverAuth],
    names,
    validityDays,
  });
}

/** A TLS client certificate (clientAuth) with the given common name, signed by `ca`. */
export async function issueClientCertificate(
  ca: CertificateAuthorityPem,
  commonName: string,
  validityDays: number = LEAF_VALIDITY_DAYS,
): Promise<IssuedCertificate> {
  return issueLeafCertificate(ca, {
    commonName,
    usages: [x509.ExtendedKeyUsage.clientAuth],
    names: [],
    validityDays,
  });
}
