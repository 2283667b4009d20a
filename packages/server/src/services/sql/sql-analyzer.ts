/**
 * Checks a parsed query against the osquery schema the way osquery's SQLite would see it: tables
 * and columns are resolved through aliases, `*`, CTEs and subqueries (which are not osquery
 * tables), with SQLite's lookup order (FROM sources, then result aliases, then outer queries) and
 * its quirks (an unresolved "double-quoted" name is a string literal; USING columns are not
 * ambiguous). On top of SQLite's own errors it reports what only osquery knows: tables missing on
 * the targeted platforms, evented tables, and tables whose required columns are not constrained
 * (osquery's xBestIndex refuses to list `file` without a `path` or `directory`).
 */
import type {
  ColumnExpr, Expr, FromClause, Ident, SelectCore, SelectStmt, SimpleSelect, Span, Statement, TableSource, WindowSpec,
} from './sql-ast.js';
import type { OsqueryColumn, OsquerySchema, OsqueryTable, SchemaPlatform } from './osquery-schema.js';

export type SqlIssueCode =
  | 'syntax_error'
  | 'empty_query'
  | 'not_a_query'
  | 'multiple_statements'
  | 'unknown_table'
  | 'unknown_column'
  | 'ambiguous_column'
  | 'double_quoted_string'
  | 'missing_required_constraint'
  | 'invalid_join'
  | 'column_count_mismatch'
  | 'order_by_term'
  | 'no_tables'
  | 'trigger_only'
  | 'table_platform'
  | 'column_platform'
  | 'evented_table'
  | 'unknown_platform';

export interface Finding {
  severity: 'error' | 'warning';
  code: SqlIssueCode;
  message: string;
  table?: string | undefined;
  column?: string | undefined;
  /** Character offset the finding points at. */
  offset?: number | undefined;
}

/** A column a source or a query returns. */
export interface ColInfo {
  name: string;
  /** The osquery column it passes through unchanged, if any. */
  osquery?: OsqueryColumn | undefined;
  /** Required-column checks that a constraint on this column settles. */
  reqs: Requirement[];
}

/** One use of an osquery table with required columns: settled once one of them is constrained. */
interface Requirement {
  table: OsqueryTable;
  span: Span;
  satisfied: boolean;
}

interface Source {
  /** Lower-cased name it is qualified by (alias, else table name); '' for an unnamed subquery. */
  key: string;
  /** Lower-cased column name → column; null when the columns cannot be known. */
  columns: Map<string, ColInfo> | null;
  /** What `*` returns (hidden osquery columns are not). */
  star: ColInfo[] | null;
  /** Columns merged into an earlier table by USING/NATURAL: skipped by `*`, never ambiguous. */
  coalesced: Set<string>;
  requirement?: Requirement | undefined;
  osqueryTable?: OsqueryTable | undefined;
}

interface Scope {
  sources: Source[];
  parent?: Scope | undefined;
  /** Result-column aliases, visible in WHERE, GROUP BY, HAVING and ORDER BY (SQLite extension). */
  aliases?: Map<string, ColInfo> | undefined;
}

type Ctes = ReadonlyMap<string, { columns: ColInfo[] | null }>;

/** A constraint usable by a table's xBestIndex: settles `reqs` once every source in `deps` can be listed. */
interface Term {
  reqs: Requirement[];
  deps: Set<Source>;
}

type Lookup =
  | { kind: 'found'; col: ColInfo; source: Source | undefined; scope: Scope }
  | { kind: 'any' }
  | { kind: 'missingColumn'; source: Source }
  | { kind: 'noTable' }
  | { kind: 'ambiguous'; sources: Source[] }
  | { kind: 'notFound' };

const ROWID = new Set(['rowid', 'oid', '_rowid_']);
/** Operators SQLite hands to a virtual table's xBestIndex as constraints. */
const CONSTRAINT_OPS = new Set(['=', '!=', '<', '<=', '>', '>=', 'IS', 'IS NOT']);
/** SQLite's own tables that osquery's database also has. */
const SQLITE_TABLES: ReadonlyMap<string, readonly string[]> = new Map([
  ['sqlite_master', ['type', 'name', 'tbl_name', 'rootpage', 'sql']],
  ['sqlite_schema', ['type', 'name', 'tbl_name', 'rootpage', 'sql']],
  ['sqlite_temp_master', ['type', 'name', 'tbl_name', 'rootpage', 'sql']],
  ['sqlite_temp_schema', ['type', 'name', 'tbl_name', 'rootpage', 'sql']],
]);
/** Table-valued functions built into osquery's SQLite (JSON1). */
const TABLE_FUNCTIONS: ReadonlyMap<string, readonly string[]> = new Map([
  ['json_each', ['key', 'value', 'type', 'atom', 'id', 'parent', 'fullkey', 'path']],
  ['json_tree', ['key', 'value', 'type', 'atom', 'id', 'parent', 'fullkey', 'path']],
]);

