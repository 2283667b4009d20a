/**
 * mimir-agent end to end (issue #6): real builds, a real server over HTTPS, the agent run as its
 * systemd unit runs it, osqueryd (the stand-in build) as a real child process.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it, type TestContext } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { TestServer } from '../../server/test/helper.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { makeClient } from '../src/worker.js';
import {
  agentStatus, binaryUrl, buildAgent, buildBrokenAgent, buildOsqueryd, hostPlatform, installAgent, osquerydPid, publish, runAgent, startEnv, waitFor, type InstalledAgent, type RunningAgent,
} from './harness.js';

/** Builds shared by every test (bundling takes ~0.1 s each, but once is enough). */
const B = { dir: '', osq1: '', osq2: '', osqBroken: '', agent1: '', agent2: '', agentBroken: '' };
before(async () => {
  B.dir = mkdtempSync(join(tmpdir(), 'mimir-agent-builds-'));
  process.on('exit', () => rmSync(B.dir, { recursive: true, force: true }));
  [B.osq1, B.osq2, B.osqBroken, B.agent1, B.agent2, B.agentBroken] = await Promise.all([
    buildOsqueryd(B.dir, '5.23.1'), buildOsqueryd(B.dir, '5.24.0'), buildOsqueryd(B.dir, '5.25.0', true),
    buildAgent(B.dir, '0.1.0'), buildAgent(B.dir, '0.2.0'), buildBrokenAgent(B.dir, '0.3.0'),
  ]);
});

async function agentRow(srv: TestServer, a: InstalledAgent) {
  return srv.app.store.agents.findByHardwareUuid(a.hardwareUuid);
}

async function hostRow(srv: TestServer, a: InstalledAgent) {
  const agent = await agentRow(srv, a);
  return agent?.host_id == null ? undefined : srv.app.store.hosts.findById(agent.host_id);
}

function current(a: InstalledAgent, kind: 'osquery' | 'agent'): string {
  return readlinkSync(join(a.root, kind, 'current'));
}

/** Enrolled, linked to osqueryd's host, and the server has osqueryd's own report of `version`. */
async function waitHealthy(srv: TestServer, a: InstalledAgent, version: string, timeoutMs = 90_000) {
  return waitFor(`host on osquery ${version}`, async () => {
    const h = await hostRow(srv, a);
    return h?.osquery_version === version ? h : undefined;
  }, timeoutMs);
}

/** Wait for `n` more agent check-ins. */
async function waitCheckIns(srv: TestServer, a: InstalledAgent, n: number) {
  let last = (await agentRow(srv, a))?.checked_in_at ?? 0;
  for (let i = 0; i < n; i++) {
    last = await waitFor('an agent check-in', async () => {
      const at = (await agentRow(srv, a))?.checked_in_at ?? 0;
      return at > last ? at : undefined;
    }, 30_000);
  }
}

async function reports(srv: TestServer, a: InstalledAgent) {
  const agent = await agentRow(srv, a);
  return agent === undefined ? [] : srv.app.store.agents.listReports(agent.id, 50);
}

/** A server, an agent installed with osqueryd 5.23.1 and agent 0.1.0, running, its host reporting. */
async function runningAgent(t: TestContext) {
  const env = await startEnv(t);
  const a = await installAgent(t, env, { agent: B.agent1, osqueryd: B.osq1 });
  const run = runAgent(t, a);
  await waitHealthy(env.srv, a, '5.23.1');
  return { env, a, run };
}

