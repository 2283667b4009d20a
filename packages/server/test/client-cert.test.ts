/**
 * TLS client-certificate enrollment (seed 001 "TLS client-auth enrollment"; osquery-protocol.md
 * §1.4 client auth, §2.3 `--disable_enrollment`) over real HTTPS with the osqueryd stand-in. The
 * server asks for a client certificate and verifies it against a client CA but lets hosts without
 * one in (main.ts startServer: `requestCert: true, rejectUnauthorized: false`).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { OSQUERY_ENDPOINTS } from '@mimir/osquery-protocol';
import {
  OsquerydStandin, makeHostProfile, resultEventLine, type CallResult, type HostProfile, type OsquerydStandinOptions,
} from '@mimir/osquery-protocol/standin';
import { createCertificateAuthority, issueClientCertificate, type CertificateAuthorityPem, type IssuedCertificate } from '../src/tls/tls.service.js';
import { post, startServer, storedCounts, type TestServer } from './helper.js';

const instant = () => Promise.resolve();

function standin(srv: TestServer, profile: HostProfile, extra: Partial<OsquerydStandinOptions> = {}): OsquerydStandin {
  return new OsquerydStandin({ tlsHostname: srv.tlsHostname, ca: srv.ca, enrollSecret: srv.secret, profile, sleep: instant, ...extra });
}

function withCert(cert: IssuedCertificate): Partial<OsquerydStandinOptions> {
  return { clientCert: cert.cert, clientKey: cert.key };
}

function assertNodeInvalid(r: CallResult, what: string): void {
  assert.equal(r.ok, false, `${what}: ${JSON.stringify(r)}`);
  assert.equal(r.status, 401, what);
  assert.match(r.error, /Invalid node key/, what);
}

/** The group hosts identified by a certificate land in (AppOptions.clientCertGroup). */
const CERT_GROUP = 'cert-hosts';

async function certServer(t: Parameters<typeof startServer>[0], clientCa: CertificateAuthorityPem, dataDir?: string) {
  const srv = await startServer(t, { clientCa: clientCa.certPem, overrides: { clientCertGroup: CERT_GROUP }, ...(dataDir !== undefined ? { dataDir } : {}) });
  const existing = await srv.app.store.groups.findByName(CERT_GROUP);
  const groupId = existing?.id ?? (await srv.app.store.groups.create(CERT_GROUP, Date.now(), 'TLS client-auth hosts'));
  return { srv, groupId };
}