export interface AnalysisResult {
  findings: Finding[];
  /** osquery tables read, canonical names, sorted. */
  tables: string[];
  /** Result column names (of every query statement); null when they cannot be known. */
  columns: string[] | null;
}

export function analyzeStatements(sql: string, statements: readonly Statement[], schema: OsquerySchema, targets: ReadonlySet<SchemaPlatform> | undefined): AnalysisResult {
  return new Analyzer(sql, schema, targets).run(statements);
}

class Analyzer {
  private readonly findings: Finding[] = [];
  /** osquery tables read, with where each is first named. */
  private readonly tables = new Map<string, { table: OsqueryTable; span: Span }>();
  private readonly requirements: Requirement[] = [];
  private readonly warnedColumns = new Set<string>();
  /** "Did you mean" costs an edit-distance scan: offer it for the first findings only. */
  private hintsLeft = 50;

  constructor(
    private readonly sql: string,
    private readonly schema: OsquerySchema,
    private readonly targets: ReadonlySet<SchemaPlatform> | undefined,
  ) {}

  run(statements: readonly Statement[]): AnalysisResult {
    let columns: Set<string> | null = new Set();
    const queries = statements.filter((s) => s.kind === 'select');
    if (statements.length === 0) this.error('empty_query', 'the query is empty', undefined);
    for (const s of statements) {
      if (s.kind === 'other') {
        this.error('not_a_query', `osquery queries are SELECT statements; ${s.keyword} is not one`, s);
        continue;
      }
      const out = this.select(s, undefined, new Map());
      if (out === null || columns === null) columns = null;
      else for (const c of out) columns.add(c.name);
    }
    if (queries.length > 1) {
      const second = queries[1];
      this.warn('multiple_statements', `osquery runs all ${queries.length} statements and returns their rows together`, second);
    }
    for (const r of this.requirements) {
      if (r.satisfied) continue;
      const cols = r.table.required.map((c) => c.name);
      const list = cols.length === 1 ? cols[0] ?? '' : `${cols.slice(0, -1).join(', ')} or ${cols[cols.length - 1] ?? ''}`;
      this.error('missing_required_constraint',
        `${r.table.name} needs a constraint on ${list} in WHERE or a JOIN … ON (e.g. ${cols[0] ?? ''} = '…'): osquery cannot list the whole table`,
        r.span, { table: r.table.name });
    }
    this.platformFindings();
    return { findings: this.findings, tables: [...this.tables.keys()].sort(), columns: columns === null ? null : [...columns] };
  }

  // ---------------------------------------------------------------- statements

  /** The result columns of a SELECT, or null when they cannot be known. */
  private select(stmt: SelectStmt, outer: Scope | undefined, parentCtes: Ctes): ColInfo[] | null {
    const ctes = new Map(parentCtes);
    if (stmt.with !== undefined) {
      for (const cte of stmt.with.ctes) {
        const key = cte.name.name.toLowerCase();
        const declared = cte.columns.map((c): ColInfo => ({ name: c.name, reqs: [] }));
        // A recursive CTE sees itself (with its declared columns, if any) while it is analyzed.
        if (stmt.with.recursive) ctes.set(key, { columns: declared.length > 0 ? declared : null });
        const out = this.select(cte.select, outer, ctes);
        let columns = out;
        if (declared.length > 0) {
          if (out !== null && out.length !== declared.length) {
            this.error('column_count_mismatch', `table ${cte.name.name} has ${out.length} values for ${declared.length} columns`, cte.name);
          }
          columns = declared.map((d, i) => ({ name: d.name, osquery: out?.[i]?.osquery, reqs: out?.[i]?.reqs ?? [] }));
        }
        ctes.set(key, { columns });
      }
    }
    const results: Array<{ out: ColInfo[] | null; scope: Scope }> = stmt.cores.map((core) => this.core(core, outer, ctes));
    const first = results[0];
    if (first === undefined) return null;
    for (const [i, r] of results.entries()) {
      if (i === 0 || r.out === null || first.out === null || r.out.length === first.out.length) continue;
      const core = stmt.cores[i];
      this.error('column_count_mismatch', `SELECTs to the left and right of ${stmt.ops[i - 1] ?? 'UNION'} do not have the same number of result columns`, core);
    }
    if (stmt.cores.length === 1) {
      // ORDER BY sees result aliases first, then the FROM sources.
      for (const term of stmt.orderBy) this.expr(term.expr, first.scope, ctes, true);
      this.checkPositions(stmt.orderBy.map((t) => t.expr), first.out, 'ORDER BY');
    } else {
      this.compoundOrderBy(stmt, results.map((r) => r.out), outer, ctes);
    }
    const bare: Scope = { sources: [], parent: outer };
    if (stmt.limit !== undefined) this.expr(stmt.limit, bare, ctes);
    if (stmt.offset !== undefined) this.expr(stmt.offset, bare, ctes);
    return first.out;
  }

