/**
 * Labels (fleet.md §1.6): built-in platform labels (read-only), dynamic labels (SQL run on hosts:
 * a host is a member while the query returns rows) and manual labels (an explicit host list).
 */
import Type from 'typebox';
import { Id, Timestamp } from './common.js';
import { PlatformFamily } from './hosts.js';

export const LabelType = Type.Union([Type.Literal('builtin'), Type.Literal('dynamic'), Type.Literal('manual')], {
  description: 'builtin: platform labels computed from the host platform; dynamic: SQL membership; manual: explicit host list',
});
export type LabelType = Type.Static<typeof LabelType>;

export const Label = Type.Object({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  type: LabelType,
  /** The membership query (dynamic labels); empty otherwise. */
  query: Type.String(),
  /** Platforms the query runs on (dynamic) or that define membership (builtin); empty = all. */
  platforms: Type.Array(PlatformFamily),
  readOnly: Type.Boolean(),
  hostCount: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Label = Type.Static<typeof Label>;

export const LabelListQuery = Type.Object({
  type: Type.Optional(LabelType),
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Substring of the label name' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
});
export const LabelList = Type.Object({
  items: Type.Array(Label),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
const Sql = Type.String({ minLength: 1, maxLength: 100_000 });
const Platforms = Type.Array(PlatformFamily, { maxItems: 4, uniqueItems: true });
const HostIds = Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 10_000 });

export const CreateLabelRequest = Type.Object(
  {
    name: Name,
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    type: Type.Union([Type.Literal('dynamic'), Type.Literal('manual')]),
    /** Required for dynamic labels: a host is a member while this returns at least one row. */
    query: Type.Optional(Sql),
    /** Dynamic labels only run on these platforms (default: all). */
    platforms: Type.Optional(Platforms),
    /** Manual labels: the first members. */
    hostIds: Type.Optional(HostIds),
  },
  { additionalProperties: false },
);
export type CreateLabelRequest = Type.Static<typeof CreateLabelRequest>;
export const UpdateLabelRequest = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    /** Dynamic labels: changing the query or platforms clears membership and re-runs it on every host. */
    query: Type.Optional(Sql),
    platforms: Type.Optional(Platforms),
  },
  { additionalProperties: false },
);
export type UpdateLabelRequest = Type.Static<typeof UpdateLabelRequest>;
export const LabelHostsRequest = Type.Object(
  { hostIds: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 10_000 }) },
  { additionalProperties: false },
);
export const LabelHostsResult = Type.Object({ changed: Type.Integer(), hostCount: Type.Integer() });
export type LabelHostsResult = Type.Static<typeof LabelHostsResult>;
export const LabelWriteResult = Type.Object({
  label: Label,
  /** Hosts the dynamic query was queued for (it runs on each host's next check-in). */
  queuedHosts: Type.Integer(),
});
export type LabelWriteResult = Type.Static<typeof LabelWriteResult>;
