/**
 * SQL validation against the osquery 5.23.1 schema: unknown tables and columns through aliases,
 * `*`, CTEs and subqueries; required columns (file needs path or directory); platforms; evented
 * tables; SQLite's quirks (double-quoted strings, USING columns, alias lookup); positions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OsquerySqlValidator, type OsquerySqlValidation } from './sql-validator.js';

const validator = new OsquerySqlValidator();
const check = (sql: string, platforms?: string[]): OsquerySqlValidation => validator.validate(sql, { platforms });
const codes = (v: OsquerySqlValidation, severity: 'errors' | 'warnings' = 'errors'): string[] => v[severity].map((i) => i.code);

void describe('SQL validation against the osquery schema', () => {
  void it('should accept a valid query and report the tables, platforms and result columns', () => {
    const v = check('SELECT p.pid, p.name AS process, u.username FROM processes p JOIN users u ON u.uid = p.uid WHERE p.on_disk = 0');
    assert.deepEqual(v.errors, []);
    assert.deepEqual(v.warnings, []);
    assert.deepEqual(v.tables, ['processes', 'users']);
    assert.deepEqual(v.platforms, ['darwin', 'linux', 'windows']);
    assert.deepEqual(v.columns, ['pid', 'process', 'username']);
  });

  void it('should report unknown tables with a suggestion and the position', () => {
    const v = check('SELECT *\nFROM procesess');
    assert.deepEqual(codes(v), ['unknown_table']);
    assert.match(v.errors[0]?.message ?? '', /no such table: procesess \(did you mean processes\?\)/);
    assert.deepEqual(v.errors[0]?.position, { offset: 14, line: 2, column: 6 });
    assert.equal(v.errors[0].table, 'procesess');
    assert.equal(v.columns, null, 'columns of an unknown table cannot be known');
  });

  void it('should resolve columns through aliases, *, CTEs and subqueries', () => {
    assert.deepEqual(codes(check('SELECT p.nme FROM processes p')), ['unknown_column']);
    assert.deepEqual(codes(check('SELECT x.pid FROM processes p')), ['unknown_column']);
    assert.deepEqual(codes(check('SELECT pid FROM (SELECT name FROM processes) sub')), ['unknown_column']);
    assert.deepEqual(codes(check('WITH names AS (SELECT name FROM processes) SELECT name FROM names')), []);
    assert.deepEqual(codes(check('WITH names AS (SELECT name FROM processes) SELECT pid FROM names')), ['unknown_column']);
    assert.deepEqual(codes(check('WITH n(x) AS (SELECT pid FROM processes) SELECT x, n.x FROM n')), []);
    // A CTE or subquery name is not an osquery table, and it shadows one.
    assert.deepEqual(codes(check('WITH users AS (SELECT 1 AS one) SELECT one FROM users')), []);
    assert.deepEqual(check('WITH users AS (SELECT 1 AS one) SELECT one FROM users').tables, []);
    // Correlated subqueries see the outer query.
    assert.deepEqual(codes(check('SELECT name FROM processes p WHERE EXISTS (SELECT 1 FROM process_open_sockets s WHERE s.pid = p.pid)')), []);
    assert.deepEqual(codes(check('SELECT t.* FROM processes')), ['unknown_table']);
    const hint = check('SELECT nme FROM processes').errors[0]?.message ?? '';
    assert.match(hint, /no such column: nme \(did you mean name\?\)/);
  });

  void it('should know hidden columns: SELECT * leaves them out, naming them works', () => {
    const star = check('SELECT * FROM processes');
    assert.ok(star.columns !== null && !star.columns.includes('elevated_token'), 'elevated_token is hidden');
    assert.deepEqual(codes(check('SELECT pid, elevated_token FROM processes')), []);
  });

  void it('should apply SQLite lookup rules: ambiguity, USING, result aliases, double-quoted strings', () => {
    assert.deepEqual(codes(check('SELECT uid FROM processes JOIN users ON processes.uid = users.uid')), ['ambiguous_column']);
    assert.deepEqual(codes(check('SELECT uid FROM processes JOIN users USING (uid)')), []);
    assert.deepEqual(codes(check('SELECT name AS n FROM processes WHERE n LIKE \'k%\' ORDER BY n')), []);
    const dq = check('SELECT name FROM processes WHERE name = "launchd"');
    assert.deepEqual(codes(dq), []);
    assert.deepEqual(codes(dq, 'warnings'), ['double_quoted_string']);
    assert.deepEqual(codes(check('SELECT "name" FROM processes')), [], 'a double-quoted column name is a column');
    assert.deepEqual(codes(check('SELECT * FROM processes JOIN users USING (nosuch)')), ['invalid_join']);
    assert.deepEqual(codes(check('SELECT name, pid FROM processes UNION SELECT username FROM users')), ['column_count_mismatch']);
    assert.deepEqual(codes(check('SELECT name FROM processes ORDER BY 2')), ['order_by_term']);
  });

  void it('should require a constraint on a required column (file needs path or directory)', () => {
    const missing = check('SELECT * FROM file');
    assert.deepEqual(codes(missing), ['missing_required_constraint']);
    assert.match(missing.errors[0]?.message ?? '', /file needs a constraint on path or directory/);
    assert.equal(missing.errors[0]?.table, 'file');
    for (const ok of [
      "SELECT * FROM file WHERE path = '/etc/hosts'",
      "SELECT * FROM file WHERE directory = '/etc'",
      "SELECT * FROM file WHERE path LIKE '/etc/%' AND size > 0",
      "SELECT * FROM file WHERE path IN ('/etc/hosts', '/etc/passwd')",
      "SELECT * FROM file WHERE path = '/a' OR directory = '/b'",
      'SELECT f.* FROM users u JOIN file f ON f.directory = u.directory',
      "SELECT * FROM file JOIN hash USING (path) WHERE file.directory = '/etc'",
      "SELECT * FROM hash WHERE path IN (SELECT path FROM file WHERE directory = '/bin')",
      "SELECT * FROM (SELECT * FROM file) f WHERE f.path = '/etc/hosts'",
      "WITH f AS (SELECT path, mode FROM file) SELECT * FROM f WHERE path LIKE '/etc/%'",
      "SELECT * FROM users u WHERE EXISTS (SELECT 1 FROM file WHERE path = u.directory || '/.ssh')",
    ]) assert.deepEqual(codes(check(ok)), [], ok);
    for (const bad of [
      "SELECT * FROM file WHERE path = '/etc' OR size > 1",
      "SELECT * FROM file WHERE path NOT LIKE '/etc/%'",
      'SELECT * FROM file JOIN hash USING (path)',
      'SELECT * FROM (SELECT * FROM file) f',
    ]) assert.ok(codes(check(bad)).includes('missing_required_constraint'), bad);
    assert.equal(check('SELECT * FROM file JOIN hash USING (path)').errors.length, 2, 'each table without a constraint is reported');
  });

  void it('should warn about tables and columns missing on the targeted platforms', () => {
    const apps = check('SELECT name FROM apps', ['linux', 'windows']);
    assert.deepEqual(codes(apps), []);
    assert.deepEqual(codes(apps, 'warnings'), ['table_platform']);
    assert.match(apps.warnings[0]?.message ?? '', /apps is not available on linux, windows/);
    assert.deepEqual(apps.platforms, ['darwin']);
    assert.deepEqual(codes(check('SELECT name FROM apps', ['darwin']), 'warnings'), []);
    // osquery's pack vocabulary: posix = darwin + linux, comma lists, win32/cygwin are Windows.
    assert.deepEqual(codes(check('SELECT * FROM deb_packages', ['posix']), 'warnings'), ['table_platform']);
    assert.deepEqual(codes(check('SELECT * FROM programs', ['windows,darwin']), 'warnings'), ['table_platform']);
    assert.deepEqual(codes(check('SELECT * FROM programs', ['win32']), 'warnings'), []);
    assert.deepEqual(codes(check('SELECT * FROM programs', ['any']), 'warnings'), ['table_platform']);
    assert.deepEqual(codes(check('SELECT * FROM programs', ['plan9']), 'warnings'), ['unknown_platform']);
    // Columns that exist on some platforms only (win32/cygwin in the schema are Windows).
    const col = check('SELECT pid, cgroup_path FROM processes', ['windows']);
    assert.deepEqual(codes(col, 'warnings'), ['column_platform']);
    assert.equal(col.warnings[0]?.column, 'cgroup_path');
    assert.deepEqual(codes(check('SELECT pid, elevated_token FROM processes', ['windows'])), []);
  });

  void it('should warn that evented tables need the events framework', () => {
    const v = check('SELECT pid, path FROM process_events', ['linux']);
    assert.deepEqual(codes(v), []);
    assert.deepEqual(codes(v, 'warnings'), ['evented_table']);
    assert.match(v.warnings[0]?.message ?? '', /--disable_events=false/);
  });

  void it('should report syntax errors with their position and refuse statements that are not queries', () => {
    const v = check('SELECT pid\nFROM processes\nWHERE name = = 1');
    assert.deepEqual(codes(v), ['syntax_error']);
    assert.deepEqual(v.errors[0]?.position, { offset: 39, line: 3, column: 14 });
    assert.deepEqual(v.tables, []);
    assert.deepEqual(codes(check('DELETE FROM processes')), ['not_a_query']);
    assert.deepEqual(codes(check('   -- nothing')), ['empty_query']);
    assert.deepEqual(codes(check('SELECT 1; SELECT 2'), 'warnings'), ['multiple_statements']);
  });

  void it('should implement the SqlValidator contract published on the hub', () => {
    const v = validator.validate('SELECT * FROM nope');
    assert.ok(Array.isArray(v.errors) && Array.isArray(v.warnings) && Array.isArray(v.tables));
    assert.equal(v.errors[0]?.severity, 'error');
  });
});