  private compoundOrderBy(stmt: SelectStmt, outs: ReadonlyArray<ColInfo[] | null>, outer: Scope | undefined, ctes: Ctes): void {
    this.checkPositions(stmt.orderBy.map((t) => t.expr), outs[0] ?? null, 'ORDER BY');
    for (const [i, term] of stmt.orderBy.entries()) {
      const e = unwrapCollate(term.expr);
      if (e.kind !== 'column' || e.table !== undefined) {
        if (e.kind !== 'literal') this.expr(e, { sources: [], parent: outer }, ctes);
        continue;
      }
      if (outs.some((o) => o === null)) continue;
      const name = e.column.name.toLowerCase();
      if (!outs.some((o) => o?.some((c) => c.name.toLowerCase() === name))) {
        this.error('order_by_term', `${ordinal(i + 1)} ORDER BY term does not match any column in the result set`, e, { column: e.column.name });
      }
    }
  }

  /** `ORDER BY 3` must name an existing result column. */
  private checkPositions(exprs: readonly Expr[], out: ColInfo[] | null, clause: string): void {
    if (out === null) return;
    for (const [i, e] of exprs.entries()) {
      if (e.kind !== 'literal' || e.type !== 'number') continue;
      const n = Number(this.sql.slice(e.start, e.end));
      if (Number.isInteger(n) && (n < 1 || n > out.length)) {
        this.error('order_by_term', `${ordinal(i + 1)} ${clause} term out of range - should be between 1 and ${out.length}`, e);
      }
    }
  }

  private core(core: SelectCore, outer: Scope | undefined, ctes: Ctes): { out: ColInfo[] | null; scope: Scope } {
    const scope: Scope = { sources: [], parent: outer };
    if (core.kind === 'values') {
      for (const row of core.rows) for (const e of row) this.expr(e, scope, ctes);
      const width = core.rows[0]?.length ?? 0;
      return { out: Array.from({ length: width }, (_, i): ColInfo => ({ name: `column${i + 1}`, reqs: [] })), scope };
    }
    const terms: Term[] = [];
    const onClauses: Expr[] = [];
    if (core.from !== undefined) this.from(core.from, scope, outer, ctes, terms, onClauses);
    for (const on of onClauses) this.expr(on, scope, ctes);
    const out = this.resultColumns(core, scope, ctes);
    const aliases = new Map<string, ColInfo>();
    core.columns.forEach((rc, i) => {
      const col = out.cols[i];
      if (rc.kind === 'expr' && rc.alias !== undefined && col !== undefined && !aliases.has(rc.alias.name.toLowerCase())) {
        aliases.set(rc.alias.name.toLowerCase(), col);
      }
    });
    const clauseScope: Scope = { ...scope, aliases };
    if (core.where !== undefined) this.expr(core.where, clauseScope, ctes);
    for (const g of core.groupBy) this.expr(g, clauseScope, ctes);
    this.checkPositions(core.groupBy, out.complete ? out.names : null, 'GROUP BY');
    if (core.having !== undefined) this.expr(core.having, clauseScope, ctes);
    for (const w of core.windows) this.windowSpec(w.spec, clauseScope, ctes);
    // Required columns: constraints from WHERE and every ON, settled to a fixpoint over joins.
    for (const on of onClauses) terms.push(...this.terms(on, scope));
    if (core.where !== undefined) terms.push(...this.terms(core.where, scope));
    settle(terms);
    return { out: out.complete ? out.names : null, scope: { ...scope, aliases } };
  }

