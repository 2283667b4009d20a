/**
 * The SQLite parser: tree shapes and error positions, then a differential test against the real
 * SQLite engine (better-sqlite3): on every corpus query, every truncation and word-drop of it,
 * every keyword used as a name, and seeded random token soup, the parser must accept exactly what
 * SQLite accepts.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { SelectStmt } from './sql-ast.js';
import { parseSql } from './sql-parser.js';
import { SqlSyntaxError, lineColumn, tokenize } from './sql-tokenizer.js';

const SHARED = new URL('../../../../../../shared/osquery/', import.meta.url);
const ASSET_PACKS = new URL('../../../assets/osquery-example-packs/', import.meta.url);

/** Pack query texts from ../shared (or the copy the packs area ships), backslash-newlines removed as osquery does. */
function packQueries(): string[] {
  const dir = existsSync(new URL('packs/', SHARED)) ? new URL('packs/', SHARED) : existsSync(ASSET_PACKS) ? ASSET_PACKS : undefined;
  if (dir === undefined) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.conf')).sort().flatMap((file) => {
    const pack = JSON.parse(readFileSync(new URL(file, dir), 'utf8').replace(/\\\n/g, '')) as { queries: Record<string, { query: string }> };
    return Object.values(pack.queries).map((q) => q.query);
  });
}

function schemaExamples(): string[] {
  const file = new URL('schema-5.23.1.json', SHARED);
  if (!existsSync(file)) return [];
  const tables = JSON.parse(readFileSync(file, 'utf8')) as Array<{ examples: string[] }>;
  return tables.flatMap((t) => t.examples);
}

function syntaxError(sql: string): SqlSyntaxError {
  try {
    parseSql(sql);
  } catch (err) {
    if (err instanceof SqlSyntaxError) return err;
    throw err;
  }
  assert.fail(`expected a syntax error for ${sql}`);
}

function firstSelect(sql: string): SelectStmt {
  const s = parseSql(sql).statements[0];
  assert.ok(s?.kind === 'select');
  return s;
}

void describe('SQLite tokenizer', () => {
  void it('should treat backslashes in strings as ordinary characters, as SQLite does', () => {
    const t = tokenize("SELECT 'C:\\' , 'it''s'");
    assert.deepEqual(t.filter((x) => x.type === 'string').map((x) => x.value), ['C:\\', "it's"]);
  });

  void it('should read quoted identifiers, blobs, numbers and parameters', () => {
    const t = tokenize('SELECT "a""b", `c`, [d e], x\'0a\', 1.5e3, .5, 0x1F, :p, ?2 FROM t');
    assert.deepEqual(t.map((x) => x.type), ['id', 'qid', 'op', 'qid', 'op', 'qid', 'op', 'blob', 'op', 'number', 'op', 'number', 'op', 'number', 'op', 'param', 'op', 'param', 'id', 'id', 'eof']);
    assert.equal(t[1]?.value, 'a"b');
    assert.equal(t[5]?.value, 'd e');
  });

  void it('should skip comments and report unrecognized tokens with their offset', () => {
    assert.equal(tokenize('SELECT 1 -- c\n/* x */ FROM t').filter((x) => x.type !== 'eof').length, 4);
    assert.throws(() => tokenize('SELECT 1abc'), (e: unknown) => e instanceof SqlSyntaxError && e.offset === 7 && /unrecognized token: "1abc"/.test(e.message));
    assert.throws(() => tokenize("SELECT 'open"), (e: unknown) => e instanceof SqlSyntaxError && e.offset === 7);
    assert.throws(() => tokenize('SELECT 1 ^ 2'), (e: unknown) => e instanceof SqlSyntaxError && e.offset === 9);
  });

  void it('should give 1-based lines and columns', () => {
    assert.deepEqual(lineColumn('SELECT\n  x FORM t', 11), { line: 2, column: 5 });
  });
});

