/**
 * ECS mapping (seed 004 "Map result fields to ECS"): validation of each entry against ECS 9.4.0 and
 * the query's columns, and applying a mapping to a result row.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyEcsMapping, validateEcsMapping } from './ecs-mapping.js';

const columns = { columns: ['pid', 'name', 'uid', 'username', 'address', 'port'] };

void describe('applyEcsMapping', () => {
  void it('should keep the original row under osquery next to the mapped field (seed 004: map osquery.name to user.name)', () => {
    const doc = applyEcsMapping({ 'user.name': { field: 'name' } }, { name: 'root', uid: '0' });
    assert.deepEqual(doc, { user: { name: 'root' }, osquery: { name: 'root', uid: '0' } });
  });

  void it('should nest dotted fields, add static values and type values the ECS way', () => {
    const doc = applyEcsMapping(
      {
        'process.pid': { field: 'pid' },
        'process.parent.pid': { field: 'parent' },
        'process.name': { field: 'name' },
        'event.category': { value: ['process'] },
        'event.kind': { value: 'state' },
        'event.type': { value: 'info' },
        tags: { value: ['mimir', 'inventory'] },
        'server.port': { value: '443' },
      },
      { pid: '42', parent: '1', name: 'sshd' },
    );
    assert.deepEqual(doc, {
      process: { pid: 42, parent: { pid: 1 }, name: 'sshd' },
      event: { category: ['process'], kind: 'state', type: ['info'] },
      tags: ['mimir', 'inventory'],
      server: { port: 443 },
      osquery: { pid: '42', parent: '1', name: 'sshd' },
    });
  });

  void it('should skip columns the row lacks, drop empty values of typed fields and keep non-numeric text', () => {
    const doc = applyEcsMapping(
      { 'process.pid': { field: 'pid' }, 'user.name': { field: 'missing' }, 'server.ip': { field: 'address' }, 'process.exit_code': { field: 'code' } },
      { pid: '', address: '', code: 'n/a' },
    );
    assert.deepEqual(doc, { process: { exit_code: 'n/a' }, osquery: { pid: '', address: '', code: 'n/a' } });
  });

  void it('should never write through prototype keys', () => {
    const doc = applyEcsMapping({ '__proto__.polluted': { value: 'x' }, 'constructor.prototype.x': { value: 'y' } }, {});
    assert.deepEqual(doc, { osquery: {} });
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });
});

void describe('validateEcsMapping', () => {
  void it('should accept columns the query returns and static values ECS allows', () => {
    const v = validateEcsMapping({
      'process.pid': { field: 'pid' },
      'user.name': { field: 'username' },
      'event.category': { value: ['process', 'network'] },
      'event.kind': { value: 'state' },
      'source.ip': { value: '10.0.0.1' },
      'server.port': { value: 443 },
      tags: { value: ['a'] },
    }, columns);
    assert.deepEqual(v.errors, []);
    assert.deepEqual(Object.keys(v.mapping), ['process.pid', 'user.name', 'event.category', 'event.kind', 'source.ip', 'server.port', 'tags']);
  });

  void it('should list every bad entry with its field', () => {
    const v = validateEcsMapping({
      'host.name': { field: 'name' },
      '@timestamp': { value: '2026-01-01T00:00:00Z' },
      'user.nope': { field: 'name' },
      labels: { value: 'x' },
      'event.category': { value: ['process', 'bogus'] },
      'event.kind': { value: 'happening' },
      'process.pid': { value: 'forty-two' },
      'source.ip': { value: 'not-an-ip' },
      'user.name': { field: 'usrname' },
      'process.name': { field: 'NAME' },
      'event.outcome': { value: ['success'] },
      'process.title': { field: 'name', value: 'x' },
      'process.args': {},
      'process.executable': 'path',
    }, columns);
    const byField = new Map(v.errors.map((e) => [e.field, e.code]));
    assert.deepEqual(Object.fromEntries(byField), {
      'host.name': 'restricted_field',
      '@timestamp': 'restricted_field',
      'user.nope': 'unknown_field',
      labels: 'restricted_field',
      'event.category': 'value_not_allowed',
      'event.kind': 'value_not_allowed',
      'process.pid': 'wrong_type',
      'source.ip': 'wrong_type',
      'user.name': 'unknown_column',
      'process.name': 'unknown_column',
      'event.outcome': 'not_a_list_field',
      'process.title': 'invalid_entry',
      'process.args': 'invalid_entry',
      'process.executable': 'invalid_entry',
    });
    assert.equal(v.errors.length, 14);
    assert.match(v.errors.find((e) => e.field === 'process.name')?.message ?? '', /returns name, not NAME/);
    assert.match(v.errors.find((e) => e.field === 'event.category')?.message ?? '', /"bogus" is not allowed/);
    assert.deepEqual(v.mapping, {});
  });

  void it('should not check columns when the query\'s columns are unknown, and explain hidden columns', () => {
    assert.deepEqual(validateEcsMapping({ 'user.name': { field: 'anything' } }, { columns: null }).errors, []);
    const hidden = validateEcsMapping({ 'process.pid': { field: 'elevated_token' } }, { columns: ['pid'], hiddenColumns: new Map([['elevated_token', 'processes']]) });
    assert.deepEqual(hidden.errors.map((e) => e.code), ['hidden_column']);
  });

  void it('should warn when a column feeds a field with allowed values', () => {
    const v = validateEcsMapping({ 'event.kind': { field: 'name' } }, columns);
    assert.deepEqual(v.errors, []);
    assert.deepEqual(v.warnings.map((w) => w.code), ['dynamic_allowed_values']);
  });
});