  private resultColumns(core: SimpleSelect, scope: Scope, ctes: Ctes): { cols: Array<ColInfo | undefined>; names: ColInfo[]; complete: boolean } {
    const cols: Array<ColInfo | undefined> = [];
    const names: ColInfo[] = [];
    let complete = true;
    for (const rc of core.columns) {
      if (rc.kind === 'star') {
        cols.push(undefined);
        if (scope.sources.length === 0) this.error('no_tables', 'no tables specified for SELECT *', rc);
        for (const s of scope.sources) {
          if (s.star === null) complete = false;
          else names.push(...s.star.filter((c) => !s.coalesced.has(c.name.toLowerCase())));
        }
        continue;
      }
      if (rc.kind === 'tableStar') {
        cols.push(undefined);
        const s = scope.sources.find((x) => x.key === rc.table.name.toLowerCase());
        if (s === undefined) {
          this.error('unknown_table', `no such table: ${rc.table.name}`, rc.table, { table: rc.table.name });
          complete = false;
        } else if (s.star === null) complete = false;
        else names.push(...s.star);
        continue;
      }
      this.expr(rc.expr, scope, ctes);
      const base = this.passThrough(rc.expr, scope);
      const name = rc.alias?.name ?? base?.name ?? this.sql.slice(rc.expr.start, rc.expr.end);
      const col: ColInfo = { name, osquery: base?.osquery, reqs: base?.reqs ?? [] };
      cols.push(col);
      names.push(col);
    }
    return { cols, names, complete };
  }

  /** The source column a result expression returns unchanged (a plain column reference). */
  private passThrough(e: Expr, scope: Scope): ColInfo | undefined {
    if (e.kind !== 'column') return undefined;
    const found = this.lookup(e, scope, false);
    return found.kind === 'found' ? found.col : undefined;
  }

  // ---------------------------------------------------------------- FROM

  private from(from: FromClause, scope: Scope, outer: Scope | undefined, ctes: Ctes, terms: Term[], onClauses: Expr[]): void {
    from.items.forEach((item, i) => {
      const before = scope.sources.length;
      if (item.source.kind === 'join') this.from(item.source.from, scope, outer, ctes, terms, onClauses);
      else scope.sources.push(this.source(item.source, scope, outer, ctes));
      const constrained = item.on !== undefined || item.using !== undefined;
      if (i === 0 && constrained) {
        this.error('invalid_join', `a JOIN clause is required before ${item.on !== undefined ? 'ON' : 'USING'}`, item.source);
      }
      if (item.join?.natural === true && constrained) {
        this.error('invalid_join', 'a NATURAL join may not have an ON or USING clause', item.source);
      }
      if (item.on !== undefined) onClauses.push(item.on);
      if (item.using === undefined && item.join?.natural !== true) return;
      const added = scope.sources.slice(before);
      const left = scope.sources.slice(0, before);
      const using: Ident[] = [...(item.using ?? [])];
      if (item.join?.natural === true && !constrained) {
        for (const s of added) {
          for (const c of s.star ?? []) {
            if (left.some((l) => l.columns?.has(c.name.toLowerCase()) === true)) using.push({ name: c.name, quote: null, start: item.source.start, end: item.source.end });
          }
        }
      }
      for (const u of using) this.joinUsing(u, left, added, terms, item.using !== undefined);
    });
  }

  /** `USING (c)`: both sides must have c; each side constrains the other (osquery tables pass the value). */
  private joinUsing(u: Ident, left: readonly Source[], right: readonly Source[], terms: Term[], explicit: boolean): void {
    const key = u.name.toLowerCase();
    const l = left.find((s) => s.columns === null || s.columns.has(key));
    const r = right.find((s) => s.columns === null || s.columns.has(key));
    if (l === undefined || r === undefined) {
      if (explicit) this.error('invalid_join', `cannot join using column ${u.name} - column not present in both tables`, u, { column: u.name });
      return;
    }
    r.coalesced.add(key);
    const lc = l.columns?.get(key);
    const rc = r.columns?.get(key);
    if (lc !== undefined && lc.reqs.length > 0) terms.push({ reqs: lc.reqs, deps: new Set([r]) });
    if (rc !== undefined && rc.reqs.length > 0) terms.push({ reqs: rc.reqs, deps: new Set([l]) });
  }

