/**
 * Shared by the hosts-area tests: seed host rows with chosen columns, read error bodies, and run
 * osqueryd stand-ins against a test server.
 */
import assert from 'node:assert/strict';
import { OsquerydStandin, type HostProfile, type OsquerydStandinOptions } from '@mimir/osquery-protocol/standin';
import type { NewHost } from '../../storage/repositories/hosts.repository.js';
import type { RawResponse, TestServer } from '../../../test/helper.js';

let seq = 0;

/** Insert a host row directly (fields the list filters on), with an optional last-seen time. */
export async function seedHost(srv: TestServer, values: Partial<NewHost> & { seenAt?: number | undefined } = {}): Promise<number> {
  const { seenAt, ...cols } = values;
  seq++;
  const now = Date.now();
  const group = await srv.app.store.groups.findByName('default');
  assert.ok(group);
  const id = await srv.app.store.hosts.insert({
    // Deterministic: a random suffix made free-text search tests flaky (a random 'w' matched `q=W`).
    identifier: `seed-${seq}`,
    group_id: group.id,
    hostname: `host-${seq}`,
    platform: 'linux',
    osquery_version: '5.23.1',
    enrolled_at: now - 3 * 86_400_000,
    last_enrolled_at: now - 3 * 86_400_000,
    created_at: now,
    updated_at: now,
    ...cols,
  });
  if (seenAt !== undefined) await srv.app.store.hosts.upsertSeen([[id, seenAt]]);
  return id;
}

export function errorOf(r: RawResponse): { code: string; message: string; details?: unknown } {
  const body = r.json as { error?: { code: string; message: string; details?: unknown } } | undefined;
  assert.ok(body?.error, `expected an error body, got ${r.status} ${r.text}`);
  return body.error;
}

export function standin(srv: TestServer, profile: HostProfile, extra: Partial<OsquerydStandinOptions> = {}): OsquerydStandin {
  return new OsquerydStandin({ tlsHostname: srv.tlsHostname, ca: srv.ca, enrollSecret: srv.secret, profile, sleep: () => Promise.resolve(), ...extra });
}

export async function hostIdOf(srv: TestServer, os: OsquerydStandin): Promise<number> {
  const h = await srv.app.services.cache.authenticate(await os.getNodeKey());
  assert.ok(h, 'the stand-in is enrolled');
  return h.id;
}
