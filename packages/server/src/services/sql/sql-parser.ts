/**
 * A recursive-descent parser for the SQLite statements osquery runs: SELECT with CTEs (also
 * RECURSIVE), joins of every kind SQLite accepts, subqueries, compound selects, VALUES, window
 * functions, and SQLite's whole expression grammar with its operator precedence (parse.y `%left`
 * list). It follows SQLite's own rules where they surprise: most keywords may be used as names
 * (parse.y `%fallback ID`, so `SELECT count, end FROM …` works), WINDOW/OVER/FILTER are keywords
 * only in context (sqlite3RunParser `analyze*Keyword`), and join keywords combine in any order
 * (`sqlite3JoinType`). A differential test checks it against the real SQLite engine.
 *
 * Not regular expressions: node-sql-parser's SQLite grammar was tried first and rejects valid
 * osquery SQL (columns named count/end/read, CROSS JOIN after ON, NOT GLOB, INTERSECT/EXCEPT,
 * RIGHT/FULL JOIN, NULLS LAST, FILTER, `ESCAPE '\'`), and a validator that blocks valid queries is
 * worse than none.
 */
import type {
  CaseExpr, Cte, Expr, FromClause, FromItem, FunctionExpr, Ident, InExpr, JoinType, OrderTerm, ResultColumn, SelectCore,
  SelectStmt, SimpleSelect, Statement, TableSource, WindowSpec, WithClause,
} from './sql-ast.js';
import { SqlSyntaxError, tokenize, type Token } from './sql-tokenizer.js';

/** Every SQLite keyword (sqlite.org/lang_keywords.html, 3.4x). */
const KEYWORDS: ReadonlySet<string> = new Set(
  ('ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE BEGIN BETWEEN BY CASCADE CASE ' +
    'CAST CHECK COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP ' +
    'DATABASE DEFAULT DEFERRABLE DEFERRED DELETE DESC DETACH DISTINCT DO DROP EACH ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE ' +
    'EXISTS EXPLAIN FAIL FILTER FIRST FOLLOWING FOR FOREIGN FROM FULL GENERATED GLOB GROUP GROUPS HAVING IF IGNORE IMMEDIATE ' +
    'IN INDEX INDEXED INITIALLY INNER INSERT INSTEAD INTERSECT INTO IS ISNULL JOIN KEY LAST LEFT LIKE LIMIT MATCH ' +
    'MATERIALIZED NATURAL NO NOT NOTHING NOTNULL NULL NULLS OF OFFSET ON OR ORDER OTHERS OUTER OVER PARTITION PLAN PRAGMA ' +
    'PRECEDING PRIMARY QUERY RAISE RANGE RECURSIVE REFERENCES REGEXP REINDEX RELEASE RENAME REPLACE RESTRICT RETURNING RIGHT ' +
    'ROLLBACK ROW ROWS SAVEPOINT SELECT SET TABLE TEMP TEMPORARY THEN TIES TO TRANSACTION TRIGGER UNBOUNDED UNION UNIQUE ' +
    'UPDATE USING VACUUM VALUES VIEW VIRTUAL WHEN WHERE WINDOW WITH WITHOUT').split(' '),
);

/** Keywords SQLite accepts as names where the keyword itself cannot stand (parse.y `%fallback ID`). */
const FALLBACK: ReadonlySet<string> = new Set(
  ('ABORT ACTION AFTER ANALYZE ASC ATTACH BEFORE BEGIN BY CASCADE CAST COLUMN CONFLICT DATABASE DEFERRED DESC DETACH DO ' +
    'EACH END EXCLUSIVE EXPLAIN FAIL FOR IGNORE IMMEDIATE INITIALLY INSTEAD LIKE GLOB REGEXP MATCH NO PLAN QUERY KEY OF ' +
    'OFFSET PRAGMA RAISE RECURSIVE RELEASE REPLACE RESTRICT ROW ROWS ROLLBACK SAVEPOINT TEMP TEMPORARY TRIGGER VACUUM VIEW ' +
    'VIRTUAL WITH WITHOUT NULLS FIRST LAST CURRENT FOLLOWING PARTITION PRECEDING RANGE UNBOUNDED EXCLUDE GROUPS OTHERS TIES ' +
    'GENERATED ALWAYS MATERIALIZED REINDEX RENAME CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP IF').split(' '),
);