  private source(ts: Exclude<TableSource, { kind: 'join' }>, scope: Scope, outer: Scope | undefined, ctes: Ctes): Source {
    if (ts.kind === 'subquery') {
      const out = this.select(ts.select, outer, ctes);
      return derived(ts.alias?.name.toLowerCase() ?? '', out);
    }
    const key = (ts.alias ?? ts.name).name.toLowerCase();
    const name = ts.name.name;
    const lname = name.toLowerCase();
    if (ts.schema !== undefined && !['main', 'temp'].includes(ts.schema.name.toLowerCase())) {
      this.error('unknown_table', `unknown database ${ts.schema.name}`, ts.schema, { table: name });
      return unknownSource(key);
    }
    if (ts.args !== undefined) {
      for (const a of ts.args) this.expr(a, scope, ctes);
      const cols = TABLE_FUNCTIONS.get(lname);
      if (cols !== undefined) return derived(key, cols.map((c) => ({ name: c, reqs: [] })));
      if (lname.startsWith('pragma_')) return unknownSource(key);
      this.error('unknown_table', `no such table-valued function: ${name}`, ts.name, { table: name });
      return unknownSource(key);
    }
    const cte = ts.schema === undefined ? ctes.get(lname) : undefined;
    if (cte !== undefined) return derived(key, cte.columns);
    const table = this.schema.table(name);
    if (table !== undefined) return this.osquerySource(key, table, ts);
    const internal = SQLITE_TABLES.get(lname);
    if (internal !== undefined) return derived(key, internal.map((c) => ({ name: c, reqs: [] })));
    const hint = this.hint(name, () => this.schema.tables.map((t) => t.name));
    this.error('unknown_table', `no such table: ${name}${hint === undefined ? '' : ` (did you mean ${hint}?)`}`, ts.name, { table: name });
    return unknownSource(key);
  }

  private osquerySource(key: string, table: OsqueryTable, span: Span): Source {
    if (!this.tables.has(table.name)) this.tables.set(table.name, { table, span });
    let requirement: Requirement | undefined;
    if (table.required.length > 0) {
      requirement = { table, span, satisfied: false };
      this.requirements.push(requirement);
    }
    const columns = new Map<string, ColInfo>();
    const star: ColInfo[] = [];
    for (const c of table.columns) {
      const info: ColInfo = { name: c.name, osquery: c, reqs: c.required && requirement !== undefined ? [requirement] : [] };
      columns.set(c.name.toLowerCase(), info);
      if (!c.hidden) star.push(info);
    }
    return { key, columns, star, coalesced: new Set(), requirement, osqueryTable: table };
  }

  // ---------------------------------------------------------------- expressions

  private expr(e: Expr, scope: Scope, ctes: Ctes, orderBy = false): void {
    switch (e.kind) {
      case 'literal':
      case 'param':
        return;
      case 'column':
        this.column(e, scope, orderBy);
        return;
      case 'unary':
        this.expr(e.operand, scope, ctes);
        return;
      case 'binary':
        this.expr(e.left, scope, ctes, orderBy);
        this.expr(e.right, scope, ctes, orderBy);
        return;
      case 'like':
        this.expr(e.left, scope, ctes);
        this.expr(e.right, scope, ctes);
        if (e.escape !== undefined) this.expr(e.escape, scope, ctes);
        return;
      case 'between':
        this.expr(e.expr, scope, ctes);
        this.expr(e.low, scope, ctes);
        this.expr(e.high, scope, ctes);
        return;
      case 'in':
        this.expr(e.expr, scope, ctes);
        for (const x of e.list ?? []) this.expr(x, scope, ctes);
        if (e.select !== undefined) this.select(e.select, scope, ctes);
        if (e.table !== undefined) {
          const t = e.table;
          this.source({ kind: 'table', schema: t.schema, name: t.name, args: t.args, start: t.name.start, end: t.name.end }, scope, scope, ctes);
        }
        return;
      case 'nulltest':
        this.expr(e.expr, scope, ctes);
        return;
      case 'function':
        if (e.name.name.toLowerCase() === 'raise' && e.name.quote === null && e.args.length === 0 && !e.star) {
          this.error('trigger_only', 'RAISE() may only be used within a trigger-program', e);
          return;
        }
        for (const a of e.args) this.expr(a, scope, ctes);
        for (const o of e.orderBy) this.expr(o.expr, scope, ctes);
        if (e.filter !== undefined) this.expr(e.filter, scope, ctes);
        if (e.over !== undefined && 'partitionBy' in e.over) this.windowSpec(e.over, scope, ctes);
        return;
      case 'cast':
        this.expr(e.expr, scope, ctes);
        return;
      case 'case':
        if (e.base !== undefined) this.expr(e.base, scope, ctes);
        for (const w of e.whens) {
          this.expr(w.when, scope, ctes);
          this.expr(w.then, scope, ctes);
        }
        if (e.else !== undefined) this.expr(e.else, scope, ctes);
        return;
      case 'exists':
      case 'subquery':
        this.select(e.select, scope, ctes);
        return;
      case 'collate':
        this.expr(e.expr, scope, ctes, orderBy);
        return;
      case 'row':
        for (const x of e.items) this.expr(x, scope, ctes);
        return;
    }
  }

