/**
 * Issue #4 "Results carry both the original osquery.* fields and the mapped ECS fields, in the API,
 * the exports and the NDJSON sink": the NDJSON mirror of scheduled results, end to end.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { api, apiUser, enroll, post, startServer, tempDir } from './helper.js';

void it('should mirror pack results to NDJSON with the mapped ECS fields next to osquery.*', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'results.ndjson');
  const srv = await startServer(t, { overrides: { results: { retention: 0, ndjsonFile: file } } });
  const admin = await apiUser(srv, 'admin');
  await api(admin, 'POST', '/api/v1/packs', {
    name: 'it',
    global: true,
    queries: [{ name: 'procs', sql: 'SELECT pid, name FROM processes;', interval: 60, ecsMapping: { 'process.pid': { field: 'pid' }, 'event.category': { value: ['process'] } } }],
  }, 201);
  const key = await enroll(srv);
  const line = (name: string, pid: string) => ({ name, hostIdentifier: 'h', calendarTime: 'x', unixTime: 1_700_000_000, epoch: 0, counter: 1, numerics: false, columns: { pid, name: 'bash' }, action: 'added' });
  const r = await post(srv, '/api/v1/osquery/log', { node_key: key, log_type: 'result', data: [line('pack/it/procs', '42'), line('pack/other/q', '7')] });
  assert.equal(r.status, 200, r.text);
  await srv.stop();
  const docs = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(docs.length, 2);
  const mapped = docs.find((d) => d['pack'] === 'it');
  assert.ok(mapped);
  assert.deepEqual(mapped['osquery'], { pid: '42', name: 'bash' });
  assert.deepEqual(mapped['process'], { pid: 42 });
  assert.deepEqual(mapped['event'], { category: ['process'] });
  const unmapped = docs.find((d) => d['pack'] === 'other');
  assert.equal(unmapped?.['process'], undefined);
  assert.deepEqual(unmapped?.['osquery'], { pid: '7', name: 'bash' });
});
