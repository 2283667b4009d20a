/**
 * The syntax tree of the SQLite statements osquery runs (sqlite.org lang_select.html,
 * lang_expr.html). Every node keeps its source span so findings can point at the query text and
 * result columns can be named the way SQLite names them (the expression's text).
 */

export interface Span {
  /** Offset of the first character. */
  start: number;
  /** Offset just past the last character. */
  end: number;
}

export interface Ident extends Span {
  /** The name without quotes, as written. */
  name: string;
  /** How it was quoted: `"x"` falls back to a string literal in SQLite when no column matches. */
  quote: '"' | '`' | '[' | "'" | null;
}

export type Expr =
  | LiteralExpr
  | ParamExpr
  | ColumnExpr
  | UnaryExpr
  | BinaryExpr
  | LikeExpr
  | BetweenExpr
  | InExpr
  | NullTestExpr
  | FunctionExpr
  | CastExpr
  | CaseExpr
  | ExistsExpr
  | SubqueryExpr
  | CollateExpr
  | RowExpr;

export interface LiteralExpr extends Span {
  kind: 'literal';
  type: 'number' | 'string' | 'blob' | 'null' | 'time';
}

export interface ParamExpr extends Span {
  kind: 'param';
}

export interface ColumnExpr extends Span {
  kind: 'column';
  schema?: Ident | undefined;
  table?: Ident | undefined;
  column: Ident;
}

export interface UnaryExpr extends Span {
  kind: 'unary';
  op: '-' | '+' | '~' | 'NOT';
  operand: Expr;
}

/** Arithmetic, comparison, `IS [NOT] [DISTINCT FROM]`, AND, OR, `||`, `->`, `->>`. */
export interface BinaryExpr extends Span {
  kind: 'binary';
  op: string;
  left: Expr;
  right: Expr;
}

export interface LikeExpr extends Span {
  kind: 'like';
  op: 'LIKE' | 'GLOB' | 'REGEXP' | 'MATCH';
  not: boolean;
  left: Expr;
  right: Expr;
  escape?: Expr | undefined;
}

export interface BetweenExpr extends Span {
  kind: 'between';
  not: boolean;
  expr: Expr;
  low: Expr;
  high: Expr;
}

export interface InExpr extends Span {
  kind: 'in';
  not: boolean;
  expr: Expr;
  /** `x IN (1, 2)`; empty for `x IN ()`. */
  list?: Expr[] | undefined;
  select?: SelectStmt | undefined;
  /** `x IN table` or `x IN table_function(args)`. */
  table?: { schema?: Ident | undefined; name: Ident; args?: Expr[] | undefined } | undefined;
}

/** `x ISNULL`, `x NOTNULL`, `x NOT NULL`. */
export interface NullTestExpr extends Span {
  kind: 'nulltest';
  not: boolean;
  expr: Expr;
}

export interface FunctionExpr extends Span {
  kind: 'function';
  name: Ident;
  args: Expr[];
  star: boolean;
  distinct: boolean;
  /** `group_concat(x, ',' ORDER BY x)` (SQLite 3.44+). */
  orderBy: OrderTerm[];
  filter?: Expr | undefined;
  over?: WindowSpec | Ident | undefined;
}

export interface CastExpr extends Span {
  kind: 'cast';
  expr: Expr;
  type: string;
}

export interface CaseExpr extends Span {
  kind: 'case';
  base?: Expr | undefined;
  whens: Array<{ when: Expr; then: Expr }>;
  else?: Expr | undefined;
}

export interface ExistsExpr extends Span {
  kind: 'exists';
  select: SelectStmt;
}

export interface SubqueryExpr extends Span {
  kind: 'subquery';
  select: SelectStmt;
}

export interface CollateExpr extends Span {
  kind: 'collate';
  expr: Expr;
  collation: Ident;
}

/** `(a, b)`: a row value; a single parenthesized expression is returned as itself. */
export interface RowExpr extends Span {
  kind: 'row';
  items: Expr[];
}

export interface OrderTerm {
  expr: Expr;
  desc: boolean;
}

export interface WindowSpec extends Span {
  base?: Ident | undefined;
  partitionBy: Expr[];
  orderBy: OrderTerm[];
  /** Expressions in the frame bounds (`5 PRECEDING`). */
  frame: Expr[];
}

export interface SelectStmt extends Span {
  kind: 'select';
  with?: WithClause | undefined;
  cores: SelectCore[];
  /** Operators between cores: `UNION`, `UNION ALL`, `INTERSECT`, `EXCEPT`. */
  ops: string[];
  orderBy: OrderTerm[];
  limit?: Expr | undefined;
  offset?: Expr | undefined;
}

export interface WithClause {
  recursive: boolean;
  ctes: Cte[];
}

export interface Cte extends Span {
  name: Ident;
  columns: Ident[];
  select: SelectStmt;
}

export type SelectCore = SimpleSelect | ValuesSelect;

export interface SimpleSelect extends Span {
  kind: 'core';
  distinct: boolean;
  columns: ResultColumn[];
  from?: FromClause | undefined;
  where?: Expr | undefined;
  groupBy: Expr[];
  having?: Expr | undefined;
  windows: Array<{ name: Ident; spec: WindowSpec }>;
}

export interface ValuesSelect extends Span {
  kind: 'values';
  rows: Expr[][];
}

export type ResultColumn =
  | ({ kind: 'star' } & Span)
  | ({ kind: 'tableStar'; schema?: Ident | undefined; table: Ident } & Span)
  | ({ kind: 'expr'; expr: Expr; alias?: Ident | undefined } & Span);

export interface FromClause extends Span {
  items: FromItem[];
}

export type JoinType = 'comma' | 'inner' | 'cross' | 'left' | 'right' | 'full';

export interface FromItem {
  source: TableSource;
  /** How this item joins the ones before it; undefined for the first. */
  join?: { type: JoinType; natural: boolean } | undefined;
  on?: Expr | undefined;
  using?: Ident[] | undefined;
}

export type TableSource =
  | ({ kind: 'table'; schema?: Ident | undefined; name: Ident; alias?: Ident | undefined; args?: Expr[] | undefined } & Span)
  | ({ kind: 'subquery'; select: SelectStmt; alias?: Ident | undefined } & Span)
  | ({ kind: 'join'; from: FromClause; alias?: Ident | undefined } & Span);

/** A statement osquery would run that is not a query (INSERT, PRAGMA, CREATE …). */
export interface OtherStatement extends Span {
  kind: 'other';
  keyword: string;
}

export type Statement = SelectStmt | OtherStatement;
