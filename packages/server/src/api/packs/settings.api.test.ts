/**
 * Settings over the operator API: display preferences every role reads and admins change; global
 * osquery options (known-safe keys only) that reach osquery in its next config; retention
 * overrides; 403 for admin-only settings, 422 with details, nothing changed on failure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEntry, DisplaySettings, OsqueryOptionsSettings, RetentionSettings } from '@mimir/api-contract';
import { OsquerydStandin, makeHostProfile } from '@mimir/osquery-protocol/standin';
import { GLOBAL_OPTIONS_KEY } from '../../services/osquery-config.service.js';
import { RETENTION_KEY } from '../../services/settings/settings.service.js';
import { api, apiUser, startServer } from '../../../test/helper.js';

void describe('settings API', () => {
  void it('should let every role read display settings and only admins change them, validating the time zone', async (t) => {
    const srv = await startServer(t);
    const [admin, op, ro] = [await apiUser(srv, 'admin'), await apiUser(srv, 'operator'), await apiUser(srv, 'readonly')];
    assert.deepEqual(await api<DisplaySettings>(ro, 'GET', '/api/v1/settings/display', undefined, 200), { timeZone: 'UTC', dateFormat: 'iso' });
    await api(op, 'GET', '/api/v1/settings/display', undefined, 200);
    await api(op, 'PUT', '/api/v1/settings/display', { timeZone: 'Europe/Paris' }, 403);
    await api(ro, 'PUT', '/api/v1/settings/display', { timeZone: 'Europe/Paris' }, 403);

    const bad = await admin.call('PUT', '/api/v1/settings/display', { timeZone: 'Mars/Olympus_Mons', dateFormat: 'DD/MM/YYYY HH:mm:ss' });
    assert.equal(bad.status, 422);
    assert.match(bad.text, /\/timeZone/);
    assert.deepEqual(await api<DisplaySettings>(ro, 'GET', '/api/v1/settings/display', undefined, 200), { timeZone: 'UTC', dateFormat: 'iso' }, 'nothing changed');
    assert.equal((await admin.call('PUT', '/api/v1/settings/display', { dateFormat: 'whenever' })).status, 400);

    const set = await api<DisplaySettings>(admin, 'PUT', '/api/v1/settings/display', { timeZone: 'america/new_york', dateFormat: 'MM/DD/YYYY hh:mm:ss A' }, 200);
    assert.deepEqual(set, { timeZone: 'America/New_York', dateFormat: 'MM/DD/YYYY hh:mm:ss A' }, 'stored under its canonical IANA name');
    const partial = await api<DisplaySettings>(admin, 'PUT', '/api/v1/settings/display', { dateFormat: 'relative' }, 200);
    assert.deepEqual(partial, { timeZone: 'America/New_York', dateFormat: 'relative' });
    let audit: AuditEntry[] = [];
    for (let i = 0; i < 50 && audit.length < 2; i++) {
      // Written in onResponse, after the client has its answer.
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      audit = (await api<{ items: AuditEntry[] }>(admin, 'GET', '/api/v1/audit?action=settings.display.update', undefined, 200)).items;
    }
    assert.equal(audit.length, 2);
  });

  void it('should serve global osquery options in the next config, refuse unsafe keys and keep them admin-only', async (t) => {
    const srv = await startServer(t);
    const [admin, op, ro] = [await apiUser(srv, 'admin'), await apiUser(srv, 'operator'), await apiUser(srv, 'readonly')];
    const os = new OsquerydStandin({ tlsHostname: srv.tlsHostname, ca: srv.ca, enrollSecret: srv.secret, profile: makeHostProfile('ubuntu', 61), sleep: () => Promise.resolve() });
    t.after(() => os.close());
    assert.ok((await os.config()).ok);

    for (const caller of [op, ro]) {
      await api(caller, 'GET', '/api/v1/settings/osquery-options', undefined, 403);
      await api(caller, 'PUT', '/api/v1/settings/osquery-options', { options: {} }, 403);
    }
    const initial = await api<OsqueryOptionsSettings>(admin, 'GET', '/api/v1/settings/osquery-options', undefined, 200);
    assert.deepEqual(initial.options, {});
    assert.ok(initial.allowed.some((a) => a.key === 'distributed_interval' && a.type === 'integer'));

    const refused = await admin.call('PUT', '/api/v1/settings/osquery-options', {
      options: { pack_delimiter: '_', logger_tls_endpoint: '/elsewhere', distributed_interval: 0, logger_tls_compress: 'yes', schedule_splay_percent: 10.5, host_identifier: 'hostname' },
    });
    assert.equal(refused.status, 422);
    const paths = ((refused.json as { error: { details: Array<{ path: string }> } }).error.details).map((d) => d.path).sort();
    assert.deepEqual(paths, ['/options/distributed_interval', '/options/host_identifier', '/options/logger_tls_compress', '/options/logger_tls_endpoint', '/options/pack_delimiter', '/options/schedule_splay_percent']);
    assert.equal(await srv.app.store.settings.get(GLOBAL_OPTIONS_KEY), undefined, 'nothing stored');

    const saved = await api<OsqueryOptionsSettings>(admin, 'PUT', '/api/v1/settings/osquery-options', {
      options: { distributed_interval: 30, logger_tls_compress: true, custom_site: 'paris', disable_tables: 'curl,curl_certificate' },
    }, 200);
    assert.deepEqual(saved.options, { distributed_interval: 30, logger_tls_compress: true, custom_site: 'paris', disable_tables: 'curl,curl_certificate' });
    const cfg = await os.config();
    assert.ok(cfg.ok);
    const options = cfg.body['options'] as Record<string, unknown>;
    assert.equal(options['distributed_interval'], 30, 'numbers stay numbers');
    assert.equal(options['logger_tls_compress'], true);
    assert.equal(options['custom_site'], 'paris');
    assert.equal(options['pack_delimiter'], '/', 'the server keeps its pack delimiter');
    assert.equal(os.distributedIntervalSec, 30, 'osquery applied it');
    // Clearing them returns hosts to the server defaults.
    await api(admin, 'PUT', '/api/v1/settings/osquery-options', { options: {} }, 200);
    const cleared = await os.config();
    assert.ok(cleared.ok);
    assert.equal((cleared.body['options'] as Record<string, unknown>)['distributed_interval'], 10);
  });

  void it('should persist retention overrides for admins, with null meaning the environment default', async (t) => {
    const srv = await startServer(t);
    const [admin, op] = [await apiUser(srv, 'admin'), await apiUser(srv, 'operator')];
    await api(op, 'GET', '/api/v1/settings/retention', undefined, 403);
    await api(op, 'PUT', '/api/v1/settings/retention', { resultRetentionDays: 7 }, 403);
    const initial = await api<RetentionSettings>(admin, 'GET', '/api/v1/settings/retention', undefined, 200);
    assert.deepEqual(initial, { resultRetentionDays: null, liveQueryHistoryDays: null, defaults: { liveQueryHistoryDays: 30 } });

    const bad = await admin.call('PUT', '/api/v1/settings/retention', { resultRetentionDays: -1, liveQueryHistoryDays: 0 });
    assert.equal(bad.status, 422);
    assert.match(bad.text, /resultRetentionDays/);
    assert.match(bad.text, /liveQueryHistoryDays/);
    assert.equal(await srv.app.store.settings.get(RETENTION_KEY), undefined);

    const set = await api<RetentionSettings>(admin, 'PUT', '/api/v1/settings/retention', { resultRetentionDays: 14, liveQueryHistoryDays: 60 }, 200);
    assert.equal(set.resultRetentionDays, 14);
    assert.equal(set.liveQueryHistoryDays, 60);
    assert.deepEqual(await srv.app.store.settings.get(RETENTION_KEY), { resultRetentionDays: 14, liveQueryHistoryDays: 60 });
    const keep = await api<RetentionSettings>(admin, 'PUT', '/api/v1/settings/retention', { resultRetentionDays: null }, 200);
    assert.deepEqual([keep.resultRetentionDays, keep.liveQueryHistoryDays], [null, 60]);
    assert.deepEqual(await srv.app.store.settings.get(RETENTION_KEY), { liveQueryHistoryDays: 60 });
    const forever = await api<RetentionSettings>(admin, 'PUT', '/api/v1/settings/retention', { resultRetentionDays: 0 }, 200);
    assert.equal(forever.resultRetentionDays, 0);
  });
});

void describe('packs area in the OpenAPI document', () => {
  void it('should document every route of the area with tags, a summary and a permission', async (t) => {
    const srv = await startServer(t);
    const r = await srv.app.fastify.inject({ method: 'GET', url: '/api/docs/json' });
    assert.equal(r.statusCode, 200);
    const doc = r.json<{ paths: Record<string, Record<string, { tags?: string[]; summary?: string }>> }>();
    const mine = Object.entries(doc.paths).filter(([path]) => /^\/api\/v1\/(packs|results|carves|settings)/.test(path));
    assert.ok(mine.length >= 15, mine.map(([p]) => p).join(', '));
    for (const [path, ops] of mine) {
      for (const [method, op] of Object.entries(ops)) {
        assert.ok((op.tags?.length ?? 0) > 0 && (op.summary ?? '') !== '', `${method} ${path} has tags and a summary`);
      }
    }
    const routes = srv.app.apiRoutes.filter((x) => /^\/api\/v1\/(packs|results|carves|settings)/.test(x.url));
    assert.ok(routes.length >= 22);
    assert.ok(routes.every((x) => x.permission !== undefined && x.permission !== 'public'), 'every route declares a permission');
  });
});
