/**
 * Elastic Common Schema mapping (seed 004 "Map result fields to ECS"): an ECS field takes either an
 * osquery result column or a static value; the field picker lists the ECS 9.4.0 fields that may be
 * mapped. Types are checked here; which fields exist, list-ness and allowed values are checked by
 * the server (422 lists every bad entry).
 */
import Type from 'typebox';

const EcsScalar = Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()]);

export const EcsMappingEntry = Type.Object(
  {
    field: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'osquery result column whose value fills the ECS field' })),
    value: Type.Optional(Type.Union([EcsScalar, Type.Array(EcsScalar, { maxItems: 100 })], { description: 'Static value: a string, number or boolean, or a list of them for list fields (e.g. event.category)' })),
  },
  { additionalProperties: false, description: 'Exactly one of field and value' },
);

export const EcsMapping = Type.Record(Type.String({ minLength: 1, maxLength: 256 }), EcsMappingEntry, {
  maxProperties: 500,
  description: 'ECS field → {field: osquery column} or {value: static value}, e.g. {"user.name": {"field": "username"}, "event.category": {"value": ["iam"]}}',
});
export type EcsMapping = Type.Static<typeof EcsMapping>;

export const EcsField = Type.Object({
  name: Type.String({ description: 'Dotted ECS field name, e.g. process.pid' }),
  type: Type.String({ description: 'Elasticsearch type: keyword, long, ip, date, boolean, …' }),
  level: Type.String({ description: 'core or extended' }),
  description: Type.String(),
  array: Type.Boolean({ description: 'The field holds a list (static values may be lists)' }),
  allowedValues: Type.Optional(Type.Array(Type.String(), { description: 'The only values ECS allows' })),
});
export type EcsField = Type.Static<typeof EcsField>;

export const EcsFieldQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Part of the field name, e.g. "user."' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
});

export const EcsFieldList = Type.Object({
  version: Type.String({ description: 'ECS version' }),
  items: Type.Array(EcsField),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Opaque cursor of the next page; null on the last page' }),
});
