/**
 * Query packs (seed 004 "Schedule queries with packs", "Prebuilt packs", "View status of scheduled
 * packs"). A pack is served to osquery as `packs.<name>` in its config (osquery-protocol.md §3.2);
 * each query logs as `pack/<pack>/<query>` (Mimir serves `pack_delimiter` "/").
 *
 * Request bodies are checked for types here; ranges and cross-field rules are checked by the server
 * and reported together as 422 `validation_failed` with `details: [{path, message, query?}]`, so a
 * pack with five bad queries comes back with five findings instead of the first one.
 */
import Type from 'typebox';
import { Id, NullableTimestamp, Page, Timestamp } from './common.js';

const EcsScalar = Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()]);

/**
 * Elastic's ECS mapping (seed 004 "Map result fields to ECS"): ECS field → an osquery column
 * (`field`) or a static value (`value`), exactly one of the two.
 */
export const PackQueryEcsMapping = Type.Record(
  Type.String({ maxLength: 256 }),
  Type.Object(
    {
      field: Type.Optional(Type.String({ maxLength: 256, description: 'osquery result column copied into the ECS field' })),
      value: Type.Optional(Type.Union([EcsScalar, Type.Array(EcsScalar, { maxItems: 100 })], { description: 'Static value (e.g. tags, event.category)' })),
    },
    { additionalProperties: false },
  ),
  { description: 'e.g. {"user.name": {"field": "username"}, "event.category": {"value": ["process"]}}' },
);
export type PackQueryEcsMapping = Type.Static<typeof PackQueryEcsMapping>;

/**
 * The same mapping in request bodies (validated as sent, without coercion); which ECS fields exist,
 * list-ness and allowed values are checked by the server.
 */
export const PackQueryEcsMappingInput = PackQueryEcsMapping;

export const PackQuery = Type.Object({
  id: Id,
  name: Type.String({ description: 'Unique in the pack; osquery logs it as pack/<pack>/<name>' }),
  description: Type.String(),
  sql: Type.String(),
  interval: Type.Integer({ description: 'Seconds, 1–604800 (osquery drops 0 and anything larger)' }),
  snapshot: Type.Boolean({ description: 'true: every run logs all rows; false: differential added/removed' }),
  removed: Type.Boolean({ description: 'Differential only: also log removed rows' }),
  platform: Type.String({ description: 'osquery platform filter (darwin, linux, windows, posix, any, comma lists); empty = every platform' }),
  minOsqueryVersion: Type.String({ description: 'Minimum osquery version, e.g. 5.0.1; empty = any' }),
  shard: Type.Union([Type.Integer({ minimum: 1, maximum: 100 }), Type.Null()], { description: 'Percentage of hosts that run this query; null = all' }),
  denylist: Type.Boolean({ description: 'false: the osquery watchdog may not denylist this query' }),
  timeout: Type.Integer({ description: 'Seconds, 60–900 (seed 004)' }),
  ecsMapping: PackQueryEcsMapping,
  value: Type.String({ description: 'Why the query matters (osquery pack "value")' }),
});
export type PackQuery = Type.Static<typeof PackQuery>;

export const PackTarget = Type.Object({
  groupId: Id,
  groupName: Type.String(),
  shard: Type.Integer({ minimum: 1, maximum: 100, description: 'Percentage of the group\'s hosts that run the pack' }),
});
export type PackTarget = Type.Static<typeof PackTarget>;

const packFields = {
  id: Id,
  name: Type.String(),
  description: Type.String(),
  enabled: Type.Boolean({ description: 'The "Active" toggle: inactive packs are not sent to hosts' }),
  platform: Type.String(),
  minOsqueryVersion: Type.String(),
  discovery: Type.Array(Type.String(), { description: 'The pack runs on a host only when every discovery query returns a row' }),
  global: Type.Boolean({ description: 'Deployed to every group (Elastic "Global")' }),
  globalShard: Type.Integer({ minimum: 1, maximum: 100 }),
  targets: Type.Array(PackTarget, { description: 'Per-group deployment (Elastic "Policy"); empty when global' }),
  readOnly: Type.Boolean({ description: 'Prebuilt pack: queries cannot be edited; copy it to change them' }),
  prebuiltId: Type.Union([Type.String(), Type.Null()]),
  queryCount: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
};

