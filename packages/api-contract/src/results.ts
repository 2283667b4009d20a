/**
 * Scheduled query results (osquery result logs, osquery-protocol.md §4.2), browsed newest first and
 * exported as CSV or NDJSON with the same filters. Rows of packs with an ECS mapping also carry the
 * mapped document (seed 004 "Map result fields to ECS"), with the original row under `osquery`.
 */
import Type from 'typebox';
import { Id, Page, Timestamp } from './common.js';

export const ResultAction = Type.Union([Type.Literal('added'), Type.Literal('removed'), Type.Literal('snapshot')]);

const filterFields = {
  packId: Type.Optional(Type.Integer({ minimum: 1, description: 'Results of this pack (by its current name)' })),
  pack: Type.Optional(Type.String({ maxLength: 255, description: 'Pack name as logged' })),
  query: Type.Optional(Type.String({ maxLength: 255, description: 'Query name inside the pack' })),
  name: Type.Optional(Type.String({ maxLength: 600, description: 'Full scheduled query name, e.g. pack/<pack>/<query>' })),
  hostId: Type.Optional(Type.Integer({ minimum: 1 })),
  action: Type.Optional(ResultAction),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Rows whose osquery unixTime is at or after this time' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'Rows whose osquery unixTime is before this time' })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Free text over the row\'s columns (names and values), case-insensitive' })),
};

export const ScheduledResultsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  ...filterFields,
});
export type ScheduledResultsQuery = Type.Static<typeof ScheduledResultsQuery>;

export const ScheduledResultsExportQuery = Type.Object({
  ...filterFields,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000, description: 'Stop after this many rows (default: all)' })),
});
export type ScheduledResultsExportQuery = Type.Static<typeof ScheduledResultsExportQuery>;

export const ScheduledResult = Type.Object({
  id: Id,
  hostId: Id,
  /** Empty when the host was deleted after the row was stored. */
  hostname: Type.String(),
  name: Type.String(),
  pack: Type.String(),
  query: Type.String(),
  action: Type.String({ description: 'added, removed or snapshot' }),
  /** osquery's unixTime (seconds) and the same instant as ISO. */
  unixTime: Type.Integer(),
  time: Timestamp,
  receivedAt: Timestamp,
  columns: Type.Record(Type.String(), Type.Unknown()),
  decorations: Type.Record(Type.String(), Type.Unknown()),
  ecs: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], {
    description: 'ECS document from the pack query\'s mapping, with the original row under `osquery`; null without a mapping',
  }),
});
export type ScheduledResult = Type.Static<typeof ScheduledResult>;
export const ScheduledResultList = Page(ScheduledResult);
export type ScheduledResultList = Type.Static<typeof ScheduledResultList>;