describe('mimir-agent', () => {
  it('installs, enrolls, supervises osqueryd and installs a signed osquery build rolled out at 100%', async (t) => {
    const env = await startEnv(t);
    const a = await installAgent(t, env, { agent: B.agent1, osqueryd: B.osq1, config: { staggerSeconds: 3 } });
    // The versioned tree and the unit.
    assert.equal(current(a, 'osquery'), '5.23.1');
    assert.equal(current(a, 'agent'), '0.1.0');
    assert.ok(existsSync(join(a.root, 'osquery', '5.23.1', 'osqueryd')));
    const unit = readFileSync(join(a.unitDir, 'mimir-agent.service'), 'utf8');
    assert.match(unit, new RegExp(`ExecStart=${join(a.root, 'agent', 'current', 'mimir-agent')} run --config ${a.configFile}`));
    const cfg = JSON.parse(readFileSync(a.configFile, 'utf8')) as Record<string, unknown>;
    assert.equal(cfg['osqueryAutoUpdate'], true);

    const run: RunningAgent = runAgent(t, a);
    const host = await waitHealthy(env.srv, a, '5.23.1');
    assert.equal(host.identifier, a.hardwareUuid, 'osqueryd enrolled with --host_identifier=uuid');
    const agent = await waitFor('agent check-in with versions', async () => {
      const r = await agentRow(env.srv, a);
      return r?.host_id === host.id && r.osquery_version === '5.23.1' ? r : undefined;
    });
    assert.equal(agent.agent_version, '0.1.0');
    assert.equal(agent.auto_update, 1);
    const flags = readFileSync(join(a.root, 'etc', 'osquery.flags'), 'utf8');
    assert.match(flags, /^--host_identifier=uuid$/m);
    assert.match(flags, new RegExp(`^--tls_server_certs=${join(a.root, 'etc', 'ca.pem')}$`, 'm'));

    await publish(env, 'osquery', '5.24.0', B.osq2, { rollout: 100 });
    await waitHealthy(env.srv, a, '5.24.0');
    await waitFor('installed report', async () => (await reports(env.srv, a)).find((r) => r.outcome === 'installed' && r.to_version === '5.24.0'));
    assert.equal(current(a, 'osquery'), '5.24.0');
    assert.ok(existsSync(join(a.root, 'osquery', '5.23.1', 'osqueryd')), 'the previous build stays for rollback');
    // The host (one osquery instance) kept its identity across the restart: no second host.
    assert.equal(await env.srv.app.store.hosts.count(), 1);
    assert.ok(run.logs.some((l) => l['msg'] === 'osqueryd' && String(l['line']).includes('5.24.0')), "osqueryd's output is in the agent's log");
    // The client-side stagger: a random wait (≤ 3 s here) drawn once, and nothing installed before it ended.
    const staggered = run.logs.find((l) => l['msg'] === 'new update target: staggering');
    const installed = run.logs.find((l) => l['msg'] === 'installed into a new versioned directory');
    assert.ok(staggered !== undefined && installed !== undefined);
    const notBefore = Date.parse(String(staggered['notBefore']));
    assert.ok(notBefore - Date.parse(String(staggered['time'])) <= 3000);
    assert.ok(Date.parse(String(installed['time'])) >= notBefore, 'installed only after the stagger');
    assert.equal(run.logs.filter((l) => l['msg'] === 'new update target: staggering').length, 1, 'drawn once');
  });

  it("follows seed 000's rollback: an older build approved again is installed, no other downgrade", async (t) => {
    const { env, a } = await runningAgent(t);
    const { api } = await import('../../server/test/helper.js');
    const base = '/api/v1/updates/osquery/artifacts';
    const old = await publish(env, 'osquery', '5.23.1', B.osq1, { rollout: 0 });
    const neu = await publish(env, 'osquery', '5.24.0', B.osq2, { rollout: 100 });
    await waitHealthy(env.srv, a, '5.24.0');
    // Pausing the new row never sends anyone back.
    await api(env.admin, 'PUT', `${base}/${neu.id}/rollout`, { percent: 0 }, 200);
    await waitCheckIns(env.srv, a, 3);
    assert.equal(current(a, 'osquery'), '5.24.0');
    // Approving the previous manifest again (with a rollout) is the deliberate rollback.
    await api(env.admin, 'POST', `${base}/${old.id}/approve`, undefined, 200);
    await api(env.admin, 'PUT', `${base}/${old.id}/rollout`, { percent: 100 }, 200);
    await waitHealthy(env.srv, a, '5.23.1');
    assert.equal(current(a, 'osquery'), '5.23.1');
    const back = await waitFor('installed report', async () => (await reports(env.srv, a)).find((r) => r.to_version === '5.23.1'));
    assert.equal(back.outcome, 'installed');
    assert.equal(back.from_version, '5.24.0');
  });

  it('refuses a build whose manifest signature does not verify against the pinned key: nothing changes', async (t) => {
    const { env, a } = await runningAgent(t);
    // The server trusts this key (so it registers and serves the row); the agent never pinned it.
    await publish(env, 'osquery', '5.24.0', B.osq2, { rollout: 100, key: env.otherKey });
    const refused = await waitFor('refused report', async () => (await reports(env.srv, a)).find((r) => r.outcome === 'refused'));
    assert.equal(refused.kind, 'osquery');
    assert.equal(refused.to_version, '5.24.0');
    assert.match(refused.message, /signature does not verify/);
    await waitCheckIns(env.srv, a, 3);
    assert.equal(current(a, 'osquery'), '5.23.1');
    assert.equal(existsSync(join(a.root, 'osquery', '5.24.0')), false, 'nothing downloaded or installed');
    assert.equal((await hostRow(env.srv, a))?.osquery_version, '5.23.1');
    assert.equal((await reports(env.srv, a)).length, 1, 'refused once, not at every poll');
  });

  it('rolls back a build that crashes at start and reports the failure', async (t) => {
    const { env, a } = await runningAgent(t);
    await publish(env, 'osquery', '5.25.0', B.osqBroken, { rollout: 100 });
    const failed = await waitFor('rolled_back report', async () => (await reports(env.srv, a)).find((r) => r.outcome === 'rolled_back'), 60_000);
    assert.equal(failed.from_version, '5.23.1');
    assert.equal(failed.to_version, '5.25.0');
    assert.match(failed.message, /exited/);
    assert.equal(current(a, 'osquery'), '5.23.1');
    // The previous osqueryd runs again and keeps checking in.
    await waitFor('osqueryd running again', () => osquerydPid(a.root));
    const seen = (await hostRow(env.srv, a))?.osquery_version;
    assert.equal(seen, '5.23.1');
    await waitCheckIns(env.srv, a, 3);
    assert.equal((await reports(env.srv, a)).length, 1, 'a failed build is not retried');
    assert.equal(current(a, 'osquery'), '5.23.1');
    const st = await agentStatus(a) as { osquery: { current: string; autoUpdate: boolean }; failed: { osquery: Array<{ version: string; reason: string }> } };
    assert.equal(st.osquery.current, '5.23.1');
    assert.equal(st.osquery.autoUpdate, true);
    assert.equal(st.failed.osquery[0]?.version, '5.25.0');
    assert.match(st.failed.osquery[0].reason, /exited/);
  });

  it('changes nothing while the rollout is 0% or when osquery auto-updates are off', async (t) => {
    const env = await startEnv(t);
    const paused = await installAgent(t, env, { agent: B.agent1, osqueryd: B.osq1 });
    const off = await installAgent(t, env, { agent: B.agent1, osqueryd: B.osq1, extraArgs: ['--no-osquery-auto-update'] });
    runAgent(t, paused);
    runAgent(t, off);
    await waitHealthy(env.srv, paused, '5.23.1');
    await waitHealthy(env.srv, off, '5.23.1');
    const row = await publish(env, 'osquery', '5.24.0', B.osq2, { rollout: 0 });
    await waitCheckIns(env.srv, paused, 3);
    assert.equal(current(paused, 'osquery'), '5.23.1');
    assert.deepEqual(await reports(env.srv, paused), []);
    // Rolled out to everyone, the host whose installer switched auto-updates off still stays.
    const base = `/api/v1/updates/osquery/artifacts/${row.id}`;
    const { api } = await import('../../server/test/helper.js');
    await api(env.admin, 'PUT', `${base}/rollout`, { percent: 100 }, 200);
    await waitHealthy(env.srv, paused, '5.24.0');
    await waitCheckIns(env.srv, off, 3);
    assert.equal(current(off, 'osquery'), '5.23.1');
    assert.equal((await agentRow(env.srv, off))?.auto_update, 0);
    const progress = await api<{ autoUpdateOff: number; hostsOnVersion: number }>(env.admin, 'GET', `${base}/progress`, undefined, 200);
    assert.equal(progress.autoUpdateOff, 1);
    assert.equal(progress.hostsOnVersion, 1);
  });

  it('updates itself to a signed agent build and re-executes it', async (t) => {
    const { env, a, run } = await runningAgent(t);
    await publish(env, 'agent', '0.2.0', B.agent2, { rollout: 100 });
    await waitFor('agent 0.2.0 checks in', async () => (await agentRow(env.srv, a))?.agent_version === '0.2.0');
    const ok = await waitFor('installed report', async () => (await reports(env.srv, a)).find((r) => r.kind === 'agent' && r.outcome === 'installed'));
    assert.equal(ok.from_version, '0.1.0');
    assert.equal(current(a, 'agent'), '0.2.0');
    assert.equal((await hostRow(env.srv, a))?.agent_version, '0.2.0', 'the hosts API sees the new agent version');
    // The new agent supervises osqueryd again.
    await waitFor('osqueryd under the new agent', () => osquerydPid(a.root));
    assert.ok(run.logs.some((l) => l['msg'] === 'agent starting' && l['agentVersion'] === '0.2.0'));
    assert.equal(run.proc.exitCode, null, 'the service never stopped');
  });

  it('rolls back an agent build that dies at start and reports it', async (t) => {
    const { env, a, run } = await runningAgent(t);
    await publish(env, 'agent', '0.3.0', B.agentBroken, { rollout: 100 });
    const failed = await waitFor('agent rolled_back report', async () => (await reports(env.srv, a)).find((r) => r.kind === 'agent' && r.outcome === 'rolled_back'), 60_000);
    assert.equal(failed.from_version, '0.1.0');
    assert.equal(failed.to_version, '0.3.0');
    assert.match(failed.message, /exited with code 70/);
    assert.equal(current(a, 'agent'), '0.1.0');
    await waitFor('osqueryd under the previous agent', () => osquerydPid(a.root));
    await waitCheckIns(env.srv, a, 3);
    assert.equal((await agentRow(env.srv, a))?.agent_version, '0.1.0');
    assert.equal((await reports(env.srv, a)).length, 1, 'the broken build is not tried again');
    assert.equal(run.proc.exitCode, null, 'the service never stopped');
  });

  it('resumes an interrupted download with Range and checks the whole file', async (t) => {
    const env = await startEnv(t);
    const a = await installAgent(t, env, { agent: B.agent1, osqueryd: B.osq1 });
    const { sha256 } = await publish(env, 'osquery', '5.24.0', B.osq2, { rollout: 0 });
    const client = await makeClient(loadConfig(a.configFile), createLogger({ write: () => undefined }));
    const whole = readFileSync(B.osq2);
    const part = join(a.root, 'state', 'resume.part');
    writeFileSync(part, whole.subarray(0, 1000));
    const got = await client.download(binaryUrl('osquery', '5.24.0', hostPlatform().os, hostPlatform().arch), part, sha256, 10 * 1024 * 1024);
    assert.equal(got.resumedFrom, 1000);
    assert.equal(got.sha256, sha256);
    assert.deepEqual(readFileSync(part), whole);
    // A complete file asks for nothing more (416) and still hashes right.
    const again = await client.download(binaryUrl('osquery', '5.24.0', hostPlatform().os, hostPlatform().arch), part, sha256, 10 * 1024 * 1024);
    assert.equal(again.sha256, sha256);
    // If-Range: a partial file of another build (other ETag) gets the whole current file.
    writeFileSync(part, whole.subarray(0, 1000));
    const other = await client.download(binaryUrl('osquery', '5.24.0', hostPlatform().os, hostPlatform().arch), part, 'b'.repeat(64), 10 * 1024 * 1024);
    assert.equal(other.resumedFrom, 0);
    assert.equal(other.sha256, sha256);
  });

  it('restarts osqueryd when it is killed', async (t) => {
    const { env, a, run } = await runningAgent(t);
    const first = await waitFor('osqueryd pid', () => osquerydPid(a.root));
    process.kill(first, 'SIGKILL');
    const second = await waitFor('a new osqueryd', () => {
      const pid = osquerydPid(a.root);
      return pid !== undefined && pid !== first ? pid : undefined;
    });
    assert.notEqual(second, first);
    assert.ok(run.logs.some((l) => l['msg'] === 'osqueryd exited' && l['signal'] === 'SIGKILL'));
    // Same host, same key: osqueryd kept its identity in its database directory.
    await waitCheckIns(env.srv, a, 1);
    assert.equal(await env.srv.app.store.hosts.count(), 1);
    // SIGHUP is passed on to osqueryd.
    run.proc.kill('SIGHUP');
    await waitFor('osqueryd got SIGHUP', () => run.logs.some((l) => l['msg'] === 'osqueryd' && String(l['line']).includes('received SIGHUP')), 10_000);
    // SIGTERM stops everything cleanly.
    assert.equal(await run.stop(), 0);
    assert.equal(osquerydPid(a.root), undefined, 'osqueryd stopped with the agent');
  });
});
