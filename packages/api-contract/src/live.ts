/**
 * Live queries (issue #4 "Live queries", seed 004): run SQL (or a pack's queries) on targeted hosts,
 * follow per-host status (Successful / Failed / Not yet responded / Expired / Cancelled), browse,
 * export and stream results. Names are prefixed `Live…` so they never clash with the saved-query
 * and pack schemas exported next to them.
 */
import Type from 'typebox';
import { Id, NullableTimestamp, Page, Timestamp } from './common.js';

/** Seed 004: "The default and minimum supported value for the Timeout field is 60. The maximum … is 900." */
export const LIVE_TIMEOUT_MIN_SECONDS = 60;
export const LIVE_TIMEOUT_MAX_SECONDS = 900;

/** A host matching any part is targeted (Fleet: hosts, labels, teams; Elastic: agents, policies, platforms). */
export const LiveTargetSpec = Type.Object(
  {
    all: Type.Optional(Type.Boolean({ description: 'Every enrolled host' })),
    hostIds: Type.Optional(Type.Array(Id, { maxItems: 200_000 })),
    labelIds: Type.Optional(Type.Array(Id, { maxItems: 1000 })),
    groupIds: Type.Optional(Type.Array(Id, { maxItems: 1000 })),
    platforms: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 32 }), { maxItems: 16, description: 'Platform families: linux, darwin, windows, freebsd' }),
    ),
  },
  { additionalProperties: false },
);
export type LiveTargetSpec = Type.Static<typeof LiveTargetSpec>;

const EcsScalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);
/** Elastic's ECS mapping (seed 004 "Map result fields to ECS"): ECS field → osquery column or static value. */
export const LiveEcsMapping = Type.Record(
  Type.String({ minLength: 1, maxLength: 200 }),
  Type.Object(
    {
      field: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'osquery result column' })),
      value: Type.Optional(Type.Union([EcsScalar, Type.Array(EcsScalar, { maxItems: 100 })], { description: 'Static value' })),
    },
    { additionalProperties: false },
  ),
  { description: 'ECS field → {field: osquery column} or {value: static value}, e.g. {"user.name": {"field": "username"}}' },
);
export type LiveEcsMapping = Type.Static<typeof LiveEcsMapping>;

const Sql = Type.String({ minLength: 1, maxLength: 100_000 });

export const LiveQueryInput = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    sql: Sql,
    ecsMapping: Type.Optional(LiveEcsMapping),
  },
  { additionalProperties: false },
);

export const CreateLiveQueryRequest = Type.Object(
  {
    sql: Type.Optional(Sql),
    savedQueryId: Type.Optional(Id),
    packId: Type.Optional(Id),
    queries: Type.Optional(Type.Array(LiveQueryInput, { minItems: 1, maxItems: 100, description: 'Several queries run together, like a pack' })),
    targets: LiveTargetSpec,
    timeoutSeconds: Type.Optional(
      Type.Integer({ description: `Seconds until hosts that have not answered are Expired: ${LIVE_TIMEOUT_MIN_SECONDS}–${LIVE_TIMEOUT_MAX_SECONDS}, default ${LIVE_TIMEOUT_MIN_SECONDS} (seed 004). Offline hosts stay queued until then.` }),
    ),
    ecsMapping: Type.Optional(LiveEcsMapping),
  },
  { additionalProperties: false, description: 'Exactly one of sql, savedQueryId, packId, queries' },
);
export type CreateLiveQueryRequest = Type.Static<typeof CreateLiveQueryRequest>;

export const LIVE_HOST_STATUSES = ['pending', 'successful', 'failed', 'expired', 'cancelled'] as const;
export type LiveHostStatus = (typeof LIVE_HOST_STATUSES)[number];
export const LiveHostStatus = Type.Union([
  Type.Literal('pending'), Type.Literal('successful'), Type.Literal('failed'), Type.Literal('expired'), Type.Literal('cancelled'),
], {
  description: 'successful | failed (osquery error, e.g. "no such table: …") | pending (not yet responded) | expired (no answer before the timeout) | cancelled',
});

/** Over (host, query) answers: for a single query that is one per host. */
export const LiveCounts = Type.Object({
  targeted: Type.Integer({ description: 'Hosts targeted' }),
  responded: Type.Integer(),
  successful: Type.Integer(),
  failed: Type.Integer(),
  pending: Type.Integer({ description: 'Not yet responded' }),
  expired: Type.Integer(),
  cancelled: Type.Integer(),
});
export type LiveCounts = Type.Static<typeof LiveCounts>;

export const LiveQueryState = Type.Union([Type.Literal('running'), Type.Literal('completed'), Type.Literal('cancelled')], {
  description: 'completed once no host is pending (every host answered or expired)',
});

export const LiveQueryPart = Type.Object({
  index: Type.Integer({ minimum: 0 }),
  name: Type.String(),
  sql: Type.String(),
  ecsMapping: Type.Union([LiveEcsMapping, Type.Null()]),
  /** Result columns seen so far, in first-seen order (the CSV header). */
  columns: Type.Array(Type.String()),
  counts: LiveCounts,
});

