/**
 * Saved queries (seed 004 "Save queries"): a unique name (Elastic's "ID"), description, SQL
 * (validated against the osquery schema), timeout, ECS mapping, and the defaults used when the
 * query is added to a pack. Prebuilt queries ship with Mimir and are read-only: copy one to change it.
 * This module also re-exports the SQL-validation and ECS schemas of the queries area.
 */
import Type from 'typebox';
import { Id, Page, Timestamp } from './common.js';
import { EcsMapping } from './ecs.js';
import { SqlIssue } from './sql.js';

export * from './ecs.js';
export * from './sql.js';

/** Seed 004: "The default and minimum supported value for the Timeout field is 60. The maximum … is 900." */
export const SAVED_QUERY_TIMEOUT_MIN_SECONDS = 60;
export const SAVED_QUERY_TIMEOUT_MAX_SECONDS = 900;

export const SavedQueryName = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9_-]+$',
  description: 'Unique ID: letters, digits, _ and -; packs log the query under it',
});

const Timeout = Type.Integer({
  minimum: SAVED_QUERY_TIMEOUT_MIN_SECONDS,
  maximum: SAVED_QUERY_TIMEOUT_MAX_SECONDS,
  description: 'Seconds a live run waits for hosts: 60–900, default 60 (seed 004)',
});
const Interval = Type.Integer({ minimum: 1, maximum: 604_800, description: 'Pack default: seconds between runs, 1–604800 (default 3600)' });
const MinOsqueryVersion = Type.String({ maxLength: 32, description: 'Pack default: minimum osquery version, e.g. 5.0.1; empty = any' });
const Platform = Type.String({ maxLength: 200, description: 'Pack default: osquery platform filter (darwin, linux, windows, posix, comma lists); empty = every platform' });
const Sql = Type.String({ minLength: 1, maxLength: 100_000 });
const Description = Type.String({ maxLength: 10_000 });

export const SavedQuery = Type.Object({
  id: Id,
  name: Type.String({ description: 'Unique ID' }),
  description: Type.String(),
  sql: Type.String(),
  timeout: Type.Integer(),
  ecsMapping: EcsMapping,
  interval: Type.Integer(),
  minOsqueryVersion: Type.String(),
  platform: Type.String(),
  prebuilt: Type.Boolean({ description: 'Ships with Mimir; read-only (copy it to change it)' }),
  tables: Type.Array(Type.String(), { description: 'osquery tables the SQL reads' }),
  warnings: Type.Array(SqlIssue, { description: 'SQL and ECS warnings (e.g. a table missing on the chosen platform)' }),
  errors: Type.Array(SqlIssue, { description: 'Problems found now that block running it (empty unless a schema upgrade broke the query)' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  createdBy: Type.Union([Type.String(), Type.Null()], { description: 'Email of the creator; null for prebuilt queries' }),
  updatedBy: Type.Union([Type.String(), Type.Null()]),
});
export type SavedQuery = Type.Static<typeof SavedQuery>;

export const SavedQueryList = Page(SavedQuery);

export const SavedQueryListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Free text over name, description and SQL' })),
  prebuilt: Type.Optional(Type.Boolean({ description: 'Only prebuilt (true) or only user (false) queries' })),
});

export const CreateSavedQueryRequest = Type.Object(
  {
    name: SavedQueryName,
    description: Type.Optional(Description),
    sql: Sql,
    timeout: Type.Optional(Timeout),
    ecsMapping: Type.Optional(EcsMapping),
    interval: Type.Optional(Interval),
    minOsqueryVersion: Type.Optional(MinOsqueryVersion),
    platform: Type.Optional(Platform),
  },
  { additionalProperties: false },
);
export type CreateSavedQueryRequest = Type.Static<typeof CreateSavedQueryRequest>;

export const UpdateSavedQueryRequest = Type.Object(
  {
    name: Type.Optional(SavedQueryName),
    description: Type.Optional(Description),
    sql: Type.Optional(Sql),
    timeout: Type.Optional(Timeout),
    ecsMapping: Type.Optional(EcsMapping),
    interval: Type.Optional(Interval),
    minOsqueryVersion: Type.Optional(MinOsqueryVersion),
    platform: Type.Optional(Platform),
  },
  { additionalProperties: false, description: 'Only the fields sent change' },
);
export type UpdateSavedQueryRequest = Type.Static<typeof UpdateSavedQueryRequest>;

export const CopySavedQueryRequest = Type.Object(
  { name: Type.Optional(SavedQueryName) },
  { additionalProperties: false, description: 'Name of the copy; default "<name>_copy"' },
);
