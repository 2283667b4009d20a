/**
 * The validator on osquery's 306 example pack queries (../shared/osquery/packs, or the copy in
 * assets/osquery-example-packs): every query parses; exactly the queries on the tables gone from
 * 5.23.1 (alf_services, opera_extensions) report unknown tables; platform warnings follow each
 * pack's platform, and match the raw schema for every other platform too.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { OsquerySqlValidator } from './sql-validator.js';

const SHARED_PACKS = new URL('../../../../../../shared/osquery/packs/', import.meta.url);
const ASSET_PACKS = new URL('../../../assets/osquery-example-packs/', import.meta.url);
const RAW_SCHEMA = new URL('../../../../../../shared/osquery/schema-5.23.1.json', import.meta.url);

/** Every pack query; osx-attacks.conf continues lines with a backslash, which osquery removes before parsing (README). */
function packQueries(): Array<{ file: string; name: string; query: string; platform: string | undefined }> {
  const dir = existsSync(SHARED_PACKS) ? SHARED_PACKS : existsSync(ASSET_PACKS) ? ASSET_PACKS : undefined;
  if (dir === undefined) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.conf')).sort().flatMap((file) => {
    const pack = JSON.parse(readFileSync(new URL(file, dir), 'utf8').replace(/\\\n/g, '')) as { platform?: string; queries: Record<string, { query: string; platform?: string }> };
    return Object.entries(pack.queries).map(([name, q]) => ({ file, name, query: q.query, platform: q.platform ?? pack.platform }));
  });
}

const validator = new OsquerySqlValidator();
const queries = packQueries();

void describe('osquery example packs', { skip: queries.length === 0 ? 'no pack files (../shared/osquery/packs or assets/osquery-example-packs)' : false }, () => {
  void it('should parse all 306 queries', () => {
    assert.equal(queries.length, 306);
    const syntax = queries.filter((q) => validator.validate(q.query).errors.some((e) => e.code === 'syntax_error'));
    assert.deepEqual(syntax.map((q) => `${q.file}/${q.name}`), []);
  });

  void it('should report unknown tables exactly for the queries on alf_services and opera_extensions', () => {
    const unknown = queries.filter((q) => validator.validate(q.query).errors.some((e) => e.code === 'unknown_table'));
    assert.deepEqual(
      unknown.map((q) => `${q.file}/${q.name}`).sort(),
      ['incident-response.conf/alf_services', 'it-compliance.conf/alf_services', 'vuln-management.conf/opera_extensions'],
    );
    for (const q of unknown) {
      const tables = validator.validate(q.query).errors.filter((e) => e.code === 'unknown_table').map((e) => e.table);
      assert.ok(tables.every((t) => t === 'alf_services' || t === 'opera_extensions'), `${q.name}: ${tables.join(',')}`);
    }
    const otherErrors = queries.flatMap((q) => validator.validate(q.query).errors.filter((e) => e.code !== 'unknown_table').map((e) => `${q.name}: ${e.message}`));
    assert.deepEqual(otherErrors, [], 'no other errors in the example packs');
  });

  void it('should give no platform warnings when each query runs on its pack platform', () => {
    for (const q of queries) {
      const v = validator.validate(q.query, { platforms: q.platform !== undefined ? [q.platform] : undefined });
      assert.deepEqual(v.warnings.filter((w) => w.code === 'table_platform' || w.code === 'unknown_platform'), [], `${q.file}/${q.name} on ${q.platform ?? 'any'}`);
    }
  });

  void it('should warn, on every other platform, about exactly the tables the raw schema lacks there', { skip: existsSync(RAW_SCHEMA) ? false : 'no ../shared/osquery/schema-5.23.1.json' }, () => {
    const raw = JSON.parse(readFileSync(RAW_SCHEMA, 'utf8')) as Array<{ name: string; platforms: string[] }>;
    const platformsOf = new Map(raw.map((t) => [t.name, t.platforms]));
    let warned = 0;
    for (const q of queries) {
      for (const p of ['darwin', 'linux', 'windows']) {
        const v = validator.validate(q.query, { platforms: [p] });
        const expected = v.tables.filter((t) => !(platformsOf.get(t) ?? []).includes(p)).sort();
        const got = v.warnings.filter((w) => w.code === 'table_platform').map((w) => w.table ?? '').sort();
        assert.deepEqual(got, expected, `${q.file}/${q.name} on ${p}`);
        warned += got.length;
      }
    }
    assert.ok(warned > 100, `cross-platform runs warn (${warned})`);
    // osx-attacks targets darwin; on windows its launchd/kernel_extensions queries are flagged.
    const osx = queries.filter((q) => q.file === 'osx-attacks.conf');
    assert.ok(osx.every((q) => validator.validate(q.query, { platforms: ['windows'] }).warnings.some((w) => w.code === 'table_platform') || validator.validate(q.query).tables.every((t) => (platformsOf.get(t) ?? []).includes('windows'))));
  });
});