export const PackSummary = Type.Object(packFields);
export type PackSummary = Type.Static<typeof PackSummary>;
export const Pack = Type.Object({ ...packFields, queries: Type.Array(PackQuery) });
export type Pack = Type.Static<typeof Pack>;
export const PackList = Page(PackSummary);
export type PackList = Type.Static<typeof PackList>;

export const PackListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 1024 })),
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Free text over name and description' })),
  enabled: Type.Optional(Type.Boolean()),
});

export const PackQueryInput = Type.Object(
  {
    name: Type.String({ maxLength: 255 }),
    sql: Type.String({ maxLength: 100_000 }),
    interval: Type.Optional(Type.Integer({ description: '1–604800 seconds; default 3600 (osquery --schedule_default_interval)' })),
    snapshot: Type.Optional(Type.Boolean()),
    removed: Type.Optional(Type.Boolean()),
    platform: Type.Optional(Type.String({ maxLength: 200 })),
    minOsqueryVersion: Type.Optional(Type.String({ maxLength: 32 })),
    // The range is checked by the server (422 with the other findings of the pack).
    shard: Type.Optional(Type.Union([Type.Integer(), Type.Null()], { description: 'Integer 1–100, or null for all hosts' })),
    denylist: Type.Optional(Type.Boolean()),
    timeout: Type.Optional(Type.Integer({ description: '60–900 seconds; default 60' })),
    ecsMapping: Type.Optional(PackQueryEcsMappingInput),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    value: Type.Optional(Type.String({ maxLength: 10_000 })),
  },
  { additionalProperties: false },
);
export type PackQueryInput = Type.Static<typeof PackQueryInput>;

export const PackTargetInput = Type.Object(
  { groupId: Type.Integer(), shard: Type.Optional(Type.Integer({ description: '1–100; default 100' })) },
  { additionalProperties: false },
);

const packInputFields = {
  description: Type.Optional(Type.String({ maxLength: 10_000 })),
  enabled: Type.Optional(Type.Boolean()),
  platform: Type.Optional(Type.String({ maxLength: 200 })),
  minOsqueryVersion: Type.Optional(Type.String({ maxLength: 32 })),
  discovery: Type.Optional(Type.Array(Type.String({ maxLength: 100_000 }), { maxItems: 50 })),
  global: Type.Optional(Type.Boolean({ description: 'Deploy to every group; cannot be combined with targets' })),
  globalShard: Type.Optional(Type.Integer({ description: '1–100; default 100' })),
  targets: Type.Optional(Type.Array(PackTargetInput, { maxItems: 10_000, description: 'Each group at most once (seed 004)' })),
  queries: Type.Optional(Type.Array(PackQueryInput, { maxItems: 2000 })),
};

export const CreatePackRequest = Type.Object(
  { name: Type.String({ maxLength: 255, description: 'Unique; no "/" (osquery logs pack/<name>/<query>)' }), ...packInputFields },
  { additionalProperties: false },
);
export type CreatePackRequest = Type.Static<typeof CreatePackRequest>;

/** Every field optional; `queries`, when sent, is the whole new list (matched to existing queries by name). */
export const UpdatePackRequest = Type.Object(
  { name: Type.Optional(Type.String({ maxLength: 255 })), ...packInputFields },
  { additionalProperties: false },
);
export type UpdatePackRequest = Type.Static<typeof UpdatePackRequest>;

export const PackWarning = Type.Object({
  query: Type.Union([Type.String(), Type.Null()], { description: 'Query name, or null for the whole pack' }),
  message: Type.String(),
  table: Type.Optional(Type.String()),
});
export type PackWarning = Type.Static<typeof PackWarning>;

export const PackSaved = Type.Object({ pack: Pack, warnings: Type.Array(PackWarning) });
export type PackSaved = Type.Static<typeof PackSaved>;

