/**
 * SQL validation for osquery queries (issue #4): a real SQLite parser (sql-parser.ts) and a check
 * against the osquery 5.23.1 schema (sql-analyzer.ts). Errors block saving or running a query;
 * warnings (platforms, evented tables) do not. Published as `core.hub.sqlValidator`.
 */
import type { SqlIssue, SqlValidation, SqlValidator } from '../contracts.js';
import { analyzeStatements, type Finding, type SqlIssueCode } from './sql-analyzer.js';
import { SCHEMA_PLATFORMS, osquerySchema, targetPlatforms, type OsquerySchema, type SchemaPlatform } from './osquery-schema.js';
import { parseSql } from './sql-parser.js';
import { SqlSyntaxError, lineColumnFinder } from './sql-tokenizer.js';

export interface SqlPosition {
  /** 0-based character offset. */
  offset: number;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

export interface OsquerySqlIssue extends SqlIssue {
  code: SqlIssueCode;
  position?: SqlPosition | undefined;
}

export interface OsquerySqlValidation extends SqlValidation {
  errors: OsquerySqlIssue[];
  warnings: OsquerySqlIssue[];
  /** Platforms on which every table the query reads exists. */
  platforms: SchemaPlatform[];
  /** Names of the result columns (row keys osquery returns); null when they cannot be known. */
  columns: string[] | null;
}

export interface ValidateOptions {
  /** Targeted platforms: osquery pack words (darwin, linux, windows, posix, …), comma lists allowed. */
  platforms?: readonly string[] | undefined;
}

export class OsquerySqlValidator implements SqlValidator {
  constructor(private readonly schema: OsquerySchema = osquerySchema()) {}

  validate(sql: string, opts: ValidateOptions = {}): OsquerySqlValidation {
    const { platforms: targets, unknown } = targetPlatforms(opts.platforms);
    const findings: Finding[] = unknown.map((w) => ({
      severity: 'warning' as const, code: 'unknown_platform' as const,
      message: `unknown platform ${w}: osquery understands darwin, linux, windows, posix, freebsd, any`,
    }));
    let tables: string[] = [];
    let columns: string[] | null = null;
    try {
      const parsed = parseSql(sql);
      const analysis = analyzeStatements(sql, parsed.statements, this.schema, targets);
      findings.push(...analysis.findings);
      tables = analysis.tables;
      columns = analysis.columns;
    } catch (err) {
      if (!(err instanceof SqlSyntaxError)) throw err;
      findings.push({ severity: 'error', code: 'syntax_error', message: err.message, offset: err.offset });
    }
    const at = lineColumnFinder(sql);
    const issues = findings.map((f) => issue(f, at));
    return {
      errors: issues.filter((i) => i.severity === 'error'),
      warnings: issues.filter((i) => i.severity === 'warning'),
      tables,
      platforms: SCHEMA_PLATFORMS.filter((p) => tables.every((t) => this.schema.table(t)?.platforms.includes(p) ?? true)),
      columns,
    };
  }
}

function issue(f: Finding, at: (offset: number) => { line: number; column: number }): OsquerySqlIssue {
  const out: OsquerySqlIssue = { severity: f.severity, code: f.code, message: f.message };
  if (f.table !== undefined) out.table = f.table;
  if (f.column !== undefined) out.column = f.column;
  if (f.offset !== undefined) out.position = { offset: f.offset, ...at(f.offset) };
  return out;
}