  private windowSpec(w: WindowSpec, scope: Scope, ctes: Ctes): void {
    for (const x of [...w.partitionBy, ...w.orderBy.map((o) => o.expr), ...w.frame]) this.expr(x, scope, ctes);
  }

  /** Resolve a column reference and report what SQLite (or osquery) would say about it. */
  private column(e: ColumnExpr, scope: Scope, orderBy: boolean): void {
    const found = this.lookup(e, scope, orderBy);
    const written = this.sql.slice(e.start, e.end);
    switch (found.kind) {
      case 'found':
        if (found.col.osquery !== undefined) this.columnPlatform(found.col.osquery, e);
        return;
      case 'any':
        return;
      case 'noTable':
        this.error('unknown_column', `no such column: ${written} (no table or alias named ${e.table?.name ?? ''} here)`, e, { column: e.column.name });
        return;
      case 'missingColumn': {
        const t = found.source.osqueryTable;
        const hint = this.hint(e.column.name, () => [...(found.source.columns?.values() ?? [])].map((c) => c.name));
        const where = t !== undefined ? `${t.name} has no column ${e.column.name}` : `${e.table?.name ?? ''} has no column ${e.column.name}`;
        this.error('unknown_column', `no such column: ${written} (${where}${hint === undefined ? '' : `; did you mean ${hint}?`})`, e.column, { table: t?.name, column: e.column.name });
        return;
      }
      case 'ambiguous': {
        const names = found.sources.map((s) => s.key).filter((k) => k !== '');
        this.error('ambiguous_column', `ambiguous column name: ${e.column.name}${names.length > 1 ? ` (in ${names.join(' and ')}; qualify it, e.g. ${names[0] ?? ''}.${e.column.name})` : ''}`, e, { column: e.column.name });
        return;
      }
      case 'notFound': {
        if (e.table === undefined && e.column.quote === '"') {
          this.warn('double_quoted_string', `"${e.column.name}" is not a column, so SQLite reads it as the string '${e.column.name}': write strings in single quotes`, e, { column: e.column.name });
          return;
        }
        const lname = e.column.name.toLowerCase();
        if (e.table === undefined && e.column.quote === null && (lname === 'true' || lname === 'false')) return;
        const hint = this.hint(e.column.name, () => visibleColumns(scope));
        this.error('unknown_column', `no such column: ${written}${hint === undefined ? '' : ` (did you mean ${hint}?)`}`, e, { column: e.column.name });
        return;
      }
    }
  }

  /** SQLite's name lookup: FROM sources of the innermost query, its result aliases, then outer queries. */
  private lookup(e: ColumnExpr, start: Scope, aliasesFirst: boolean): Lookup {
    const col = e.column.name.toLowerCase();
    if (e.table !== undefined) {
      if (e.schema !== undefined && !['main', 'temp'].includes(e.schema.name.toLowerCase())) return { kind: 'noTable' };
      const tkey = e.table.name.toLowerCase();
      for (let s: Scope | undefined = start; s !== undefined; s = s.parent) {
        const source = s.sources.find((x) => x.key === tkey);
        if (source === undefined) continue;
        if (source.columns === null) return { kind: 'any' };
        const c = source.columns.get(col);
        if (c !== undefined) return { kind: 'found', col: c, source, scope: s };
        if (ROWID.has(col)) return { kind: 'any' };
        return { kind: 'missingColumn', source };
      }
      return { kind: 'noTable' };
    }
    for (let s: Scope | undefined = start; s !== undefined; s = s.parent) {
      const alias = s.aliases?.get(col);
      if (aliasesFirst && s === start && alias !== undefined) return { kind: 'found', col: alias, source: undefined, scope: s };
      const matches: Source[] = [];
      let unknown = false;
      for (const source of s.sources) {
        if (source.columns === null) unknown = true;
        else if (source.columns.has(col)) matches.push(source);
      }
      const distinct = matches.length > 1 ? matches.filter((m) => !m.coalesced.has(col)) : matches;
      if (distinct.length > 1) return { kind: 'ambiguous', sources: distinct };
      const only = distinct[0] ?? matches[0];
      const c = only?.columns?.get(col);
      if (only !== undefined && c !== undefined) return { kind: 'found', col: c, source: only, scope: s };
      if (unknown) return { kind: 'any' };
      if (alias !== undefined) return { kind: 'found', col: alias, source: undefined, scope: s };
      if (ROWID.has(col) && s.sources.length > 0) return { kind: 'any' };
    }
    return { kind: 'notFound' };
  }

