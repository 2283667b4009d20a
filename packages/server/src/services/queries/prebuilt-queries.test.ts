/**
 * The prebuilt saved queries must pass the same checks as a user's query, with no warnings on the
 * platform they declare, and carry ECS mappings (seed 004 "Prebuilt queries").
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateEcsMapping } from '../ecs/ecs-mapping.js';
import { OsquerySqlValidator } from '../sql/sql-validator.js';
import { PREBUILT_QUERIES } from './prebuilt-queries.js';

const validator = new OsquerySqlValidator();

void describe('prebuilt saved queries', () => {
  void it('should be named <what>[_<os>]_mimir, uniquely', () => {
    const names = PREBUILT_QUERIES.map((q) => q.name);
    assert.equal(new Set(names).size, names.length);
    assert.ok(names.every((n) => /^[a-z0-9_]+_mimir$/.test(n)), names.join(', '));
    for (const n of ['users_linux_mimir', 'processes_mimir', 'listening_ports_mimir', 'installed_programs_windows_mimir']) assert.ok(names.includes(n), n);
  });

  for (const q of PREBUILT_QUERIES) {
    void it(`should validate ${q.name} cleanly on its platform, with a valid ECS mapping`, () => {
      const v = validator.validate(q.sql, { platforms: q.platform === '' ? undefined : [q.platform] });
      assert.deepEqual(v.errors, []);
      assert.deepEqual(v.warnings, []);
      if (q.platform !== '') assert.ok(v.platforms.includes(q.platform as 'linux'), `${q.name} reads tables available on ${q.platform}`);
      const ecs = validateEcsMapping(q.ecsMapping, { columns: v.columns });
      assert.deepEqual(ecs.errors, []);
      assert.ok(Object.keys(q.ecsMapping).length >= 3);
    });
  }
});
