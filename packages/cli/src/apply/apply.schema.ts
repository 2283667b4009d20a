/**
 * The `mimir.yml` format of `apply` and `export`: one TypeBox schema checks the file (unknown keys
 * are errors, so a typo never silently does nothing) and gives the types. Field names and ranges are
 * the operator API's (packages/api-contract); objects are keyed by name, groups are named (not
 * numbered) in pack targets so a file works on any server.
 */
import Type from 'typebox';
import { DateFormat, SAVED_QUERY_TIMEOUT_MAX_SECONDS, SAVED_QUERY_TIMEOUT_MIN_SECONDS } from '@mimir/api-contract';

const Name = Type.String({ minLength: 1, maxLength: 255, pattern: '\\S' });
const Sql = Type.String({ minLength: 1, maxLength: 100_000 });
const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);
const EcsMapping = Type.Record(Type.String({ minLength: 1, maxLength: 256 }), Type.Object({
  field: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  value: Type.Optional(Type.Union([Scalar, Type.Array(Scalar, { maxItems: 100 })])),
}, { additionalProperties: false }));
const Interval = Type.Integer({ minimum: 1, maximum: 604_800 });
const Timeout = Type.Integer({ minimum: SAVED_QUERY_TIMEOUT_MIN_SECONDS, maximum: SAVED_QUERY_TIMEOUT_MAX_SECONDS });
const Shard = Type.Integer({ minimum: 1, maximum: 100 });
const Platform = Type.Union([Type.Literal('linux'), Type.Literal('darwin'), Type.Literal('windows'), Type.Literal('freebsd')]);
const OptionValue = Type.Union([Type.String({ maxLength: 4096 }), Type.Integer(), Type.Boolean()]);

export const QuerySpec = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }),
  sql: Sql,
  description: Type.Optional(Type.String({ maxLength: 10_000 })),
  timeout: Type.Optional(Timeout),
  interval: Type.Optional(Interval),
  platform: Type.Optional(Type.String({ maxLength: 200 })),
  minOsqueryVersion: Type.Optional(Type.String({ maxLength: 32 })),
  ecsMapping: Type.Optional(EcsMapping),
}, { additionalProperties: false });
export type QuerySpec = Type.Static<typeof QuerySpec>;

export const LabelSpec = Type.Object({
  name: Name,
  type: Type.Union([Type.Literal('dynamic'), Type.Literal('manual')]),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  query: Type.Optional(Sql),
  platforms: Type.Optional(Type.Array(Platform, { maxItems: 4, uniqueItems: true })),
}, { additionalProperties: false });
export type LabelSpec = Type.Static<typeof LabelSpec>;

export const GroupSpec = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  options: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 100 }), OptionValue)),
}, { additionalProperties: false });
export type GroupSpec = Type.Static<typeof GroupSpec>;

export const PackQuerySpec = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 255 }),
  sql: Sql,
  description: Type.Optional(Type.String({ maxLength: 10_000 })),
  interval: Type.Optional(Interval),
  snapshot: Type.Optional(Type.Boolean()),
  removed: Type.Optional(Type.Boolean()),
  platform: Type.Optional(Type.String({ maxLength: 200 })),
  minOsqueryVersion: Type.Optional(Type.String({ maxLength: 32 })),
  shard: Type.Optional(Type.Union([Shard, Type.Null()])),
  denylist: Type.Optional(Type.Boolean()),
  timeout: Type.Optional(Timeout),
  ecsMapping: Type.Optional(EcsMapping),
  value: Type.Optional(Type.String({ maxLength: 10_000 })),
}, { additionalProperties: false });
export type PackQuerySpec = Type.Static<typeof PackQuerySpec>;

export const PackTargetSpec = Type.Object({ group: Type.String({ minLength: 1 }), shard: Type.Optional(Shard) }, { additionalProperties: false });
export type PackTargetSpec = Type.Static<typeof PackTargetSpec>;

export const PackSpec = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 255, pattern: '^[^/]*\\S[^/]*$' }),
  /** A pack Mimir ships: only enabled, global, globalShard and targets may be set (its queries are read-only). */
  prebuilt: Type.Optional(Type.Boolean()),
  description: Type.Optional(Type.String({ maxLength: 10_000 })),
  enabled: Type.Optional(Type.Boolean()),
  platform: Type.Optional(Type.String({ maxLength: 200 })),
  minOsqueryVersion: Type.Optional(Type.String({ maxLength: 32 })),
  discovery: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100_000 }), { maxItems: 50 })),
  global: Type.Optional(Type.Boolean()),
  globalShard: Type.Optional(Shard),
  targets: Type.Optional(Type.Array(PackTargetSpec, { maxItems: 10_000 })),
  queries: Type.Optional(Type.Array(PackQuerySpec, { maxItems: 2000 })),
}, { additionalProperties: false });
export type PackSpec = Type.Static<typeof PackSpec>;

export const SettingsSpec = Type.Object({
  osqueryOptions: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 100 }), OptionValue)),
  display: Type.Optional(Type.Object({
    timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    dateFormat: Type.Optional(DateFormat),
  }, { additionalProperties: false })),
  retention: Type.Optional(Type.Object({
    resultRetentionDays: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 3650 }), Type.Null()])),
    liveQueryHistoryDays: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 3650 }), Type.Null()])),
  }, { additionalProperties: false })),
}, { additionalProperties: false });
export type SettingsSpec = Type.Static<typeof SettingsSpec>;

export const API_VERSION = 'mimir/v1';

export const ConfigSpec = Type.Object({
  apiVersion: Type.Optional(Type.Literal(API_VERSION)),
  groups: Type.Optional(Type.Array(GroupSpec)),
  labels: Type.Optional(Type.Array(LabelSpec)),
  queries: Type.Optional(Type.Array(QuerySpec)),
  packs: Type.Optional(Type.Array(PackSpec)),
  settings: Type.Optional(SettingsSpec),
}, { additionalProperties: false });
export type ConfigSpec = Type.Static<typeof ConfigSpec>;