void describe('TLS client-certificate enrollment (seed 001)', () => {
  let clientCa: CertificateAuthorityPem;
  let otherCa: CertificateAuthorityPem;
  before(async () => {
    clientCa = await createCertificateAuthority('Mimir test client CA');
    // Same subject name, different key: only the signature tells them apart.
    otherCa = await createCertificateAuthority('Mimir test client CA');
  });

  void it('should enroll a host that presents a trusted client certificate and an empty enroll secret', async (t) => {
    const { srv, groupId } = await certServer(t, clientCa);
    const cert = await issueClientCertificate(clientCa, 'laptop-0001');
    const os = standin(srv, makeHostProfile('ubuntu', 11), { enrollSecret: '', ...withCert(cert) });
    t.after(() => os.close());

    const e = await os.enroll();
    assert.equal(e.ok, true, JSON.stringify(e));
    const cfg = await os.config();
    assert.equal(cfg.ok, true, JSON.stringify(cfg));
    assert.equal(cfg.attempts, 1);
    os.logResult(resultEventLine({ name: 'pack/p/q', hostIdentifier: os.hostIdentifier, unixTime: 1_700_000_000, counter: 1 }, { a: '1' }, 'added'));
    os.logStatus(0, 'hello from a certificate host');
    const flush = await os.flushLogs();
    assert.equal(flush.results?.ok, true, JSON.stringify(flush.results));
    assert.equal(flush.statuses?.ok, true, JSON.stringify(flush.statuses));

    const host = await srv.app.services.cache.authenticate(await os.getNodeKey());
    assert.ok(host);
    const row = await srv.app.store.hosts.findById(host.id);
    // Enrolled under its osquery identity (it did send host_identifier), by certificate, into the cert group.
    assert.equal(row?.identifier, os.hostIdentifier);
    assert.equal(row.enroll_method, 'certificate');
    assert.equal(row.group_id, groupId);
    assert.equal(row.platform, 'linux');
    assert.equal((await srv.app.store.logs.listResults({ hostId: host.id })).length, 1);
    assert.equal((await srv.app.store.logs.listStatuses({ hostId: host.id }))[0]?.message, 'hello from a certificate host');
  });

  void it('should serve a --disable_enrollment host by its certificate alone, with no node key at all', async (t) => {
    const { srv, groupId } = await certServer(t, clientCa);
    const cert = await issueClientCertificate(clientCa, 'kiosk-42.example.com');
    const os = standin(srv, makeHostProfile('ubuntu', 12), { enrollSecret: '', disableEnrollment: true, ...withCert(cert) });
    t.after(() => os.close());

    const cfg = await os.config();
    assert.equal(cfg.ok, true, JSON.stringify(cfg));
    assert.equal(typeof (cfg.body['options'] as Record<string, unknown>)['distributed_interval'], 'number');
    const read = await os.runDistributedOnce();
    assert.equal(read.read.ok, true, JSON.stringify(read.read));
    assert.ok(read.executed.some((id) => id.startsWith('mimir_detail_')), 'a new host gets the vitals queries');
    assert.equal(read.write?.ok, true, JSON.stringify(read.write));
    os.logResult(resultEventLine({ name: 'pack/p/q', hostIdentifier: os.hostIdentifier, unixTime: 1_700_000_000, counter: 1 }, { a: '1' }, 'added'));
    os.logStatus(1, 'warn');
    const flush = await os.flushLogs();
    assert.equal(flush.results?.ok, true, JSON.stringify(flush.results));
    assert.equal(flush.statuses?.ok, true, JSON.stringify(flush.statuses));
    assert.equal(os.counters.enrollRequests, 0, 'osquery never enrolled');
    assert.equal(os.nodeKey, '');

    const rows = await srv.app.store.hosts.findByIdentifier('kiosk-42.example.com');
    assert.equal(rows.length, 1, 'one host row, identified by the certificate CN');
    const row = await srv.app.store.hosts.findById(rows[0]?.id ?? -1);
    assert.equal(row?.enroll_method, 'certificate');
    assert.equal(row.group_id, groupId);
    assert.equal(row.hostname, os.profile.hostname, 'vitals from the distributed write landed on the certificate host');
    assert.equal((await srv.app.store.logs.listResults({ hostId: row.id })).length, 1);
    assert.equal((await srv.app.store.logs.listStatuses({ hostId: row.id })).length, 1);

    // More check-ins, a new connection and a server restart (cold host cache) reuse the same row.
    for (let i = 0; i < 3; i++) assert.equal((await os.config()).ok, true);
    const again = standin(srv, makeHostProfile('ubuntu', 12), { enrollSecret: '', disableEnrollment: true, ...withCert(cert) });
    t.after(() => again.close());
    assert.equal((await again.config()).ok, true);
    await again.close();
    await os.close();
    await srv.stop();
    const { srv: srv2 } = await certServer(t, clientCa, srv.dataDir);
    const after = standin(srv2, makeHostProfile('ubuntu', 12), { enrollSecret: '', disableEnrollment: true, ...withCert(cert) });
    t.after(() => after.close());
    assert.equal((await after.config()).ok, true);
    assert.equal(await srv2.app.store.hosts.count(), 1);
    assert.deepEqual((await srv2.app.store.hosts.findByIdentifier('kiosk-42.example.com')).map((h) => h.id), [row.id]);
  });

  void it('should keep two certificates with different CNs as two hosts', async (t) => {
    const { srv } = await certServer(t, clientCa);
    const a = standin(srv, makeHostProfile('ubuntu', 13), { disableEnrollment: true, ...withCert(await issueClientCertificate(clientCa, 'cn-a')) });
    const b = standin(srv, makeHostProfile('ubuntu', 14), { disableEnrollment: true, ...withCert(await issueClientCertificate(clientCa, 'cn-b')) });
    t.after(() => Promise.all([a.close(), b.close()]));
    assert.equal((await a.config()).ok, true);
    assert.equal((await b.config()).ok, true);
    assert.equal(await srv.app.store.hosts.count(), 2);
  });

  void it('should give a certificate from an untrusted CA no access', async (t) => {
    const { srv } = await certServer(t, clientCa);
    const cert = await issueClientCertificate(otherCa, 'intruder');
    const before = await storedCounts(srv);

    // Enroll with an empty secret: 401, node_invalid, and no node_key (S6, §2.2).
    const enroller = standin(srv, makeHostProfile('ubuntu', 15), { enrollSecret: '', enrollMaxAttempts: 2, ...withCert(cert) });
    t.after(() => enroller.close());
    const raw = await enroller.http.request({ path: OSQUERY_ENDPOINTS.enroll, body: enroller.enrollBody() });
    assert.equal(raw.status, 401);
    const answer = JSON.parse(raw.body.toString('utf8')) as Record<string, unknown>;
    assert.equal(answer['node_invalid'], true);
    assert.equal(typeof answer['error'], 'string');
    assert.equal(Object.hasOwn(answer, 'node_key'), false);
    assert.equal((await enroller.enroll()).ok, false);

    // --disable_enrollment: every request carries an empty node key and is refused.
    const os = standin(srv, makeHostProfile('ubuntu', 16), { enrollSecret: '', disableEnrollment: true, ...withCert(cert) });
    t.after(() => os.close());
    assertNodeInvalid(await os.config(), 'config');
    assertNodeInvalid(await os.distributedRead(), 'distributed read');
    assertNodeInvalid(await os.distributedWrite([{ id: 'q', rows: [], status: 0, message: '' }]), 'distributed write');
    assertNodeInvalid(await os.sendLogs('status', [{ hostIdentifier: 'x', unixTime: 1, severity: 0, filename: 'a', line: 1, message: 'm' }]), 'log');
    assert.deepEqual(await storedCounts(srv), before, 'nothing stored, no host created');
    assert.deepEqual(await srv.app.store.hosts.findByIdentifier('intruder'), []);
  });

  void it('should not let a host without a certificate pose as a certificate host through its node key', async (t) => {
    const { srv } = await certServer(t, clientCa);
    const os = standin(srv, makeHostProfile('ubuntu', 17), { disableEnrollment: true, ...withCert(await issueClientCertificate(clientCa, 'victim')) });
    t.after(() => os.close());
    assert.equal((await os.config()).ok, true);
    const before = await storedCounts(srv);
    // Whatever the server derives a certificate host's key from, a body node key that is not a
    // key it issued must not authenticate (JSON can carry any character, NUL included).
    for (const forged of ['\u0000cert:victim', 'cert:victim', 'victim']) {
      const r = await post(srv, OSQUERY_ENDPOINTS.config, { node_key: forged });
      assert.equal(r.status, 401, `forged key ${JSON.stringify(forged)}: ${r.text}`);
      assert.equal((r.json as { node_invalid?: unknown }).node_invalid, true);
      const log = await post(srv, OSQUERY_ENDPOINTS.log, {
        node_key: forged, log_type: 'status', data: [{ hostIdentifier: 'x', unixTime: 1, severity: 0, filename: 'a', line: 1, message: 'forged' }],
      });
      assert.equal(log.status, 401);
    }
    assert.deepEqual(await storedCounts(srv), before);
  });

  void it('should still enroll hosts without a client certificate with the secret on the same server', async (t) => {
    const { srv } = await certServer(t, clientCa);
    const os = standin(srv, makeHostProfile('windows', 18));
    t.after(() => os.close());
    assert.equal((await os.enroll()).ok, true);
    const cfg = await os.config();
    assert.equal(cfg.ok, true, JSON.stringify(cfg));
    os.logStatus(0, 'secret host');
    assert.equal((await os.flushLogs()).statuses?.ok, true);
    const host = await srv.app.services.cache.authenticate(await os.getNodeKey());
    assert.ok(host);
    const row = await srv.app.store.hosts.findById(host.id);
    assert.equal(row?.enroll_method, 'secret');
    assert.equal(row.group_id, (await srv.app.store.groups.findByName('default'))?.id, 'the secret decides the group');

    // Without a certificate, an empty secret or an empty node key gets nothing.
    const nobody = standin(srv, makeHostProfile('ubuntu', 19), { enrollSecret: '', enrollMaxAttempts: 1 });
    t.after(() => nobody.close());
    assert.equal((await nobody.enroll()).ok, false);
    const blind = standin(srv, makeHostProfile('ubuntu', 20), { disableEnrollment: true });
    t.after(() => blind.close());
    assertNodeInvalid(await blind.config(), 'config without certificate or key');
    assert.equal(await srv.app.store.hosts.count(), 1);
  });

  void it('should enroll a host that has both a trusted certificate and a valid secret into the secret\'s group', async (t) => {
    const { srv } = await certServer(t, clientCa);
    const os = standin(srv, makeHostProfile('macos', 21), withCert(await issueClientCertificate(clientCa, 'both')));
    t.after(() => os.close());
    assert.equal((await os.enroll()).ok, true);
    const host = await srv.app.services.cache.authenticate(await os.getNodeKey());
    const row = await srv.app.store.hosts.findById(host?.id ?? -1);
    assert.equal(row?.enroll_method, 'secret');
    assert.equal(row.group_id, (await srv.app.store.groups.findByName('default'))?.id);
  });
});