export const ImportPackRequest = Type.Object(
  {
    conf: Type.String({ maxLength: 1_000_000, description: 'The osquery .conf pack text, exactly as on disk' }),
    name: Type.Optional(Type.String({ maxLength: 255, description: 'Defaults to fileName without .conf' })),
    fileName: Type.Optional(Type.String({ maxLength: 255 })),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ImportPackRequest = Type.Static<typeof ImportPackRequest>;

export const CopyPackRequest = Type.Object(
  { name: Type.Optional(Type.String({ maxLength: 255, description: 'Defaults to "<name>-copy"' })) },
  { additionalProperties: false },
);

export const PrebuiltLoadResult = Type.Object({
  items: Type.Array(Type.Object({
    prebuiltId: Type.String(),
    name: Type.String(),
    packId: Type.Union([Id, Type.Null()]),
    outcome: Type.Union([Type.Literal('created'), Type.Literal('updated'), Type.Literal('unchanged'), Type.Literal('skipped')]),
    message: Type.Optional(Type.String()),
  })),
});
export type PrebuiltLoadResult = Type.Static<typeof PrebuiltLoadResult>;

export const PackExample = Type.Object({
  name: Type.String({ description: 'Use with POST /packs/examples/{name}/import' }),
  fileName: Type.String(),
  platform: Type.String(),
  minOsqueryVersion: Type.String(),
  queryCount: Type.Integer(),
  license: Type.String({ description: 'SPDX expression' }),
  source: Type.String(),
  note: Type.String(),
});
export type PackExample = Type.Static<typeof PackExample>;
export const PackExampleList = Type.Object({ items: Type.Array(PackExample) });
export type PackExampleList = Type.Static<typeof PackExampleList>;
export const PackExampleParams = Type.Object({ name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,99}$' }) });
export const ImportExampleRequest = Type.Object(
  { name: Type.Optional(Type.String({ maxLength: 255 })), enabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);

const HostRef = Type.Object({ hostId: Id, hostname: Type.String() });

export const PackQueryStatus = Type.Object({
  queryId: Id,
  name: Type.String(),
  /** The name osquery logs results and errors under. */
  logName: Type.String(),
  state: Type.Union([Type.Literal('ok'), Type.Literal('errors'), Type.Literal('denylisted'), Type.Literal('not_run')], {
    description: 'denylisted: the osquery watchdog stopped it on at least one host; errors: failures were logged; not_run: no host ran it yet',
  }),
  hostsScheduled: Type.Integer({ description: 'Hosts whose osquery_schedule lists the query' }),
  hostsRan: Type.Integer({ description: 'Hosts that ran it at least once' }),
  executions: Type.Integer(),
  lastRunAt: NullableTimestamp,
  averageWallTimeMs: Type.Union([Type.Number(), Type.Null()]),
  resultRows: Type.Integer({ description: 'Stored result rows (within retention)' }),
  lastResultAt: NullableTimestamp,
  denylistedHosts: Type.Integer(),
  denylisted: Type.Array(HostRef, { description: 'Hosts where the watchdog denylisted the query (first 100)' }),
  errorCount: Type.Integer({ description: 'Status-log lines about this query in the window' }),
  errors: Type.Array(Type.Object({
    hostId: Id,
    hostname: Type.String(),
    at: Timestamp,
    severity: Type.Integer(),
    kind: Type.Union([Type.Literal('error'), Type.Literal('watchdog'), Type.Literal('other')]),
    message: Type.String(),
  }), { description: 'Newest first (first 20)' }),
});
export type PackQueryStatus = Type.Static<typeof PackQueryStatus>;

export const PackStatus = Type.Object({
  packId: Id,
  name: Type.String(),
  enabled: Type.Boolean(),
  targetedHosts: Type.Integer({ description: 'Hosts in the targeted groups (before platform, shard and discovery filters)' }),
  errorWindowStart: Timestamp,
  queries: Type.Array(PackQueryStatus),
});
export type PackStatus = Type.Static<typeof PackStatus>;

export const PackStatusQuery = Type.Object({
  errorWindowHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 24 * 90, default: 24 * 7, description: 'How far back status logs are searched' })),
});