export const LiveQuerySummary = Type.Object({
  id: Id,
  createdAt: Timestamp,
  expiresAt: Timestamp,
  finishedAt: NullableTimestamp,
  status: LiveQueryState,
  /** The SQL of a single query; the pack or first query's name otherwise. */
  sql: Type.String(),
  packId: Type.Union([Id, Type.Null()]),
  packName: Type.String(),
  queryCount: Type.Integer(),
  createdBy: Type.Object({ id: Type.Union([Id, Type.Null()]), email: Type.String() }),
  counts: LiveCounts,
  rowCount: Type.Integer(),
  truncated: Type.Boolean(),
});
export type LiveQuerySummary = Type.Static<typeof LiveQuerySummary>;

export const LiveQuery = Type.Object({
  ...LiveQuerySummary.properties,
  timeoutSeconds: Type.Integer(),
  targets: LiveTargetSpec,
  savedQueryId: Type.Union([Id, Type.Null()]),
  rerunOf: Type.Union([Id, Type.Null()]),
  queries: Type.Array(LiveQueryPart),
  /** Pending hosts that have fetched the query (running it, or went offline after fetching). */
  pendingDelivered: Type.Integer(),
  storedRowCount: Type.Integer(),
  /** Set when results were truncated at the row cap. */
  notice: Type.Union([Type.String(), Type.Null()]),
  /** SQL validator warnings at creation (e.g. a table missing on some targeted platforms). */
  warnings: Type.Array(Type.String()),
});
export type LiveQuery = Type.Static<typeof LiveQuery>;

export const LiveQueryListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Free text over the SQL and pack name' })),
  days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650, description: 'History window in days (default: the retention, 30 days per seed 004)' })),
});
export const LiveQueryList = Page(LiveQuerySummary);

export const LiveHost = Type.Object({
  hostId: Id,
  hostname: Type.String(),
  platform: Type.String(),
  queryIndex: Type.Integer(),
  status: LiveHostStatus,
  /** Pending only: the host fetched the query (false = not yet delivered, e.g. offline). */
  delivered: Type.Boolean(),
  message: Type.String({ description: "osquery's error message when failed" }),
  rowCount: Type.Integer(),
  answeredAt: NullableTimestamp,
});
export type LiveHost = Type.Static<typeof LiveHost>;
export const LiveHostQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  status: Type.Optional(LiveHostStatus),
  queryIndex: Type.Optional(Type.Integer({ minimum: 0 })),
});
export const LiveHostList = Page(LiveHost);

const Cell = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]);
export const LiveResultRow = Type.Object({
  id: Id,
  hostId: Id,
  hostname: Type.String(),
  queryIndex: Type.Integer(),
  /** The row as osquery returned it (Elastic keeps these under `osquery.*`). */
  osquery: Type.Record(Type.String(), Cell),
  /** ECS fields from the query's ECS mapping, next to `osquery` (seed 004). */
  ecs: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export type LiveResultRow = Type.Static<typeof LiveResultRow>;
export const LiveResultQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  hostId: Type.Optional(Id),
  queryIndex: Type.Optional(Type.Integer({ minimum: 0 })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Free text over the row values' })),
});
export const LiveResultExportQuery = Type.Object({
  hostId: Type.Optional(Id),
  queryIndex: Type.Optional(Type.Integer({ minimum: 0 })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
});
export const LiveResultPage = Type.Object({
  items: Type.Array(LiveResultRow),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
  truncated: Type.Boolean(),
  notice: Type.Union([Type.String(), Type.Null()]),
});

export const LiveCancelResult = Type.Object({
  liveQuery: LiveQuery,
  /** Queue items removed before any host fetched them. */
  dequeued: Type.Integer(),
  cancelledHosts: Type.Integer(),
});

/** `GET /live-queries/:id/stream` (Server-Sent Events) payloads. */
export const LiveStreamStatus = Type.Object({
  status: LiveQueryState,
  counts: LiveCounts,
  rowCount: Type.Integer(),
  truncated: Type.Boolean(),
});
export type LiveStreamStatus = Type.Static<typeof LiveStreamStatus>;
export const LiveStreamAnswer = Type.Object({
  hostId: Id,
  hostname: Type.String(),
  queryIndex: Type.Integer(),
  status: LiveHostStatus,
  message: Type.String(),
  rowCount: Type.Integer(),
  rows: Type.Array(Type.Object({ osquery: Type.Record(Type.String(), Cell), ecs: Type.Optional(Type.Record(Type.String(), Type.Unknown())) })),
  /** More rows of this host's answer follow in the next `result` event. */
  more: Type.Boolean(),
});
export type LiveStreamAnswer = Type.Static<typeof LiveStreamAnswer>;
export const LiveStreamResult = Type.Object({ results: Type.Array(LiveStreamAnswer) });
export type LiveStreamResult = Type.Static<typeof LiveStreamResult>;
