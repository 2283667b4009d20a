/**
 * osquery TLS wire shapes as TypeBox schemas: the single declaration used for validation, static
 * types and API documentation. Shapes are deliberately tolerant where real osquery versions differ
 * (numbers vs numeric strings, `""` for empty results) and strict where no osquery sends anything
 * else. Field names keep osquery's snake_case / camelCase as sent. See
 * ../shared/reference/osquery-protocol.md (sections cited per schema).
 */
import Type from 'typebox';

/** An integer, or a decimal string as pre-5.10 status logs and pre-3.0 statuses sent (§9 item 7). */
export const IntLike = Type.Union([Type.Integer(), Type.String({ pattern: '^\\s*-?\\d{1,15}\\s*$' })]);
/** A row value: strings normally; numbers with --logger_numerics; null tolerated. */
export const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]);
export const Row = Type.Record(Type.String(), Scalar);
/** Old osquery sent `""` instead of `[]` for empty results (§9 item 8). */
export const Rows = Type.Union([Type.Array(Row), Type.Literal('')]);

const NodeKeyField = Type.Optional(Type.String({ maxLength: 512 }));

/** §2.1. The secret's key name is configurable (`--tls_enroll_override`), so extra keys are allowed. */
export const EnrollRequest = Type.Object(
  {
    host_identifier: Type.Optional(Type.String({ maxLength: 1024 })),
    platform_type: Type.Optional(IntLike),
    host_details: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), Scalar))),
  },
  { additionalProperties: true },
);

/** Config and distributed read send only the node key (§3.1, §5.1). */
export const NodeKeyRequest = Type.Object({ node_key: NodeKeyField }, { additionalProperties: true });

/** §4.1 */
export const LogRequest = Type.Object(
  {
    node_key: NodeKeyField,
    log_type: Type.String({ maxLength: 64 }),
    data: Type.Array(Type.Unknown()),
  },
  { additionalProperties: true },
);

const ResultCommon = {
  name: Type.String({ minLength: 1, maxLength: 1024 }),
  hostIdentifier: Type.Optional(Type.String({ maxLength: 1024 })),
  calendarTime: Type.Optional(Type.String({ maxLength: 128 })),
  unixTime: Type.Optional(IntLike),
  epoch: Type.Optional(IntLike),
  counter: Type.Optional(IntLike),
  numerics: Type.Optional(Type.Union([Type.Boolean(), Type.String()])),
  decorations: Type.Optional(Type.Record(Type.String(), Scalar)),
};

/** §4.2 event format: one element per row change. */
export const ResultEventLine = Type.Object(
  { ...ResultCommon, columns: Row, action: Type.Union([Type.Literal('added'), Type.Literal('removed'), Type.Literal('snapshot')]) },
  { additionalProperties: true },
);
/** §4.2 batch format: one element per execution. */
export const ResultBatchLine = Type.Object(
  { ...ResultCommon, diffResults: Type.Object({ added: Type.Optional(Rows), removed: Type.Optional(Rows) }, { additionalProperties: true }) },
  { additionalProperties: true },
);
/** §4.2 snapshot format. */
export const ResultSnapshotLine = Type.Object(
  { ...ResultCommon, snapshot: Rows, action: Type.Optional(Type.Literal('snapshot')) },
  { additionalProperties: true },
);
/** §4.3; `unixTime`, `severity`, `line` were strings before 5.10. */
export const StatusLine = Type.Object(
  {
    hostIdentifier: Type.Optional(Type.String({ maxLength: 1024 })),
    calendarTime: Type.Optional(Type.String({ maxLength: 128 })),
    unixTime: Type.Optional(IntLike),
    severity: Type.Optional(IntLike),
    filename: Type.Optional(Type.String({ maxLength: 1024 })),
    line: Type.Optional(IntLike),
    message: Type.String(),
    version: Type.Optional(Type.String({ maxLength: 64 })),
    decorations: Type.Optional(Type.Record(Type.String(), Scalar)),
  },
  { additionalProperties: true },
);

/** §5.2. Rows may be `""` (legacy) — any non-array is coerced to `[]`. */
export const DistributedWriteRequest = Type.Object(
  {
    node_key: NodeKeyField,
    queries: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.Union([Type.Array(Row), Type.String(), Type.Null()]))),
    statuses: Type.Optional(Type.Record(Type.String(), IntLike)),
    messages: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()]))),
    stats: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: true },
);

/** §6.1 */
export const CarveBeginRequest = Type.Object(
  {
    node_key: NodeKeyField,
    block_count: IntLike,
    block_size: IntLike,
    carve_size: IntLike,
    carve_id: Type.String({ minLength: 1, maxLength: 256 }),
    request_id: Type.String({ maxLength: 256 }),
  },
  { additionalProperties: true },
);
/** §6.2 — no node_key in the body; only the Authorization header since 5.23. */
export const CarveBlockRequest = Type.Object(
  {
    block_id: IntLike,
    session_id: Type.String({ minLength: 1, maxLength: 256 }),
    request_id: Type.Optional(Type.String({ maxLength: 256 })),
    data: Type.String(),
  },
  { additionalProperties: true },
);

export type EnrollRequest = Type.Static<typeof EnrollRequest>;
export type NodeKeyRequest = Type.Static<typeof NodeKeyRequest>;
export type LogRequest = Type.Static<typeof LogRequest>;
export type ResultEventLine = Type.Static<typeof ResultEventLine>;
export type ResultBatchLine = Type.Static<typeof ResultBatchLine>;
export type ResultSnapshotLine = Type.Static<typeof ResultSnapshotLine>;
export type StatusLine = Type.Static<typeof StatusLine>;
export type DistributedWriteRequest = Type.Static<typeof DistributedWriteRequest>;
export type CarveBeginRequest = Type.Static<typeof CarveBeginRequest>;
export type CarveBlockRequest = Type.Static<typeof CarveBlockRequest>;
export type WireRow = Type.Static<typeof Row>;

/** §5.1 read response. Values must be non-empty strings; `accelerate` an integer. */
export interface DistributedReadResponse {
  queries: Record<string, string>;
  discovery?: Record<string, string>;
  accelerate?: number;
}

/** §3.2: the config the server sends (the whole body is the config). */
export interface OsqueryScheduledQuery {
  query: string;
  interval: number;
  snapshot?: boolean;
  removed?: boolean;
  platform?: string;
  version?: string;
  shard?: number;
  denylist?: boolean;
  description?: string;
  value?: string;
}
export interface OsqueryPack {
  queries: Record<string, OsqueryScheduledQuery>;
  discovery?: string[];
  platform?: string;
  version?: string;
  shard?: number;
}
export interface OsqueryConfig {
  options?: Record<string, string | number | boolean>;
  schedule?: Record<string, OsqueryScheduledQuery>;
  packs?: Record<string, OsqueryPack>;
  decorators?: { load?: string[]; always?: string[]; interval?: Record<string, string[]> };
  [key: string]: unknown;
}