const JOIN_KW: ReadonlySet<string> = new Set(['CROSS', 'FULL', 'INNER', 'LEFT', 'NATURAL', 'OUTER', 'RIGHT']);
const CTIME_KW: ReadonlySet<string> = new Set(['CURRENT_DATE', 'CURRENT_TIME', 'CURRENT_TIMESTAMP']);
/** Keywords only when the tokens around them say so; names otherwise. */
const CONTEXT_KW: ReadonlySet<string> = new Set(['WINDOW', 'OVER', 'FILTER']);
const WINDOW_CLAUSE_KW: ReadonlySet<string> = new Set(['PARTITION', 'RANGE', 'ROWS', 'GROUPS']);
const LIKE_OPS: ReadonlySet<string> = new Set(['LIKE', 'GLOB', 'REGEXP', 'MATCH']);
/** First words of statements that are not queries. */
const OTHER_STATEMENTS: ReadonlySet<string> = new Set([
  'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'CREATE', 'DROP', 'ALTER', 'PRAGMA', 'ATTACH', 'DETACH', 'BEGIN', 'COMMIT', 'END',
  'ROLLBACK', 'SAVEPOINT', 'RELEASE', 'ANALYZE', 'VACUUM', 'REINDEX', 'EXPLAIN',
]);

/** Deeper nesting than this is refused before the JavaScript stack is (SQLite's own limit is 1000). */
const MAX_DEPTH = 200;

export interface ParsedSql {
  statements: Statement[];
}

/** Parse SQL text; throws SqlSyntaxError (with the offset of the offending token) when SQLite would. */
export function parseSql(sql: string): ParsedSql {
  return new Parser(sql, tokenize(sql)).parseStatements();
}

class Parser {
  private pos = 0;
  private depth = 0;
  /** Token indexes of WINDOW/OVER/FILTER that act as keywords. */
  private readonly contextKeywords = new Set<number>();

  constructor(private readonly sql: string, private readonly toks: readonly Token[]) {
    this.classifyContextKeywords();
  }

  // ---------------------------------------------------------------- statements

  parseStatements(): ParsedSql {
    const statements: Statement[] = [];
    for (;;) {
      while (this.eatOp(';'));
      if (this.peek().type === 'eof') break;
      statements.push(this.parseStatement());
      if (!this.eatOp(';') && this.peek().type !== 'eof') this.fail('";" or the end of the query');
    }
    return { statements };
  }

  private parseStatement(): Statement {
    const t = this.peek();
    if (this.isOtherStatement(t)) return this.skipOtherStatement(t.start);
    if (this.atKw('WITH')) {
      // WITH … may also lead an INSERT/UPDATE/DELETE.
      const withClause = this.parseWith();
      if (this.isOtherStatement(this.peek())) return this.skipOtherStatement(t.start);
      return this.parseSelect(withClause, t.start);
    }
    return this.parseSelect();
  }

  private isOtherStatement(t: Token): boolean {
    return t.type === 'id' && OTHER_STATEMENTS.has(t.upper);
  }

  /** A statement that is not a query: skipped to its `;` (the validator reports it). */
  private skipOtherStatement(start: number): Statement {
    const first = this.next();
    let end = first.end;
    while (this.peek().type !== 'eof' && !this.atOp(';')) end = this.next().end;
    return { kind: 'other', keyword: first.upper, start, end };
  }

  // ---------------------------------------------------------------- SELECT

  private parseSelect(parsedWith?: WithClause, withStart?: number): SelectStmt {
    this.enter();
    const start = withStart ?? this.peek().start;
    let withClause = parsedWith;
    if (withClause === undefined && this.atKw('WITH')) withClause = this.parseWith();
    const cores: SelectCore[] = [this.parseCore()];
    const ops: string[] = [];
    for (;;) {
      let op: string | undefined;
      if (this.eatKw('UNION')) op = this.eatKw('ALL') ? 'UNION ALL' : 'UNION';
      else if (this.eatKw('INTERSECT')) op = 'INTERSECT';
      else if (this.eatKw('EXCEPT')) op = 'EXCEPT';
      if (op === undefined) break;
      ops.push(op);
      cores.push(this.parseCore());
    }
    let orderBy: OrderTerm[] = [];
    if (this.atKw('ORDER')) {
      this.next();
      this.expectKw('BY');
      orderBy = this.parseOrderTerms();
    }
    let limit: Expr | undefined;
    let offset: Expr | undefined;
    if (this.eatKw('LIMIT')) {
      limit = this.parseExpr();
      if (this.eatKw('OFFSET') || this.eatOp(',')) offset = this.parseExpr();
    }
    this.leave();
    return { kind: 'select', with: withClause, cores, ops, orderBy, limit, offset, start, end: this.prevEnd() };
  }

