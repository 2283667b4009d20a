/**
 * SQL validation against the osquery schema (issue #4) and the schema itself for autocomplete.
 * Errors block saving or running a query; warnings (platforms, evented tables) do not.
 */
import Type from 'typebox';
import { EcsMapping } from './ecs.js';

export const SqlPosition = Type.Object({
  offset: Type.Integer({ minimum: 0, description: '0-based character offset into the SQL' }),
  line: Type.Integer({ minimum: 1 }),
  column: Type.Integer({ minimum: 1 }),
});

export const SqlIssue = Type.Object({
  severity: Type.Union([Type.Literal('error'), Type.Literal('warning')]),
  code: Type.String({
    description: 'Stable code: syntax_error, unknown_table, unknown_column, ambiguous_column, missing_required_constraint, not_a_query, table_platform, column_platform, evented_table, double_quoted_string, …; ECS: unknown_field, restricted_field, value_not_allowed, wrong_type, …',
  }),
  message: Type.String(),
  table: Type.Optional(Type.String({ description: 'osquery table concerned' })),
  column: Type.Optional(Type.String({ description: 'Column concerned' })),
  field: Type.Optional(Type.String({ description: 'ECS field concerned (mapping findings)' })),
  position: Type.Optional(SqlPosition),
});
export type SqlIssue = Type.Static<typeof SqlIssue>;

export const ValidateSqlRequest = Type.Object(
  {
    sql: Type.String({ maxLength: 100_000 }),
    platforms: Type.Optional(
      Type.Array(Type.String({ maxLength: 200 }), { maxItems: 16, description: 'Targeted platforms: darwin, linux, windows, posix, … (comma lists allowed)' }),
    ),
    ecsMapping: Type.Optional(EcsMapping),
  },
  { additionalProperties: false },
);

export const SqlValidationResult = Type.Object({
  valid: Type.Boolean({ description: 'No errors' }),
  errors: Type.Array(SqlIssue),
  warnings: Type.Array(SqlIssue),
  tables: Type.Array(Type.String(), { description: 'osquery tables the query reads' }),
  platforms: Type.Array(Type.String(), { description: 'Platforms on which every table the query reads exists' }),
  columns: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'Result columns (ECS mapping fields); null when they cannot be known' }),
});
export type SqlValidationResult = Type.Static<typeof SqlValidationResult>;

export const OsquerySchemaQuery = Type.Object({
  platform: Type.Optional(Type.Union([Type.Literal('darwin'), Type.Literal('linux'), Type.Literal('windows')], { description: 'Only tables (and columns) available on this platform' })),
});

export const OsqueryColumnSchema = Type.Object({
  name: Type.String(),
  type: Type.String({ description: 'text, integer, bigint, unsigned_bigint, double' }),
  description: Type.String(),
  hidden: Type.Boolean({ description: 'Not returned by SELECT *; name it' }),
  required: Type.Boolean({ description: 'The table needs a constraint on one of its required columns' }),
  platforms: Type.Optional(Type.Array(Type.String(), { description: 'Only on these platforms' })),
});

export const OsqueryTableSchema = Type.Object({
  name: Type.String(),
  description: Type.String(),
  platforms: Type.Array(Type.String()),
  evented: Type.Boolean({ description: 'Needs --disable_events=false and the table\'s event publisher' }),
  columns: Type.Array(OsqueryColumnSchema),
});

export const OsquerySchemaResponse = Type.Object({
  version: Type.String({ description: 'osquery version of the schema' }),
  tables: Type.Array(OsqueryTableSchema),
});
