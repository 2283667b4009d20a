/**
 * The compact ECS field list in assets/: regenerated from ../shared/ecs/ecs_flat-9.4.0.yml it must
 * be byte-identical to the committed file; and the mapping rules built on it (seed 004: restricted
 * fields, allowed values).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { ecsCatalog } from './ecs-catalog.js';
import { buildCompactEcsFields, serializeCompactEcsFields } from './ecs-fields.build.js';

const FLAT = new URL('../../../../../../shared/ecs/ecs_flat-9.4.0.yml', import.meta.url);
const ASSET = new URL('../../../assets/ecs-9.4.0.json', import.meta.url);

void describe('ECS field list asset', () => {
  void it('should be what the build script generates from ecs_flat.yml', { skip: existsSync(FLAT) ? false : 'no ../shared/ecs/ecs_flat-9.4.0.yml' }, () => {
    const regenerated = serializeCompactEcsFields(buildCompactEcsFields(parse(readFileSync(FLAT, 'utf8'), { maxAliasCount: -1 }) as unknown));
    assert.equal(regenerated, readFileSync(ASSET, 'utf8'), 'run: node --import tsx packages/server/scripts/build-ecs-fields.ts');
  });

  void it('should list ECS 9.4.0 fields with types, levels, arrays and allowed values', () => {
    const ecs = ecsCatalog();
    assert.equal(ecs.version, '9.4.0');
    assert.equal(ecs.fields.length, 2605);
    assert.ok(ecs.fields.every((f) => f.level === 'core' || f.level === 'extended'));
    assert.deepEqual(ecs.field('user.name'), { name: 'user.name', type: 'keyword', level: 'core', short: 'Short name or login of the user.' });
    assert.equal(ecs.field('event.category')?.array, true);
    assert.ok(ecs.field('event.category')?.allowed?.includes('process'));
    for (const f of ['event.kind', 'event.outcome', 'event.type']) assert.ok((ecs.field(f)?.allowed?.length ?? 0) > 2, f);
  });

  void it('should refuse restricted fields: @timestamp, ecs.version, agent.*, host.*, data_stream.*, objects', () => {
    const ecs = ecsCatalog();
    for (const f of ['@timestamp', 'ecs.version', 'agent.name', 'host.name', 'host.os.platform', 'data_stream.dataset', 'labels', 'file.pe.imports', 'email.attachments', 'user.nope']) {
      assert.ok(ecs.restriction(f) !== undefined, f);
    }
    assert.match(ecs.restriction('host.name') ?? '', /Mimir sets host/);
    assert.match(ecs.restriction('labels') ?? '', /object field/);
    for (const f of ['user.name', 'process.pid', 'event.category', 'tags', 'source.ip']) assert.equal(ecs.restriction(f), undefined, f);
    assert.ok(!ecs.mappable.some((f) => f.name.startsWith('host.') || f.type === 'object'));
  });

  void it('should search mappable fields by name, in pages', () => {
    const ecs = ecsCatalog();
    const first = ecs.search('user.', undefined, 3);
    assert.equal(first.length, 3);
    assert.ok(first.every((f) => f.name.includes('user.')));
    const next = ecs.search('user.', first[2]?.name, 3);
    assert.ok((next[0]?.name ?? '') > (first[2]?.name ?? ''));
    assert.deepEqual(ecs.search('HOST.', undefined, 10).filter((f) => f.name.startsWith('host.')), []);
  });
});