  private parseWith(): WithClause {
    this.expectKw('WITH');
    const recursive = this.eatKw('RECURSIVE');
    const ctes: Cte[] = [];
    do {
      const start = this.peek().start;
      const name = this.expectNm('a common table expression name');
      const columns: Ident[] = [];
      if (this.eatOp('(')) {
        do columns.push(this.expectNm('a column name'));
        while (this.eatOp(','));
        this.expectOp(')');
      }
      this.expectKw('AS');
      if (this.atKw('NOT') && this.atKw('MATERIALIZED', 1)) this.pos += 2;
      else this.eatKw('MATERIALIZED');
      this.expectOp('(');
      const select = this.parseSelect();
      this.expectOp(')');
      ctes.push({ name, columns, select, start, end: this.prevEnd() });
    } while (this.eatOp(','));
    return { recursive, ctes };
  }

  private parseCore(): SelectCore {
    const start = this.peek().start;
    if (this.eatKw('VALUES')) {
      const rows: Expr[][] = [];
      do {
        this.expectOp('(');
        rows.push(this.parseExprList());
        this.expectOp(')');
      } while (this.eatOp(','));
      return { kind: 'values', rows, start, end: this.prevEnd() };
    }
    this.expectKw('SELECT');
    let distinct = false;
    if (this.eatKw('DISTINCT')) distinct = true;
    else this.eatKw('ALL');
    const columns: ResultColumn[] = [];
    do columns.push(this.parseResultColumn());
    while (this.eatOp(','));
    const core: SimpleSelect = { kind: 'core', distinct, columns, groupBy: [], windows: [], start, end: start };
    if (this.eatKw('FROM')) core.from = this.parseFrom();
    if (this.eatKw('WHERE')) core.where = this.parseExpr();
    if (this.atKw('GROUP')) {
      this.next();
      this.expectKw('BY');
      core.groupBy = this.parseExprList();
    }
    if (this.eatKw('HAVING')) core.having = this.parseExpr();
    if (this.atKw('WINDOW')) {
      this.next();
      do {
        const name = this.expectNm('a window name');
        this.expectKw('AS');
        core.windows.push({ name, spec: this.parseWindowSpec() });
      } while (this.eatOp(','));
    }
    core.end = this.prevEnd();
    return core;
  }

  private parseResultColumn(): ResultColumn {
    const t = this.peek();
    if (this.atOp('*')) {
      this.next();
      return { kind: 'star', start: t.start, end: t.end };
    }
    if (this.isNm(t) && this.atOp('.', 1)) {
      if (this.atOp('*', 2)) {
        const table = this.ident(this.next());
        this.pos += 2;
        return { kind: 'tableStar', table, start: t.start, end: this.prevEnd() };
      }
    }
    const expr = this.parseExpr();
    const alias = this.parseAlias();
    return { kind: 'expr', expr, alias, start: t.start, end: this.prevEnd() };
  }

  /** `AS name` or a bare name (parse.y `as ::= AS nm | ids`). */
  private parseAlias(): Ident | undefined {
    if (this.eatKw('AS')) return this.expectNm('an alias');
    const t = this.peek();
    if (this.isIds(t)) return this.ident(this.next());
    return undefined;
  }

  private parseOrderTerms(): OrderTerm[] {
    const terms: OrderTerm[] = [];
    do {
      const expr = this.parseExpr();
      let desc = false;
      if (this.eatKw('DESC')) desc = true;
      else this.eatKw('ASC');
      if (this.atKw('NULLS')) {
        this.next();
        if (!this.eatKw('FIRST') && !this.eatKw('LAST')) this.fail('FIRST or LAST');
      }
      terms.push({ expr, desc });
    } while (this.eatOp(','));
    return terms;
  }

  // ---------------------------------------------------------------- FROM

  private parseFrom(): FromClause {
    const start = this.peek().start;
    const items: FromItem[] = [this.parseFromItem(undefined)];
    for (;;) {
      let join: FromItem['join'];
      if (this.eatOp(',')) join = { type: 'comma', natural: false };
      else if (this.eatKw('JOIN')) join = { type: 'inner', natural: false };
      else if (this.peek().type === 'id' && JOIN_KW.has(this.peek().upper)) join = this.parseJoinKeywords();
      if (join === undefined) break;
      items.push(this.parseFromItem(join));
    }
    return { items, start, end: this.prevEnd() };
  }