  // ---------------------------------------------------------------- required columns

  /** Constraints in a WHERE or ON expression that osquery's planner can use (AND-ed terms; an OR only if every branch constrains). */
  private terms(e: Expr, scope: Scope): Term[] {
    switch (e.kind) {
      case 'binary':
        if (e.op === 'AND') return [...this.terms(e.left, scope), ...this.terms(e.right, scope)];
        if (e.op === 'OR') return orTerms(this.terms(e.left, scope), this.terms(e.right, scope));
        if (CONSTRAINT_OPS.has(e.op)) return [...this.term(e.left, [e.right], scope), ...this.term(e.right, [e.left], scope)];
        return [];
      case 'like':
        return e.not ? [] : this.term(e.left, [e.right], scope);
      case 'between':
        return e.not ? [] : this.term(e.expr, [e.low, e.high], scope);
      case 'in':
        return e.not ? [] : this.term(e.expr, e.list ?? [], scope);
      case 'nulltest':
        return this.term(e.expr, [], scope);
      case 'collate':
        return this.terms(e.expr, scope);
      case 'literal': case 'param': case 'column': case 'unary': case 'function': case 'cast': case 'case':
      case 'exists': case 'subquery': case 'row':
        return [];
    }
  }

  /** `column <op> value`: settles the column's requirements once the value's tables can be listed. */
  private term(side: Expr, values: readonly Expr[], scope: Scope): Term[] {
    const col = unwrapCollate(side);
    if (col.kind !== 'column') return [];
    const found = this.lookup(col, scope, false);
    if (found.kind !== 'found' || found.scope !== scope || found.col.reqs.length === 0) return [];
    const deps = new Set<Source>();
    for (const v of values) this.sourcesIn(v, scope, deps);
    if (found.source !== undefined && deps.has(found.source)) return [];
    return [{ reqs: found.col.reqs, deps }];
  }

  /** Sources of this query level that an expression reads (subqueries are evaluated on their own). */
  private sourcesIn(e: Expr, scope: Scope, out: Set<Source>): void {
    walk(e, (x) => {
      if (x.kind !== 'column') return;
      const found = this.lookup(x, scope, false);
      if (found.kind === 'found' && found.scope === scope && found.source !== undefined) out.add(found.source);
    });
  }

  // ---------------------------------------------------------------- platforms

  private columnPlatform(c: OsqueryColumn, at: Span): void {
    if (this.targets === undefined || c.platforms === undefined) return;
    const only = c.platforms;
    const missing = [...this.targets].filter((p) => !only.includes(p));
    const key = `${c.table}.${c.name}`;
    if (missing.length === 0 || this.warnedColumns.has(key)) return;
    this.warnedColumns.add(key);
    this.warn('column_platform', `column ${key} exists only on ${only.join(', ')}: osquery on ${missing.join(', ')} does not have it`, at, { table: c.table, column: c.name });
  }

  private platformFindings(): void {
    for (const { table: t, span } of this.tables.values()) {
      if (this.targets !== undefined) {
        const missing = [...this.targets].filter((p) => !t.platforms.includes(p));
        if (missing.length > 0) {
          this.warn('table_platform', `table ${t.name} is not available on ${missing.join(', ')} (osquery has it on ${t.platforms.join(', ')}): hosts there answer "no such table"`, span, { table: t.name });
        }
      }
      if (t.evented) {
        this.warn('evented_table', `${t.name} is an evented table: it returns rows only when osquery runs with --disable_events=false and the table's event publisher enabled`, span, { table: t.name });
      }
    }
  }

  // ---------------------------------------------------------------- findings