void describe('SQLite parser', () => {
  void it('should parse joins, aliases, CTEs, subqueries and compound selects into a tree', () => {
    const s = firstSelect(`
      WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3)
      SELECT p.pid, u.username AS who, count(*) c
      FROM processes p JOIN users u USING (uid) LEFT JOIN (SELECT pid FROM listening_ports) l ON l.pid = p.pid
      WHERE p.name NOT LIKE 'k%' AND p.pid IN (SELECT x FROM n)
      GROUP BY 1 ORDER BY c DESC NULLS LAST LIMIT 5 OFFSET 1`);
    assert.equal(s.with?.recursive, true);
    assert.equal(s.with.ctes[0]?.name.name, 'n');
    const core = s.cores[0];
    assert.ok(core?.kind === 'core');
    assert.deepEqual(core.columns.map((c) => (c.kind === 'expr' ? c.alias?.name ?? null : c.kind)), [null, 'who', 'c']);
    assert.deepEqual(core.from?.items.map((i) => [i.source.kind, i.join?.type ?? null]), [['table', null], ['table', 'inner'], ['subquery', 'left']]);
    assert.deepEqual(core.from.items[1]?.using?.map((u) => u.name), ['uid']);
    assert.equal(s.orderBy[0]?.desc, true);
    assert.ok(s.limit !== undefined && s.offset !== undefined);
  });

  void it('should follow SQLite precedence: NOT below =, AND below OR is not', () => {
    const s = firstSelect('SELECT * FROM t WHERE NOT a = 1 OR b = 2 AND c = 3');
    const where = s.cores[0]?.kind === 'core' ? s.cores[0].where : undefined;
    assert.ok(where?.kind === 'binary' && where.op === 'OR');
    assert.ok(where.left.kind === 'unary' && where.left.op === 'NOT' && where.left.operand.kind === 'binary' && where.left.operand.op === '=');
    assert.ok(where.right.kind === 'binary' && where.right.op === 'AND');
  });

  void it('should accept keywords as names where SQLite does (osquery has columns named count, end, key)', () => {
    const s = firstSelect('SELECT count, end, key, value, type, action FROM t WHERE read = 1');
    const core = s.cores[0];
    assert.ok(core?.kind === 'core');
    assert.deepEqual(core.columns.map((c) => (c.kind === 'expr' && c.expr.kind === 'column' ? c.expr.column.name : '?')), ['count', 'end', 'key', 'value', 'type', 'action']);
  });

  void it('should treat WINDOW, OVER and FILTER as keywords only in context', () => {
    parseSql('SELECT window, over, filter FROM t');
    parseSql('SELECT sum(x) FILTER (WHERE y) OVER w FROM t WINDOW w AS (ORDER BY x)');
  });

  void it('should split statements and keep non-queries as such', () => {
    const p = parseSql('SELECT 1; ; INSERT INTO t VALUES (1); WITH a AS (SELECT 1) DELETE FROM t');
    assert.deepEqual(p.statements.map((s) => (s.kind === 'other' ? s.keyword : s.kind)), ['select', 'INSERT', 'DELETE']);
  });

  void it('should report syntax errors at the offending token, SQLite style', () => {
    const e = syntaxError('SELECT * FORM processes');
    assert.equal(e.offset, 9);
    assert.match(e.message, /^near "FORM": syntax error/);
    assert.match(syntaxError('SELECT * FROM processes WHERE').message, /^incomplete input/);
    assert.equal(syntaxError('SELECT a, FROM t').offset, 10);
    assert.match(syntaxError('SELECT * FROM a OUTER JOIN b').message, /unknown join type/);
  });

  void it('should refuse absurd nesting instead of overflowing the stack', () => {
    assert.match(syntaxError(`SELECT ${'('.repeat(5000)}1${')'.repeat(5000)}`).message, /nests more than/);
    assert.match(syntaxError(`SELECT ${'- '.repeat(5000)}1`).message, /nests more than/);
  });
});