  /** `[NATURAL] LEFT [OUTER] JOIN` and friends, in any order, checked like sqlite3JoinType. */
  private parseJoinKeywords(): { type: JoinType; natural: boolean } {
    const first = this.peek();
    const words: Token[] = [];
    while (!this.atKw('JOIN')) {
      if (words.length === 3 || !this.isNm(this.peek())) this.fail('JOIN');
      words.push(this.next());
    }
    this.next();
    let natural = false;
    let left = false;
    let right = false;
    let outer = false;
    let inner = false;
    let cross = false;
    for (const w of words) {
      switch (w.type === 'id' ? w.upper : '') {
        case 'NATURAL': natural = true; break;
        case 'LEFT': left = true; outer = true; break;
        case 'RIGHT': right = true; outer = true; break;
        case 'FULL': left = true; right = true; outer = true; break;
        case 'OUTER': outer = true; break;
        case 'INNER': inner = true; break;
        case 'CROSS': inner = true; cross = true; break;
        default:
          throw new SqlSyntaxError(`unknown join type: ${words.map((x) => x.text).join(' ')} JOIN`, first.start);
      }
    }
    if ((inner && outer) || (outer && !left && !right)) {
      throw new SqlSyntaxError(`unknown join type: ${words.map((x) => x.text).join(' ')} JOIN`, first.start);
    }
    const type: JoinType = left && right ? 'full' : left ? 'left' : right ? 'right' : cross ? 'cross' : 'inner';
    return { type, natural };
  }

  private parseFromItem(join: FromItem['join']): FromItem {
    const source = this.parseTableSource();
    const item: FromItem = { source, join };
    if (this.eatKw('ON')) item.on = this.parseExpr();
    else if (this.eatKw('USING')) {
      this.expectOp('(');
      const cols: Ident[] = [];
      do cols.push(this.expectNm('a column name'));
      while (this.eatOp(','));
      this.expectOp(')');
      item.using = cols;
    }
    return item;
  }

  private parseTableSource(): TableSource {
    const t = this.peek();
    if (this.atOp('(')) {
      this.next();
      if (this.atKw('SELECT') || this.atKw('VALUES') || this.atKw('WITH')) {
        const select = this.parseSelect();
        this.expectOp(')');
        const alias = this.parseAlias();
        return { kind: 'subquery', select, alias, start: t.start, end: this.prevEnd() };
      }
      const from = this.parseFrom();
      this.expectOp(')');
      const alias = this.parseAlias();
      return { kind: 'join', from, alias, start: t.start, end: this.prevEnd() };
    }
    if (!this.isNm(t)) this.fail('a table name');
    let name = this.ident(this.next());
    let schema: Ident | undefined;
    if (this.eatOp('.')) {
      schema = name;
      name = this.expectNm('a table name');
    }
    let args: Expr[] | undefined;
    if (this.eatOp('(')) {
      args = this.atOp(')') ? [] : this.parseExprList();
      this.expectOp(')');
    }
    const alias = this.parseAlias();
    if (args === undefined) {
      if (this.atKw('INDEXED')) {
        this.next();
        this.expectKw('BY');
        this.expectNm('an index name');
      } else if (this.atKw('NOT') && this.atKw('INDEXED', 1)) {
        this.pos += 2;
      }
    }
    return { kind: 'table', schema, name, alias, args, start: t.start, end: this.prevEnd() };
  }

  // ---------------------------------------------------------------- expressions (lowest to highest precedence)

  private parseExprList(): Expr[] {
    const list: Expr[] = [];
    do list.push(this.parseExpr());
    while (this.eatOp(','));
    return list;
  }

