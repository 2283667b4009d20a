/**
 * Shared primitives of the operator REST API (fastify/demo src/schemas/common.ts). JSON is
 * camelCase; times are ISO 8601 strings in UTC; ids are integers.
 */
import Type from 'typebox';

export const Id = Type.Integer({ minimum: 1, description: 'Numeric id' });
export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
export const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601 UTC time' });
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

export const ROLES = ['admin', 'operator', 'readonly'] as const;
export const Role = Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('readonly')], {
  description: 'admin: everything; operator: run, schedule and save queries (seed 004 "All"); readonly: view only',
});
export type Role = (typeof ROLES)[number];

/** Cursor pagination: pass `nextCursor` back as `cursor` for the next page. */
export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
});

export function Page<T extends Type.TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Opaque cursor of the next page; null on the last page' }),
  });
}

/** Every error: a stable code, a message for people, optional per-field details. */
export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String({ description: 'Stable machine-readable code, e.g. not_found, validation_failed, forbidden' }),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  }),
  requestId: Type.Optional(Type.String()),
});
export type ErrorBody = Type.Static<typeof ErrorBody>;

export const OkBody = Type.Object({ ok: Type.Literal(true) });
