import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { issueServerCertificate } from './certificates.js';
import { createCertificateAuthority, ensureTlsMaterial, issueClientCertificate, type TlsMaterial } from './tls.service.js';

const isWindows = process.platform === 'win32';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'mimir-tls-'));
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

function tlsSocket(socket: unknown): TLSSocket {
  assert.ok(socket instanceof TLSSocket);
  return socket;
}

interface Served {
  status: number | undefined;
  protocol: string | null;
  cipher: string;
  body: string;
}

/** Serves `material` on 127.0.0.1 for the duration of `fn`. */
async function withServer<T>(
  material: Pick<TlsMaterial, 'cert' | 'key'>,
  fn: (port: number) => Promise<T>,
  extra: https.ServerOptions = {},
): Promise<T> {
  const server = https.createServer({ cert: material.cert, key: material.key, ...extra }, (req, res) => {
    const socket = tlsSocket(req.socket);
    const peer = socket.getPeerCertificate();
    res.end(socket.authorized ? `client:${String(peer.subject.CN)}` : 'ok');
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  try {
    return await fn((server.address() as AddressInfo).port);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolveClose) => server.close(() => { resolveClose(); }));
  }
}

function get(port: number, options: https.RequestOptions): Promise<Served> {
  return new Promise((resolveGet, rejectGet) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/', agent: false, ...options }, (res) => {
      const socket = tlsSocket(res.socket);
      const protocol = socket.getProtocol();
      const cipher = socket.getCipher().name;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => { resolveGet({ status: res.statusCode, protocol, cipher, body }); });
    });
    req.on('error', rejectGet);
    req.end();
  });
}

