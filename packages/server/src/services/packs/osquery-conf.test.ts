/**
 * The .conf reader against osquery's own loader rules (config.cpp `stripConfigComments`, packs.cpp
 * value parsing) and the pack rules shared by import and the API.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOsqueryPackConf, stripConfigComments } from './osquery-conf.js';
import { checkPack, platformFamilies } from './pack-rules.js';

void describe('osquery .conf packs', () => {
  void it('should strip backslash-newline pairs and whole-line # and // comments exactly as osquery does', () => {
    const text = [
      '# a hash comment',
      '  // an indented slash comment',
      '{',
      '  "queries": {',
      '    "q": {"query": "SELECT * \\',
      'FROM processes // not a comment inside a line",',
      '      "interval": "60"}',
      '  }',
      '}',
    ].join('\n');
    const stripped = stripConfigComments(text);
    assert.ok(!stripped.includes('hash comment'));
    assert.ok(!stripped.includes('an indented'));
    const parsed = parseOsqueryPackConf(text);
    assert.ok(parsed.ok, JSON.stringify(parsed));
    // The continuation joins the lines with nothing in between; the trailing // stays in the SQL.
    assert.equal(parsed.pack.queries?.[0]?.sql, 'SELECT * FROM processes // not a comment inside a line');
    assert.equal(parsed.pack.queries[0].interval, 60);
  });

  void it('should map every osquery query and pack field, accepting osquery\'s loose booleans and numeric strings', () => {
    const parsed = parseOsqueryPackConf(JSON.stringify({
      platform: 'windows,darwin',
      version: '1.4.5',
      discovery: ['SELECT 1;'],
      shard: '30',
      oncall: 'team',
      queries: {
        a: { query: 'SELECT 1;', interval: 10, snapshot: 'true', removed: 'f', denylist: 0, platform: 'posix', version: '4.0.0', shard: '5', description: 'd', value: 'v' },
        b: { query: 'SELECT 2;', snapshot: 1, removed: true, blacklist: 'false', unknown_key: 1 },
      },
    }));
    assert.ok(parsed.ok, JSON.stringify(parsed));
    const p = parsed.pack;
    assert.equal(p.platform, 'windows,darwin');
    assert.equal(p.minOsqueryVersion, '1.4.5');
    assert.deepEqual(p.discovery, ['SELECT 1;']);
    assert.equal(p.globalShard, 30);
    assert.deepEqual(p.queries?.[0], {
      name: 'a', sql: 'SELECT 1;', interval: 10, shard: 5, snapshot: true, removed: false, denylist: false,
      platform: 'posix', minOsqueryVersion: '4.0.0', description: 'd', value: 'v',
    });
    assert.deepEqual(p.queries[1], { name: 'b', sql: 'SELECT 2;', snapshot: true, removed: true, denylist: false });
    const messages = parsed.warnings.map((w) => w.message).join('\n');
    assert.match(messages, /"oncall" is not an osquery pack option/);
    assert.match(messages, /"unknown_key" is not an osquery query option/);
  });

  void it('should refuse text that is not a pack, with the reason', () => {
    const notJson = parseOsqueryPackConf('{"queries": {');
    assert.equal(notJson.ok, false);
    const noQueries = parseOsqueryPackConf('{"platform": "linux"}');
    assert.ok(!noQueries.ok && noQueries.issues[0]?.path === '/conf/queries');
    const badValues = parseOsqueryPackConf(JSON.stringify({ queries: { a: { query: 1 }, b: { query: 'x', interval: 'hourly', snapshot: 'maybe' } } }));
    assert.ok(!badValues.ok);
    assert.deepEqual(badValues.issues.map((i) => i.path).sort(), ['/conf/queries/a/query', '/conf/queries/b/interval', '/conf/queries/b/snapshot']);
    // A whole config with exactly one inline pack is read as that pack.
    const config = parseOsqueryPackConf(JSON.stringify({ options: {}, packs: { only: { queries: { q: { query: 'SELECT 1;' } } } } }));
    assert.ok(config.ok && config.pack.queries?.length === 1);
  });

  void it('should keep query names osquery accepts, including "/" and trailing spaces, and refuse reserved ones', () => {
    const ok = checkPack({ name: 'p', queries: [{ name: 'sadmind/iis_worm', sql: 'SELECT 1;' }, { name: 'Nano Defender ', sql: 'SELECT 1;' }] });
    assert.deepEqual(ok.issues, []);
    const reserved = checkPack({ name: 'p', queries: [{ name: 'query.x', sql: 'SELECT 1;' }, { name: 'x_epoch', sql: 'SELECT 1;' }] });
    assert.deepEqual(reserved.issues.map((i) => i.path), ['/queries/0/name', '/queries/1/name']);
  });

  void it('should check ECS mapping values without coercing them', () => {
    const r = checkPack({ name: 'p', queries: [{ name: 'q', sql: 'SELECT 1;', ecsMapping: { tags: { value: 'x' }, 'event.category': { value: ['process'] }, 'x.y': { value: { nested: true } }, 'a.b': { value: [] } } }] });
    assert.deepEqual(r.issues.map((i) => i.path), ['/queries/0/ecsMapping/x.y/value', '/queries/0/ecsMapping/a.b/value']);
    assert.deepEqual(r.draft.queries[0]?.ecsMapping['tags'], { value: 'x' });
  });

  void it('should map platform filters to host families for the SQL validator', () => {
    assert.equal(platformFamilies(''), undefined);
    assert.equal(platformFamilies('any'), undefined);
    assert.deepEqual(platformFamilies('windows,darwin'), ['windows', 'darwin']);
    assert.deepEqual(platformFamilies('posix'), ['linux', 'darwin', 'freebsd']);
    assert.deepEqual(platformFamilies('ubuntu'), ['linux']);
  });
});
