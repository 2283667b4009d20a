/**
 * Indexed host search (issue #4 "free-text search (hostname, UUID, serial, IP)", migration
 * 0008-host-search): the substring semantics Fleet's search has (a hostname prefix, a whole UUID,
 * part of an IP), served by the dialect's index and kept current by the database itself when hosts
 * are added, changed and deleted.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import type { HostList, TargetSearchResult } from '@mimir/api-contract';
import { api, apiUser, startServer, TEST_DATABASE, type ApiCaller } from '../../../test/helper.js';
import { seedHost } from './hosts-test-utils.js';

async function found(reader: ApiCaller, q: string): Promise<number[]> {
  const page = await api<HostList>(reader, 'GET', `/api/v1/hosts?limit=1000&q=${encodeURIComponent(q)}`, undefined, 200);
  return page.items.map((h) => h.id).sort((a, b) => a - b);
}

void describe('host free-text search', () => {
  void it('should find hosts by hostname prefix, whole UUID, serial and part of an IP, case-insensitively', async (t) => {
    const srv = await startServer(t);
    const reader = await apiUser(srv, 'readonly');
    const web = await seedHost(srv, { hostname: 'web-prod-01.example.com', hardware_uuid: '4C4C4544-0042-3510-8052-B3C04F4E3732', hardware_serial: 'C02XK1ABJGH5', primary_ip: '10.20.30.41' });
    const db = await seedHost(srv, { hostname: 'db-prod-02', computer_name: 'Database "Primary"', hardware_uuid: '9f8e7d6c-0000-4000-8000-00000000abcd', primary_ip: '10.20.31.7' });
    const mac = await seedHost(srv, { hostname: 'Anna’s MacBook', identifier: 'osq-ident-ÄÖÜ-1', primary_ip: '192.168.1.23' });

    assert.deepEqual(await found(reader, 'web'), [web], 'hostname prefix');
    assert.deepEqual(await found(reader, 'WEB-PROD'), [web], 'case-insensitive');
    assert.deepEqual(await found(reader, 'prod'), [web, db], 'inside a hostname');
    assert.deepEqual(await found(reader, '4C4C4544-0042-3510-8052-B3C04F4E3732'), [web], 'whole UUID');
    assert.deepEqual(await found(reader, '4c4c4544-0042-3510-8052-b3c04f4e3732'), [web], 'UUID in lower case');
    assert.deepEqual(await found(reader, 'JGH5'), [web], 'end of a serial');
    assert.deepEqual(await found(reader, '10.20.3'), [web, db], 'part of an IP');
    assert.deepEqual(await found(reader, '.23'), [mac], 'IP suffix');
    assert.deepEqual(await found(reader, '"Primary"'), [db], 'double quotes are text, not FTS syntax');
    assert.deepEqual(await found(reader, 'ÄÖÜ'), [mac], 'non-ASCII identifier');
    assert.deepEqual(await found(reader, 'Anna’s'), [mac]);
    // One and two characters are below any trigram: the scan still answers.
    assert.deepEqual(await found(reader, 'W'), [web]);
    assert.deepEqual(await found(reader, '02'), [web, db]);
    // Query syntax of the index is not interpreted.
    for (const q of ['web OR db', 'prod*', 'NEAR(web db)', 'hostname:web', 'NOT db', '%', '_']) assert.deepEqual(await found(reader, q), [], q);
    assert.deepEqual(await found(reader, 'nothing-like-this'), []);

    // Count, export and the live-query target picker use the same search.
    assert.equal((await api<{ count: number }>(reader, 'GET', '/api/v1/hosts/count?q=prod', undefined, 200)).count, 2);
    const csv = await reader.call('GET', '/api/v1/hosts.csv?q=10.20.31');
    assert.equal(csv.status, 200);
    assert.match(csv.text, /db-prod-02/);
    assert.doesNotMatch(csv.text, /web-prod-01/);
    const targets = await api<TargetSearchResult>(reader, 'GET', '/api/v1/targets/search?q=C02XK1', undefined, 200);
    assert.deepEqual(targets.hosts.map((h) => h.id), [web]);
  });

  void it('should keep the index current when hosts are renamed, re-addressed and deleted', async (t) => {
    const srv = await startServer(t);
    const reader = await apiUser(srv, 'readonly');
    const admin = await apiUser(srv, 'admin');
    const id = await seedHost(srv, { hostname: 'alpha-node', primary_ip: '172.16.0.10' });
    const other = await seedHost(srv, { hostname: 'beta-node', primary_ip: '172.16.0.11' });
    assert.deepEqual(await found(reader, 'alpha'), [id]);

    await srv.app.store.hosts.update(id, { hostname: 'gamma-node', primary_ip: '172.17.5.5', updated_at: Date.now() });
    assert.deepEqual(await found(reader, 'alpha'), [], 'old name forgotten');
    assert.deepEqual(await found(reader, 'gamma'), [id], 'new name found');
    assert.deepEqual(await found(reader, '172.17.5'), [id], 'new IP found');
    assert.deepEqual(await found(reader, '172.16.0'), [other], 'old IP forgotten');
    // An update that leaves the search columns alone changes nothing.
    await srv.app.store.hosts.update(id, { os_name: 'Ubuntu', updated_at: Date.now() });
    assert.deepEqual(await found(reader, 'gamma'), [id]);

    assert.equal((await admin.call('DELETE', `/api/v1/hosts/${id}`)).status, 200);
    assert.deepEqual(await found(reader, 'gamma'), []);
    assert.deepEqual(await found(reader, 'node'), [other]);

    if (TEST_DATABASE === 'sqlite') {
      // FTS5's own check that the external-content index matches the hosts table row for row.
      const file = new BetterSqlite3(join(srv.dataDir, 'mimir.db'));
      t.after(() => file.close());
      file.prepare(`INSERT INTO host_search(host_search, rank) VALUES ('integrity-check', 1)`).run();
      const plan = file.prepare(`EXPLAIN QUERY PLAN SELECT id FROM hosts WHERE id IN (SELECT rowid FROM host_search WHERE host_search MATCH '"node"')`).all() as Array<{ detail: string }>;
      assert.ok(plan.some((p) => /VIRTUAL TABLE INDEX/.test(p.detail)), JSON.stringify(plan));
    }
  });
});