void describe('ensureTlsMaterial (generated)', () => {
  let dataDir: string;
  let first: TlsMaterial;

  before(async () => {
    dataDir = await tempDir();
    first = await ensureTlsMaterial({ dataDir, hostnames: [] });
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  void it('generates a CA and a server certificate on first start', async () => {
    const dir = join(dataDir, 'tls');
    assert.equal(first.generated, true);
    assert.equal(first.caPath, join(dir, 'ca.pem'));
    for (const name of ['ca.pem', 'ca.key', 'server.pem', 'server.key']) await stat(join(dir, name));
    assert.equal(await readFile(join(dir, 'server.pem'), 'utf8'), first.cert);
    assert.equal(await readFile(join(dir, 'server.key'), 'utf8'), first.key);
    if (!isWindows) {
      assert.equal(await mode(dir), 0o700);
      assert.equal(await mode(join(dir, 'ca.key')), 0o600);
      assert.equal(await mode(join(dir, 'server.key')), 0o600);
    }
    for (const name of ['localhost', '127.0.0.1', '::1']) assert.ok(first.names.includes(name), name);

    const ca = new X509Certificate(await readFile(join(dir, 'ca.pem'), 'utf8'));
    assert.equal(ca.ca, true);
    assert.match(ca.subject, /CN=Mimir local CA/);
    const server = new X509Certificate(first.cert);
    assert.equal(server.ca, false);
    assert.ok(server.checkIssued(ca));
    assert.ok(server.verify(ca.publicKey));
    assert.deepEqual(server.keyUsage, ['1.3.6.1.5.5.7.3.1']); // serverAuth
    assert.equal(server.checkHost('localhost'), 'localhost');
    assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(server.checkIP('::1'), '::1');
    const lifetimeDays = (Date.parse(server.validTo) - Date.now()) / 86_400_000;
    assert.ok(lifetimeDays > 390 && lifetimeDays <= 398, `server cert lifetime ${lifetimeDays}`);
    const caLifetimeYears = (Date.parse(ca.validTo) - Date.now()) / (365 * 86_400_000);
    assert.ok(caLifetimeYears > 9.9, `CA lifetime ${caLifetimeYears}`);
  });

  void it('reuses the files on the next start', async () => {
    const second = await ensureTlsMaterial({ dataDir, hostnames: [] });
    assert.equal(second.generated, false);
    assert.equal(second.cert, first.cert);
    assert.equal(second.key, first.key);
    assert.deepEqual(second.names, first.names);
  });

  void it('re-issues the server certificate under the same CA when a host name is added', async () => {
    const caBefore = await readFile(join(dataDir, 'tls', 'ca.pem'), 'utf8');
    const hostnames = ['Mimir.Example.COM', '10.1.2.3', '[2001:DB8::0001]'];
    const third = await ensureTlsMaterial({ dataDir, hostnames });
    assert.equal(third.generated, true);
    assert.notEqual(third.cert, first.cert);
    assert.equal(await readFile(join(dataDir, 'tls', 'ca.pem'), 'utf8'), caBefore);
    for (const name of ['mimir.example.com', '10.1.2.3', '2001:db8::1', 'localhost']) assert.ok(third.names.includes(name), name);

    const server = new X509Certificate(third.cert);
    assert.ok(server.verify(new X509Certificate(caBefore).publicKey));
    assert.equal(server.checkHost('mimir.example.com'), 'mimir.example.com');
    assert.equal(server.checkIP('10.1.2.3'), '10.1.2.3');
    assert.equal(server.checkIP('2001:db8::1'), '2001:db8::1');

    // Same names spelled differently: nothing to do.
    const fourth = await ensureTlsMaterial({ dataDir, hostnames: ['mimir.example.com.', '2001:db8:0:0:0:0:0:1', '10.1.2.3'] });
    assert.equal(fourth.generated, false);
    assert.equal(fourth.cert, third.cert);
    // Dropping a name keeps the (still covering) certificate.
    const fifth = await ensureTlsMaterial({ dataDir, hostnames: [] });
    assert.equal(fifth.generated, false);
    assert.equal(fifth.cert, third.cert);
  });

  void it('serves HTTPS that a client pinning only the CA accepts for covered names only', async () => {
    const material = await ensureTlsMaterial({ dataDir, hostnames: [] });
    const ca = await readFile(join(dataDir, 'tls', 'ca.pem'), 'utf8');
    await withServer(material, async (port) => {
      const ok = await get(port, { ca, servername: 'localhost' });
      assert.equal(ok.status, 200);
      assert.equal(ok.body, 'ok');

      // No servername: the client checks the IP address it connected to against the IP SANs.
      const byIp = await get(port, { ca });
      assert.equal(byIp.status, 200);

      await assert.rejects(get(port, { ca, servername: 'not-in-the-cert.example' }), (err: NodeJS.ErrnoException) => {
        assert.equal(err.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
        return true;
      });
      // Without the CA the chain is untrusted.
      await assert.rejects(get(port, { servername: 'localhost' }), (err: NodeJS.ErrnoException) => {
        assert.match(err.code ?? '', /SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/);
        return true;
      });
    });
  });

  void it('negotiates TLS 1.2 with ECDHE-ECDSA AES-GCM, the only suites osquery offers', async () => {
    const material = await ensureTlsMaterial({ dataDir, hostnames: [] });
    const ca = await readFile(join(dataDir, 'tls', 'ca.pem'), 'utf8');
    await withServer(material, async (port) => {
      const res = await get(port, {
        ca,
        servername: 'localhost',
        maxVersion: 'TLSv1.2',
        ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384',
      });
      assert.equal(res.status, 200);
      assert.equal(res.protocol, 'TLSv1.2');
      assert.match(res.cipher, /GCM/);
      assert.match(res.cipher, /^ECDHE-ECDSA-/);
    });
  });

  void it('re-issues a server certificate that expires within 30 days, keeping the CA', async () => {
    const dir = join(dataDir, 'tls');
    const ca = { certPem: await readFile(join(dir, 'ca.pem'), 'utf8'), keyPem: await readFile(join(dir, 'ca.key'), 'utf8') };
    const current = await ensureTlsMaterial({ dataDir, hostnames: [] });
    const soon = await issueServerCertificate(ca, current.names.map((value) => ({ type: /^[\d.]+$|:/.test(value) ? 'ip' : 'dns', value })), 10);
    await writeFile(join(dir, 'server.pem'), soon.cert);
    await writeFile(join(dir, 'server.key'), soon.key);

    const renewed = await ensureTlsMaterial({ dataDir, hostnames: [] });
    assert.equal(renewed.generated, true);
    assert.notEqual(renewed.cert, soon.cert);
    assert.ok(Date.parse(new X509Certificate(renewed.cert).validTo) - Date.now() > 300 * 86_400_000);
    assert.equal(await readFile(join(dir, 'ca.pem'), 'utf8'), ca.certPem);
  });

  void it('re-issues missing or corrupt server files, keeping the CA', async () => {
    const dir = join(dataDir, 'tls');
    const caBefore = await readFile(join(dir, 'ca.pem'), 'utf8');

    await writeFile(join(dir, 'server.pem'), 'garbage');
    const repaired = await ensureTlsMaterial({ dataDir, hostnames: [] });
    assert.equal(repaired.generated, true);
    assert.ok(new X509Certificate(repaired.cert).verify(new X509Certificate(caBefore).publicKey));

    await rm(join(dir, 'server.key'));
    const again = await ensureTlsMaterial({ dataDir, hostnames: [] });
    assert.equal(again.generated, true);
    assert.ok(new X509Certificate(again.cert).checkPrivateKey(createPrivateKey(again.key)));
    assert.equal(await readFile(join(dir, 'ca.pem'), 'utf8'), caBefore);
  });

  void it('rejects host names that are neither DNS names nor IP addresses', async () => {
    await assert.rejects(ensureTlsMaterial({ dataDir, hostnames: ['not a host'] }), /MIMIR_TLS_HOSTNAMES entry "not a host"/);
  });
});

void describe('ensureTlsMaterial (existing CA problems)', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await tempDir();
    await ensureTlsMaterial({ dataDir, hostnames: [] });
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  void it('refuses to replace a corrupt CA certificate and names the file', async () => {
    const caPath = join(dataDir, 'tls', 'ca.pem');
    const original = await readFile(caPath, 'utf8');
    await writeFile(caPath, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    try {
      await assert.rejects(ensureTlsMaterial({ dataDir, hostnames: [] }), (err: Error) => {
        assert.ok(err.message.includes(caPath), err.message);
        assert.match(err.message, /corrupt/);
        return true;
      });
      // The broken file is left for the operator to inspect/restore.
      assert.equal(await readFile(caPath, 'utf8'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    } finally {
      await writeFile(caPath, original);
    }
  });

  void it('refuses a corrupt or missing CA key and names the file', async () => {
    const keyPath = join(dataDir, 'tls', 'ca.key');
    const original = await readFile(keyPath, 'utf8');
    try {
      await writeFile(keyPath, 'not a key');
      await assert.rejects(ensureTlsMaterial({ dataDir, hostnames: [] }), (err: Error) => err.message.includes(keyPath));
      await rm(keyPath);
      await assert.rejects(ensureTlsMaterial({ dataDir, hostnames: [] }), (err: Error) => err.message.includes(keyPath));
    } finally {
      await writeFile(keyPath, original, { mode: 0o600 });
    }
    const ok = await ensureTlsMaterial({ dataDir, hostnames: [] });
    assert.equal(ok.generated, false);
  });
});

void describe('ensureTlsMaterial (configured certificate)', () => {
  let dir: string;
  let certPath: string;
  let keyPath: string;
  let pair: { cert: string; key: string };

  before(async () => {
    dir = await tempDir();
    const ca = await createCertificateAuthority('Operator CA');
    pair = await issueServerCertificate(ca, [{ type: 'dns', value: 'fleet.example.org' }]);
    certPath = join(dir, 'fleet.crt');
    keyPath = join(dir, 'fleet.key');
    // A chain file: leaf first, then the issuing CA.
    await writeFile(certPath, pair.cert + ca.certPem);
    await writeFile(keyPath, pair.key);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('uses the files as given and generates nothing', async () => {
    const dataDir = join(dir, 'data');
    const material = await ensureTlsMaterial({ dataDir, certPath, keyPath, hostnames: ['ignored.example'] });
    assert.equal(material.cert, await readFile(certPath, 'utf8'));
    assert.equal(material.key, pair.key);
    assert.equal(material.caPath, undefined);
    assert.equal(material.generated, false);
    assert.deepEqual(material.names, ['fleet.example.org']);
    await assert.rejects(stat(join(dataDir, 'tls')), { code: 'ENOENT' });
  });

  void it('rejects a key that does not match the certificate', async () => {
    const other = await issueClientCertificate(await createCertificateAuthority('Other'), 'x');
    const otherKey = join(dir, 'other.key');
    await writeFile(otherKey, other.key);
    await assert.rejects(ensureTlsMaterial({ dataDir: dir, certPath, keyPath: otherKey, hostnames: [] }), /does not belong/);
  });

  void it('rejects unreadable files with their path', async () => {
    const missing = join(dir, 'missing.pem');
    await assert.rejects(ensureTlsMaterial({ dataDir: dir, certPath: missing, keyPath, hostnames: [] }), (err: Error) => err.message.includes(missing));
    await assert.rejects(ensureTlsMaterial({ dataDir: dir, certPath: keyPath, keyPath, hostnames: [] }), /not a valid PEM certificate/);
  });

  void it('requires both MIMIR_TLS_CERT and MIMIR_TLS_KEY', async () => {
    await assert.rejects(ensureTlsMaterial({ dataDir: dir, certPath, hostnames: [] }), /MIMIR_TLS_KEY is not/);
    await assert.rejects(ensureTlsMaterial({ dataDir: dir, keyPath, certPath: undefined, hostnames: [] }), /MIMIR_TLS_CERT is not/);
  });
});

void describe('client certificates', () => {
  void it('issues a clientAuth certificate that verifies against its own CA only', async () => {
    const clientCa = await createCertificateAuthority('Mimir test client CA');
    const otherCa = await createCertificateAuthority('Mimir test client CA'); // same name, other key
    const issued = await issueClientCertificate(clientCa, 'host-1234');

    const cert = new X509Certificate(issued.cert);
    const caCert = new X509Certificate(clientCa.certPem);
    assert.ok(caCert.ca);
    assert.match(cert.subject, /CN=host-1234/);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']); // clientAuth
    assert.ok(cert.checkIssued(caCert));
    assert.ok(cert.verify(caCert.publicKey));
    assert.equal(cert.verify(new X509Certificate(otherCa.certPem).publicKey), false);
  });

  void it('authenticates a TLS client against the client CA', async () => {
    const dataDir = await tempDir();
    try {
      const material = await ensureTlsMaterial({ dataDir, hostnames: [] });
      const serverCa = await readFile(join(dataDir, 'tls', 'ca.pem'), 'utf8');
      const clientCa = await createCertificateAuthority('Mimir test client CA');
      const client = await issueClientCertificate(clientCa, 'host-42');
      await withServer(
        material,
        async (port) => {
          const res = await get(port, { ca: serverCa, servername: 'localhost', cert: client.cert, key: client.key });
          assert.equal(res.body, 'client:host-42');
        },
        { requestCert: true, rejectUnauthorized: false, ca: clientCa.certPem },
      );
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