void describe('parser against the real SQLite engine', () => {
  const db = new Database(':memory:');
  const SYNTAX = /syntax error|unrecognized token|incomplete input|unknown join type/;
  /** null: SQLite parses it (it may still fail later, e.g. "no such table"); undefined: not one statement; else SQLite's syntax error. */
  const sqlite = (q: string): string | null | undefined => {
    try {
      db.prepare(q);
      return null;
    } catch (err) {
      const m = err instanceof Error ? err.message : String(err);
      if (/more than one statement|no statements/.test(m)) return undefined;
      return SYNTAX.test(m) ? m : null;
    }
  };
  /** null: parsed; undefined: not a single query (SQLite's prepare takes one statement; other statements are only recognized); else the error. */
  const mine = (q: string): string | null | undefined => {
    try {
      const parsed = parseSql(q);
      return parsed.statements.length > 1 || parsed.statements.some((s) => s.kind === 'other') ? undefined : null;
    } catch (err) {
      if (err instanceof SqlSyntaxError) return err.message;
      throw err;
    }
  };
  /** A `;` with more after it (an unreadable rest counts: SQLite may fail on the first statement before it reads on). */
  const severalStatements = (q: string): boolean => {
    let tokens;
    let unreadableRest = false;
    try {
      tokens = tokenize(q);
    } catch (err) {
      if (!(err instanceof SqlSyntaxError)) throw err;
      tokens = tokenize(q.slice(0, err.offset));
      unreadableRest = true;
    }
    const all = tokens;
    return all.some((t, i) => t.type === 'op' && t.value === ';' && (unreadableRest || all.slice(i + 1).some((x) => x.type !== 'eof' && x.value !== ';')));
  };
  const mismatches: string[] = [];
  const check = (q: string): void => {
    if (severalStatements(q)) return;
    const b = mine(q);
    if (b === undefined) return;
    const a = sqlite(q);
    if (a === undefined) return;
    if ((a === null) !== (b === null)) mismatches.push(`${q}\n   sqlite: ${a ?? 'ok'}\n   parser: ${b ?? 'ok'}`);
  };
  const EDGE = [
    "SELECT * FROM a LEFT JOIN b ON a.x = b.x CROSS JOIN c", 'SELECT x FROM a INTERSECT SELECT x FROM b EXCEPT SELECT 1',
    "SELECT * FROM a WHERE x NOT GLOB 'y' AND y NOT LIKE 'z' ESCAPE '\\' AND z NOT REGEXP 'q'", "SELECT 'c:\\'",
    'SELECT * FROM a RIGHT JOIN b ON a.x = b.x FULL OUTER JOIN c USING (x)', 'SELECT x FROM a ORDER BY x NULLS LAST',
    'SELECT count(*) FILTER (WHERE a > 1) OVER (PARTITION BY b ORDER BY c ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM t',
    'SELECT count FROM yara_file', 'SELECT end, read, key FROM x', 'SELECT set FROM t', 'SELECT x window FROM t', 'VALUES (1, 2), (3, 4)',
    'SELECT * FROM t1, (t2 JOIN t3 ON t2.a = t3.a)', 'SELECT * FROM t WHERE x IN ()', 'SELECT * FROM t WHERE x IN json_each(\'[1]\')',
    'SELECT CAST(x AS UNSIGNED BIG INT), CAST(y AS VARCHAR(10)) FROM t', 'SELECT 1 = NOT 0', 'SELECT - - 1, ~1, NOT NOT 1',
    'SELECT a IS NOT DISTINCT FROM b FROM t', 'SELECT a ISNULL, a NOTNULL, a NOT NULL FROM t', "SELECT x'ABC'", 'SELECT 0x',
    'SELECT "a""b", `c`, [e f] FROM t', "SELECT a -> '$.b', a ->> '$.c' FROM t", "SELECT group_concat(x, ',' ORDER BY x) FROM t",
    'SELECT * FROM t NATURAL LEFT OUTER JOIN u', 'SELECT * FROM t OUTER LEFT JOIN u', 'SELECT * FROM t INNER OUTER JOIN u',
    'SELECT * FROM t INDEXED BY i', 'SELECT * FROM t NOT INDEXED', "SELECT * FROM t 'alias'", "SELECT 'tbl'.x FROM tbl", 'SELECT t.*, main.t.* FROM main.t',
    'SELECT x desc FROM t', 'SELECT x FROM t offset', 'SELECT x FROM t LIMIT 1, 2', 'SELECT cast FROM t', 'SELECT raise(ignore) FROM t',
    'SELECT sum(x) OVER (rows) FROM t', 'SELECT sum(x) OVER (w ORDER BY y) FROM t WINDOW w AS (PARTITION BY z)', 'SELECT current_time, true',
    'WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a', 'SELECT (SELECT 1 UNION SELECT 2)', 'SELECT * FROM t WHERE x IN (1, 2,)', 'SELECT 1 FROM t t2 t3',
  ];

  void it('should accept exactly what SQLite accepts on the corpus, its truncations and word drops', () => {
    const corpus = [...packQueries(), ...schemaExamples(), ...EDGE];
    for (const q of corpus) {
      check(q);
      const words = q.split(/(?<=\s)/);
      for (let k = 1; k < words.length; k++) check(words.slice(0, k).join(''));
      for (let k = 0; k < words.length; k++) check(words.filter((_, i) => i !== k).join(''));
    }
    assert.deepEqual(mismatches, []);
  });

  void it('should accept exactly what SQLite accepts with every keyword as a column, alias and table name', () => {
    const keywords = ('ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE BEGIN BETWEEN BY CASCADE CASE CAST CHECK ' +
      'COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP DATABASE DEFAULT DEFERRABLE DEFERRED ' +
      'DELETE DESC DETACH DISTINCT DO DROP EACH ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE EXISTS EXPLAIN FAIL FILTER FIRST FOLLOWING FOR FOREIGN FROM ' +
      'FULL GENERATED GLOB GROUP GROUPS HAVING IF IGNORE IMMEDIATE IN INDEX INDEXED INITIALLY INNER INSERT INSTEAD INTERSECT INTO IS ISNULL JOIN KEY ' +
      'LAST LEFT LIKE LIMIT MATCH MATERIALIZED NATURAL NO NOT NOTHING NOTNULL NULL NULLS OF OFFSET ON OR ORDER OTHERS OUTER OVER PARTITION PLAN ' +
      'PRAGMA PRECEDING PRIMARY QUERY RAISE RANGE RECURSIVE REFERENCES REGEXP REINDEX RELEASE RENAME REPLACE RESTRICT RETURNING RIGHT ROLLBACK ROW ' +
      'ROWS SAVEPOINT SELECT SET TABLE TEMP TEMPORARY THEN TIES TO TRANSACTION TRIGGER UNBOUNDED UNION UNIQUE UPDATE USING VACUUM VALUES VIEW ' +
      'VIRTUAL WHEN WHERE WINDOW WITH WITHOUT TRUE FALSE ROWID').split(' ');
    const templates = [
      'SELECT K FROM t', 'SELECT t.K FROM t', 'SELECT x AS K FROM t', 'SELECT x K FROM t', 'SELECT * FROM K', 'SELECT * FROM t K',
      'SELECT * FROM t WHERE K = 1', 'SELECT K(1)', 'WITH K AS (SELECT 1) SELECT 1', 'SELECT * FROM t JOIN u USING (K)', 'SELECT * FROM t ORDER BY K',
      'SELECT K.x FROM t K', 'SELECT * FROM t WHERE x IN (K)', 'SELECT x COLLATE K FROM t', 'SELECT CAST(1 AS K)', 'SELECT -K',
    ];
    for (const k of keywords) for (const t of templates) check(t.replaceAll('K', k.toLowerCase()));
    assert.deepEqual(mismatches, []);
  });

  void it('should accept exactly what SQLite accepts on seeded random token sequences', () => {
    const vocab = ['SELECT', '*', 'FROM', 't', 'u', 'x', 'WHERE', '=', '(', ')', ',', 'AND', 'OR', 'NOT', 'IN', 'LIKE', 'IS', 'NULL', '1', "'s'", 'JOIN',
      'LEFT', 'ON', 'USING', 'AS', 'GROUP', 'BY', 'ORDER', 'DESC', 'LIMIT', 'OFFSET', 'UNION', 'ALL', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END', 'BETWEEN',
      'EXISTS', '.', '+', '-', '||', 'COLLATE', 'WITH', 'VALUES', 'DISTINCT', 'HAVING', 'CAST', 'count', 'over', 'filter', 'window', 'rows', 'current',
      'ESCAPE', 'GLOB', 'NATURAL', 'CROSS', 'ISNULL', '->', '<', '"q"', '[b]', '?', 'end', 'key', 'set', 'match', 'INTERSECT', 'RECURSIVE', 'RIGHT', 'nulls', 'first'];
    const starts = ['SELECT', 'SELECT x FROM', 'SELECT * FROM t', 'SELECT x FROM t WHERE', 'WITH', 'VALUES', 'SELECT * FROM t JOIN', 'SELECT count(*)'];
    let seed = 20_260_401;
    const rnd = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 8000; i++) {
      const parts = [starts[rnd(starts.length)] ?? ''];
      for (let k = 0, len = 1 + rnd(8); k < len; k++) parts.push(vocab[rnd(vocab.length)] ?? '');
      check(parts.join(' '));
    }
    assert.deepEqual(mismatches, []);
  });
});