  parseExpr(): Expr {
    this.enter();
    const e = this.parseOr();
    this.leave();
    return e;
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.eatKw('OR')) {
      const right = this.parseAnd();
      left = { kind: 'binary', op: 'OR', left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseEquality();
    while (this.eatKw('AND')) {
      const right = this.parseEquality();
      left = { kind: 'binary', op: 'AND', left, right, start: left.start, end: right.end };
    }
    return left;
  }

  /** IS, MATCH, LIKE/GLOB/REGEXP, BETWEEN, IN, ISNULL, NOTNULL, `!=`, `=`: one left-associative level. */
  private parseEquality(): Expr {
    let left = this.parseComparison();
    for (;;) {
      const t = this.peek();
      if (t.type === 'op' && (t.value === '=' || t.value === '!=')) {
        this.next();
        const right = this.parseComparison();
        left = { kind: 'binary', op: t.value, left, right, start: left.start, end: right.end };
        continue;
      }
      if (t.type !== 'id') break;
      const kw = t.upper;
      if (kw === 'IS') {
        this.next();
        let op = this.eatKw('NOT') ? 'IS NOT' : 'IS';
        if (this.eatKw('DISTINCT')) {
          this.expectKw('FROM');
          op = op === 'IS' ? 'IS DISTINCT FROM' : 'IS NOT DISTINCT FROM';
        }
        const right = this.parseComparison();
        left = { kind: 'binary', op, left, right, start: left.start, end: right.end };
        continue;
      }
      if (kw === 'ISNULL' || kw === 'NOTNULL') {
        this.next();
        left = { kind: 'nulltest', not: kw === 'NOTNULL', expr: left, start: left.start, end: t.end };
        continue;
      }
      let not = false;
      let opTok = t;
      if (kw === 'NOT') {
        const after = this.peek(1);
        if (after.type === 'id' && after.upper === 'NULL') {
          this.pos += 2;
          left = { kind: 'nulltest', not: true, expr: left, start: left.start, end: after.end };
          continue;
        }
        if (after.type !== 'id' || !(LIKE_OPS.has(after.upper) || after.upper === 'BETWEEN' || after.upper === 'IN')) break;
        not = true;
        this.next();
        opTok = after;
      }
      const op = opTok.upper;
      if (LIKE_OPS.has(op)) {
        this.next();
        const right = this.parseComparison();
        let escape: Expr | undefined;
        if (this.eatKw('ESCAPE')) escape = this.parseBitwise();
        left = { kind: 'like', op: op as 'LIKE', not, left, right, escape, start: left.start, end: this.prevEnd() };
        continue;
      }
      if (op === 'BETWEEN') {
        this.next();
        const low = this.parseComparison();
        this.expectKw('AND');
        const high = this.parseComparison();
        left = { kind: 'between', not, expr: left, low, high, start: left.start, end: high.end };
        continue;
      }
      if (op === 'IN') {
        this.next();
        left = this.parseInRest(left, not);
        continue;
      }
      break;
    }
    return left;
  }

  private parseInRest(expr: Expr, not: boolean): InExpr {
    if (this.eatOp('(')) {
      let node: InExpr;
      if (this.atOp(')')) node = { kind: 'in', not, expr, list: [], start: expr.start, end: 0 };
      else if (this.atKw('SELECT') || this.atKw('VALUES') || this.atKw('WITH')) node = { kind: 'in', not, expr, select: this.parseSelect(), start: expr.start, end: 0 };
      else node = { kind: 'in', not, expr, list: this.parseExprList(), start: expr.start, end: 0 };
      this.expectOp(')');
      node.end = this.prevEnd();
      return node;
    }
    if (!this.isNm(this.peek())) this.fail('"(" or a table name');
    let name = this.ident(this.next());
    let schema: Ident | undefined;
    if (this.eatOp('.')) {
      schema = name;
      name = this.expectNm('a table name');
    }
    let args: Expr[] | undefined;
    if (this.eatOp('(')) {
      args = this.atOp(')') ? [] : this.parseExprList();
      this.expectOp(')');
    }
    return { kind: 'in', not, expr, table: { schema, name, args }, start: expr.start, end: this.prevEnd() };
  }

  private parseComparison(): Expr {
    let left = this.parseBitwise();
    for (;;) {
      const t = this.peek();
      if (t.type !== 'op' || !(t.value === '<' || t.value === '<=' || t.value === '>' || t.value === '>=')) break;
      this.next();
      const right = this.parseBitwise();
      left = { kind: 'binary', op: t.value, left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private parseBitwise(): Expr {
    return this.parseBinaryLevel(['&', '|', '<<', '>>'], () => this.parseAdditive());
  }

  private parseAdditive(): Expr {
    return this.parseBinaryLevel(['+', '-'], () => this.parseMultiplicative());
  }

  private parseMultiplicative(): Expr {
    return this.parseBinaryLevel(['*', '/', '%'], () => this.parseConcat());
  }

  private parseConcat(): Expr {
    return this.parseBinaryLevel(['||', '->', '->>'], () => this.parseCollate());
  }

  private parseBinaryLevel(ops: readonly string[], operand: () => Expr): Expr {
    let left = operand();
    for (;;) {
      const t = this.peek();
      if (t.type !== 'op' || !ops.includes(t.value)) break;
      this.next();
      const right = operand();
      left = { kind: 'binary', op: t.value, left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private parseCollate(): Expr {
    let e = this.parseUnary();
    while (this.atKw('COLLATE')) {
      this.next();
      const t = this.peek();
      if (!this.isIds(t)) this.fail('a collation name');
      const collation = this.ident(this.next());
      e = { kind: 'collate', expr: e, collation, start: e.start, end: collation.end };
    }
    return e;
  }

  private parseUnary(): Expr {
    const t = this.peek();
    if (t.type === 'op' && (t.value === '-' || t.value === '+' || t.value === '~')) {
      this.enter();
      this.next();
      const operand = this.parseUnary();
      this.leave();
      return { kind: 'unary', op: t.value, operand, start: t.start, end: operand.end };
    }
    // A prefix NOT takes everything above its own precedence (parse.y `%right NOT`), so
    // `a = NOT b = c` is `a = NOT (b = c)` as in SQLite.
    if (this.atKw('NOT')) {
      this.enter();
      this.next();
      const operand = this.parseEquality();
      this.leave();
      return { kind: 'unary', op: 'NOT', operand, start: t.start, end: operand.end };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    switch (t.type) {
      case 'number':
        this.next();
        return { kind: 'literal', type: 'number', start: t.start, end: t.end };
      case 'blob':
        this.next();
        return { kind: 'literal', type: 'blob', start: t.start, end: t.end };
      case 'param':
        this.next();
        return { kind: 'param', start: t.start, end: t.end };
      case 'string':
        // A string may name a table in `'t'.column` (parse.y `nm ::= STRING`).
        if (this.atOp('.', 1) && this.isNm(this.peek(2))) return this.parseColumnRef();
        this.next();
        return { kind: 'literal', type: 'string', start: t.start, end: t.end };
      case 'op':
        if (t.value === '(') return this.parseParenthesized();
        return this.fail('an expression');
      case 'eof':
        return this.fail('an expression');
      case 'qid':
        return this.atOp('(', 1) ? this.parseFunction() : this.parseColumnRef();
      case 'id':
        break;
    }
    switch (t.upper) {
      case 'NULL':
        this.next();
        return { kind: 'literal', type: 'null', start: t.start, end: t.end };
      case 'CASE':
        return this.parseCase();
      case 'EXISTS': {
        this.next();
        this.expectOp('(');
        const select = this.parseSelect();
        this.expectOp(')');
        return { kind: 'exists', select, start: t.start, end: this.prevEnd() };
      }
      // Where an expression starts, CAST and RAISE are keywords, never names (no fallback applies).
      case 'CAST':
        return this.parseCast();
      case 'RAISE':
        return this.parseRaise();
      default:
        if (CTIME_KW.has(t.upper)) {
          this.next();
          return { kind: 'literal', type: 'time', start: t.start, end: t.end };
        }
    }
    if (this.atOp('(', 1) && (this.isId(t) || JOIN_KW.has(t.upper))) return this.parseFunction();
    if (this.isId(t) || JOIN_KW.has(t.upper)) return this.parseColumnRef();
    return this.fail('an expression');
  }

  private parseParenthesized(): Expr {
    const open = this.next();
    if (this.atKw('SELECT') || this.atKw('VALUES') || this.atKw('WITH')) {
      const select = this.parseSelect();
      this.expectOp(')');
      return { kind: 'subquery', select, start: open.start, end: this.prevEnd() };
    }
    const items = this.parseExprList();
    this.expectOp(')');
    const only = items[0];
    // `(x)` is x itself, spanning its parentheses (SQLite names such a result column "(x)").
    if (items.length === 1 && only !== undefined) return { ...only, start: open.start, end: this.prevEnd() };
    return { kind: 'row', items, start: open.start, end: this.prevEnd() };
  }

  /** `col`, `table.col`, `schema.table.col`. */
  private parseColumnRef(): Expr {
    const first = this.next();
    const a = this.ident(first);
    if (!this.atOp('.')) {
      if (first.type === 'string') this.fail('a column name', first);
      return { kind: 'column', column: a, start: a.start, end: a.end };
    }
    this.next();
    const b = this.expectNm('a column name');
    if (!this.atOp('.')) return { kind: 'column', table: a, column: b, start: a.start, end: b.end };
    this.next();
    const c = this.expectNm('a column name');
    return { kind: 'column', schema: a, table: b, column: c, start: a.start, end: c.end };
  }

  private parseFunction(): FunctionExpr {
    const name = this.ident(this.next());
    this.expectOp('(');
    const fn: FunctionExpr = { kind: 'function', name, args: [], star: false, distinct: false, orderBy: [], start: name.start, end: name.end };
    if (this.atOp('*') && this.atOp(')', 1)) {
      this.next();
      fn.star = true;
    } else if (!this.atOp(')')) {
      if (this.eatKw('DISTINCT')) fn.distinct = true;
      else this.eatKw('ALL');
      if (!this.atOp(')')) fn.args = this.parseExprList();
      if (this.atKw('ORDER')) {
        this.next();
        this.expectKw('BY');
        fn.orderBy = this.parseOrderTerms();
      }
    }
    this.expectOp(')');
    if (this.atKw('FILTER')) {
      this.next();
      this.expectOp('(');
      this.expectKw('WHERE');
      fn.filter = this.parseExpr();
      this.expectOp(')');
    }
    if (this.atKw('OVER')) {
      this.next();
      fn.over = this.atOp('(') ? this.parseWindowSpec() : this.expectNm('a window name');
    }
    fn.end = this.prevEnd();
    return fn;
  }

  /** `( [base] [PARTITION BY …] [ORDER BY …] [frame] )`. */
  private parseWindowSpec(): WindowSpec {
    const open = this.expectOp('(');
    const spec: WindowSpec = { partitionBy: [], orderBy: [], frame: [], start: open.start, end: open.end };
    // A base window name comes first; PARTITION, RANGE, ROWS and GROUPS there are clause keywords.
    const t = this.peek();
    if (this.isNm(t) && !(t.type === 'id' && WINDOW_CLAUSE_KW.has(t.upper))) spec.base = this.ident(this.next());
    if (this.atKw('PARTITION') && this.atKw('BY', 1)) {
      this.pos += 2;
      spec.partitionBy = this.parseExprList();
    }
    if (this.atKw('ORDER')) {
      this.next();
      this.expectKw('BY');
      spec.orderBy = this.parseOrderTerms();
    }
    if (this.atKw('RANGE') || this.atKw('ROWS') || this.atKw('GROUPS')) {
      this.next();
      if (this.eatKw('BETWEEN')) {
        this.parseFrameBound(spec);
        this.expectKw('AND');
        this.parseFrameBound(spec);
      } else {
        this.parseFrameBound(spec);
      }
      if (this.eatKw('EXCLUDE')) {
        if (this.eatKw('NO')) this.expectKw('OTHERS');
        else if (this.eatKw('CURRENT')) this.expectKw('ROW');
        else if (!this.eatKw('GROUP') && !this.eatKw('TIES')) this.fail('NO OTHERS, CURRENT ROW, GROUP or TIES');
      }
    }
    this.expectOp(')');
    spec.end = this.prevEnd();
    return spec;
  }

  private parseFrameBound(spec: WindowSpec): void {
    if (this.atKw('UNBOUNDED') && (this.atKw('PRECEDING', 1) || this.atKw('FOLLOWING', 1))) {
      this.pos += 2;
      return;
    }
    if (this.atKw('CURRENT') && this.atKw('ROW', 1)) {
      this.pos += 2;
      return;
    }
    spec.frame.push(this.parseExpr());
    if (!this.eatKw('PRECEDING') && !this.eatKw('FOLLOWING')) this.fail('PRECEDING or FOLLOWING');
  }

  private parseCase(): CaseExpr {
    const start = this.next().start;
    const node: CaseExpr = { kind: 'case', whens: [], start, end: start };
    if (!this.atKw('WHEN')) node.base = this.parseExpr();
    if (!this.atKw('WHEN')) this.fail('WHEN');
    while (this.eatKw('WHEN')) {
      const when = this.parseExpr();
      this.expectKw('THEN');
      node.whens.push({ when, then: this.parseExpr() });
    }
    if (this.eatKw('ELSE')) node.else = this.parseExpr();
    this.expectKw('END');
    node.end = this.prevEnd();
    return node;
  }

  /** `RAISE(IGNORE)`, `RAISE(ABORT, msg)`: trigger-only, parsed so the validator can say so. */
  private parseRaise(): Expr {
    const t = this.next();
    this.expectOp('(');
    if (!this.eatKw('IGNORE')) {
      if (!this.eatKw('ROLLBACK') && !this.eatKw('ABORT') && !this.eatKw('FAIL')) this.fail('IGNORE, ROLLBACK, ABORT or FAIL');
      this.expectOp(',');
      this.parseExpr();
    }
    this.expectOp(')');
    const name: Ident = { name: 'raise', quote: null, start: t.start, end: t.end };
    return { kind: 'function', name, args: [], star: false, distinct: false, orderBy: [], start: t.start, end: this.prevEnd() };
  }

  /** `CAST(expr AS type)`; the type is any run of names, optionally with `(n[, m])`. */
  private parseCast(): Expr {
    const start = this.next().start;
    this.expectOp('(');
    const expr = this.parseExpr();
    this.expectKw('AS');
    const words: string[] = [];
    while (this.isIds(this.peek())) words.push(this.next().text);
    if (this.eatOp('(')) {
      this.parseSignedNumber();
      if (this.eatOp(',')) this.parseSignedNumber();
      this.expectOp(')');
    }
    this.expectOp(')');
    return { kind: 'cast', expr, type: words.join(' '), start, end: this.prevEnd() };
  }

  private parseSignedNumber(): void {
    if (this.atOp('+') || this.atOp('-')) this.next();
    if (this.peek().type !== 'number') this.fail('a number');
    this.next();
  }

  // ---------------------------------------------------------------- tokens

  /**
   * WINDOW/OVER/FILTER are keywords only in context (sqlite3RunParser `analyzeWindowKeyword`,
   * `analyzeOverKeyword`, `analyzeFilterKeyword`); elsewhere they are ordinary names.
   */
  private classifyContextKeywords(): void {
    const nameLike = (t: Token | undefined): boolean =>
      t !== undefined && (t.type === 'qid' || t.type === 'string' ||
        (t.type === 'id' && (!KEYWORDS.has(t.upper) || FALLBACK.has(t.upper) || JOIN_KW.has(t.upper) || t.upper === 'WINDOW' || t.upper === 'OVER')));
    for (const [i, t] of this.toks.entries()) {
      if (t.type !== 'id' || !CONTEXT_KW.has(t.upper)) continue;
      const prev = this.toks[i - 1];
      const nextTok = this.toks[i + 1];
      const afterClose = prev?.type === 'op' && prev.value === ')';
      const nextIsOpen = nextTok?.type === 'op' && nextTok.value === '(';
      let keyword = false;
      if (t.upper === 'WINDOW') keyword = nameLike(nextTok) && this.toks[i + 2]?.upper === 'AS';
      else if (t.upper === 'OVER') keyword = afterClose && (nextIsOpen || nameLike(nextTok));
      else keyword = afterClose && nextIsOpen;
      if (keyword) this.contextKeywords.add(i);
    }
  }

  private peek(k = 0): Token {
    const i = Math.min(this.pos + k, this.toks.length - 1);
    const t = this.toks[i];
    if (t === undefined) throw new Error('tokenizer produced no tokens');
    return t;
  }

  private next(): Token {
    const t = this.peek();
    if (this.pos < this.toks.length - 1) this.pos++;
    return t;
  }

  private prevEnd(): number {
    return this.toks[this.pos - 1]?.end ?? 0;
  }

  /** Is the token at +k the keyword `kw` (acting as a keyword)? */
  private atKw(kw: string, k = 0): boolean {
    const t = this.peek(k);
    if (t.type !== 'id' || t.upper !== kw) return false;
    return !CONTEXT_KW.has(kw) || this.contextKeywords.has(Math.min(this.pos + k, this.toks.length - 1));
  }

  private eatKw(kw: string): boolean {
    if (!this.atKw(kw)) return false;
    this.next();
    return true;
  }

  private expectKw(kw: string): Token {
    if (!this.atKw(kw)) this.fail(kw);
    return this.next();
  }

  private atOp(op: string, k = 0): boolean {
    const t = this.peek(k);
    return t.type === 'op' && t.value === op;
  }

  private eatOp(op: string): boolean {
    if (!this.atOp(op)) return false;
    this.next();
    return true;
  }

  private expectOp(op: string): Token {
    if (!this.atOp(op)) this.fail(`"${op}"`);
    return this.next();
  }

  /** parse.y `id`: a name, a quoted name, or a keyword SQLite lets stand for a name. */
  private isId(t: Token): boolean {
    if (t.type === 'qid') return true;
    if (t.type !== 'id') return false;
    if (CONTEXT_KW.has(t.upper)) return !this.contextKeywords.has(this.toks.indexOf(t));
    return !KEYWORDS.has(t.upper) || FALLBACK.has(t.upper) || t.upper === 'INDEXED';
  }

  /** parse.y `nm`: an id, a string, or a join keyword. */
  private isNm(t: Token): boolean {
    return this.isId(t) || t.type === 'string' || (t.type === 'id' && JOIN_KW.has(t.upper));
  }

  /** parse.y `ids` (a bare alias, a type or collation name): an id or a string, but not INDEXED. */
  private isIds(t: Token): boolean {
    return (this.isId(t) && t.upper !== 'INDEXED') || t.type === 'string';
  }

  private expectNm(what: string): Ident {
    const t = this.peek();
    if (!this.isNm(t)) this.fail(what);
    return this.ident(this.next());
  }

  private ident(t: Token): Ident {
    if (t.type === 'qid') {
      const q = t.text[0];
      return { name: t.value, quote: q === '"' ? '"' : q === '`' ? '`' : '[', start: t.start, end: t.end };
    }
    if (t.type === 'string') return { name: t.value, quote: "'", start: t.start, end: t.end };
    return { name: t.text, quote: null, start: t.start, end: t.end };
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw new SqlSyntaxError(`the query nests more than ${MAX_DEPTH} levels deep`, this.peek().start);
  }

  private leave(): void {
    this.depth--;
  }

  /** SQLite's message (`near "x": syntax error`, `incomplete input`) plus what was expected. */
  private fail(expected?: string, t: Token = this.peek()): never {
    const hint = expected === undefined ? '' : `: expected ${expected}`;
    if (t.type === 'eof') throw new SqlSyntaxError(`incomplete input${hint}`, this.sql.length);
    throw new SqlSyntaxError(`near "${t.text}": syntax error${hint}`, t.start);
  }
}
