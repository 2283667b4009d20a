/**
 * The compact osquery schema in assets/: regenerated from ../shared/osquery/schema-5.23.1.json it
 * must be byte-identical to the committed file, and it must carry what the README counts.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { buildCompactOsquerySchema, serializeCompactOsquerySchema } from './osquery-schema.build.js';
import { osquerySchema } from './osquery-schema.js';

const RAW = new URL('../../../../../../shared/osquery/schema-5.23.1.json', import.meta.url);
const ASSET = new URL('../../../assets/osquery-schema-5.23.1.json', import.meta.url);

void describe('compact osquery schema asset', () => {
  void it('should be what the build script generates from the official schema', { skip: existsSync(RAW) ? false : 'no ../shared/osquery/schema-5.23.1.json' }, () => {
    const regenerated = serializeCompactOsquerySchema(buildCompactOsquerySchema(JSON.parse(readFileSync(RAW, 'utf8')) as unknown));
    assert.equal(regenerated, readFileSync(ASSET, 'utf8'), 'run: node --import tsx packages/server/scripts/build-osquery-schema.ts');
  });

  void it('should hold the 286 tables of osquery 5.23.1 with their flags', () => {
    const s = osquerySchema();
    assert.equal(s.version, '5.23.1');
    assert.equal(s.tables.length, 286);
    const columns = s.tables.flatMap((t) => t.columns);
    assert.equal(columns.length, 2624);
    assert.equal(columns.filter((c) => c.hidden).length, 171);
    assert.equal(s.tables.filter((t) => t.evented).length, 22);
    assert.equal(s.tables.filter((t) => t.required.length > 0).length, 26);
    assert.deepEqual(s.table('FILE')?.required.map((c) => c.name), ['path', 'directory'], 'names are case-insensitive');
    assert.equal(s.tables.filter((t) => t.platforms.includes('darwin')).length, 187);
    assert.equal(s.tables.filter((t) => t.platforms.includes('linux')).length, 158);
    assert.equal(s.tables.filter((t) => t.platforms.includes('windows')).length, 115);
    const seen = new Set<string>(columns.flatMap((c) => c.platforms ?? []));
    assert.deepEqual([...seen].sort(), ['darwin', 'linux', 'windows'], 'win32/cygwin folded into windows');
    assert.ok(columns.some((c) => c.platforms?.includes('windows') === true));
  });

  void it('should refuse input that is not the official schema format', () => {
    assert.throws(() => buildCompactOsquerySchema({}), /array/);
    assert.throws(() => buildCompactOsquerySchema([{ name: 't', description: '', platforms: ['beos'], evented: false, columns: [] }]), /unknown platform/);
  });
});