  private hint(name: string, candidates: () => Iterable<string>): string | undefined {
    if (this.hintsLeft <= 0) return undefined;
    this.hintsLeft--;
    return closest(name, candidates());
  }

  private error(code: SqlIssueCode, message: string, at: Span | undefined, extra: { table?: string | undefined; column?: string | undefined } = {}): void {
    this.findings.push({ severity: 'error', code, message, ...extra, offset: at?.start });
  }

  private warn(code: SqlIssueCode, message: string, at: Span | undefined, extra: { table?: string | undefined; column?: string | undefined } = {}): void {
    this.findings.push({ severity: 'warning', code, message, ...extra, offset: at?.start });
  }
}

function derived(key: string, cols: readonly ColInfo[] | null): Source {
  if (cols === null) return unknownSource(key);
  const columns = new Map<string, ColInfo>();
  // Duplicate names in a subquery: the first one answers (SQLite renames the others "x:1").
  for (const c of cols) if (!columns.has(c.name.toLowerCase())) columns.set(c.name.toLowerCase(), c);
  return { key, columns, star: [...cols], coalesced: new Set() };
}

function unknownSource(key: string): Source {
  return { key, columns: null, star: null, coalesced: new Set() };
}

/** Settle requirements: a term counts once every table its value reads can itself be listed. */
function settle(terms: readonly Term[]): void {
  const listable = (s: Source): boolean => s.requirement === undefined || s.requirement.satisfied;
  let open = terms.filter((t) => t.reqs.some((r) => !r.satisfied));
  for (let changed = true; changed && open.length > 0;) {
    changed = false;
    const still: Term[] = [];
    for (const t of open) {
      let ready = true;
      for (const d of t.deps) if (!listable(d)) ready = false;
      if (!ready) {
        still.push(t);
        continue;
      }
      for (const r of t.reqs) r.satisfied = true;
      changed = true;
    }
    open = still.filter((t) => t.reqs.some((r) => !r.satisfied));
  }
}

/** `a OR b` constrains a table only when both branches do (SQLite can then use either). */
function orTerms(left: readonly Term[], right: readonly Term[]): Term[] {
  const out: Term[] = [];
  for (const l of left) {
    for (const r of right) {
      const shared = l.reqs.filter((x) => r.reqs.includes(x));
      if (shared.length > 0) out.push({ reqs: shared, deps: new Set([...l.deps, ...r.deps]) });
    }
  }
  return out;
}

function unwrapCollate(e: Expr): Expr {
  return e.kind === 'collate' ? unwrapCollate(e.expr) : e;
}

/** Visit an expression tree without entering subqueries. */
function walk(e: Expr, visit: (x: Expr) => void): void {
  visit(e);
  const kids: Expr[] = [];
  switch (e.kind) {
    case 'unary': kids.push(e.operand); break;
    case 'binary': kids.push(e.left, e.right); break;
    case 'like': kids.push(e.left, e.right, ...(e.escape !== undefined ? [e.escape] : [])); break;
    case 'between': kids.push(e.expr, e.low, e.high); break;
    case 'in': kids.push(e.expr, ...(e.list ?? [])); break;
    case 'nulltest': kids.push(e.expr); break;
    case 'function': kids.push(...e.args); break;
    case 'cast': kids.push(e.expr); break;
    case 'case': kids.push(...(e.base !== undefined ? [e.base] : []), ...e.whens.flatMap((w) => [w.when, w.then]), ...(e.else !== undefined ? [e.else] : [])); break;
    case 'collate': kids.push(e.expr); break;
    case 'row': kids.push(...e.items); break;
    case 'literal': case 'param': case 'column': case 'exists': case 'subquery': break;
  }
  for (const k of kids) walk(k, visit);
}

function visibleColumns(scope: Scope): string[] {
  const names: string[] = [];
  for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
    for (const src of s.sources) for (const c of src.columns?.values() ?? []) names.push(c.name);
    for (const a of s.aliases?.keys() ?? []) names.push(a);
  }
  return names;
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : n % 10 === 1 ? 'st' : n % 10 === 2 ? 'nd' : n % 10 === 3 ? 'rd' : 'th';
  return `${n}${suffix}`;
}

/** The closest name by edit distance, if it is close enough to be a likely typo. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const target = name.toLowerCase();
  const limit = Math.max(1, Math.min(3, Math.floor(target.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = editDistance(target, c.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin >= cap) return cap;
    prev = cur;
  }
  return prev[b.length] ?? cap;
}
