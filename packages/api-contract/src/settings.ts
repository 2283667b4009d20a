/**
 * Server settings an operator can change at run time: display preferences (every role reads them),
 * the global osquery options served in every config, and data retention (admins only).
 */
import Type from 'typebox';

export const DATE_FORMATS = ['iso', 'YYYY-MM-DD HH:mm:ss', 'DD/MM/YYYY HH:mm:ss', 'MM/DD/YYYY hh:mm:ss A', 'DD.MM.YYYY HH:mm:ss', 'relative'] as const;
export const DateFormat = Type.Union([
  Type.Literal('iso'), Type.Literal('YYYY-MM-DD HH:mm:ss'), Type.Literal('DD/MM/YYYY HH:mm:ss'), Type.Literal('MM/DD/YYYY hh:mm:ss A'),
  Type.Literal('DD.MM.YYYY HH:mm:ss'), Type.Literal('relative'),
], {
  description: 'How the console shows times; the API always answers in ISO 8601 UTC',
});

export const DisplaySettings = Type.Object({
  timeZone: Type.String({ description: 'IANA time zone, e.g. Europe/Paris or UTC' }),
  dateFormat: DateFormat,
});
export type DisplaySettings = Type.Static<typeof DisplaySettings>;
export const UpdateDisplaySettings = Type.Object(
  { timeZone: Type.Optional(Type.String({ maxLength: 100 })), dateFormat: Type.Optional(DateFormat) },
  { additionalProperties: false },
);
export type UpdateDisplaySettings = Type.Static<typeof UpdateDisplaySettings>;

export const OsqueryOptionValue = Type.Union([Type.String({ maxLength: 4096 }), Type.Number(), Type.Boolean()]);

export const OsqueryOptionsSettings = Type.Object({
  options: Type.Record(Type.String(), OsqueryOptionValue, { description: 'Served as config "options" to every host; group options override them' }),
  allowed: Type.Array(Type.Object({
    key: Type.String(),
    type: Type.Union([Type.Literal('integer'), Type.Literal('boolean'), Type.Literal('string')]),
    minimum: Type.Optional(Type.Integer()),
    maximum: Type.Optional(Type.Integer()),
    description: Type.String(),
  }), { description: 'Keys that may be set (plus any custom_* key)' }),
});
export type OsqueryOptionsSettings = Type.Static<typeof OsqueryOptionsSettings>;
/**
 * Bodies are validated as sent (no coercion), so 30 stays a number for osquery; each key's own
 * type and range are checked by the server (422, every problem at once).
 */
export const UpdateOsqueryOptions = Type.Object(
  { options: Type.Record(Type.String({ maxLength: 100 }), OsqueryOptionValue, { description: 'string, integer or boolean, per key (see allowed)' }) },
  { additionalProperties: false },
);
export type UpdateOsqueryOptions = Type.Static<typeof UpdateOsqueryOptions>;

export const RetentionSettings = Type.Object({
  resultRetentionDays: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Scheduled result logs kept this many days (0 = forever); null = the MIMIR_* environment default',
  }),
  liveQueryHistoryDays: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Live query history kept this many days; null = the MIMIR_* environment default',
  }),
  defaults: Type.Object({ liveQueryHistoryDays: Type.Integer() }),
});
export type RetentionSettings = Type.Static<typeof RetentionSettings>;
export const UpdateRetentionSettings = Type.Object(
  {
    // Ranges are checked by the server (422 names each field).
    resultRetentionDays: Type.Optional(Type.Union([Type.Integer(), Type.Null()], { description: 'Integer 0–3650 (0 = keep forever), or null to clear the override' })),
    liveQueryHistoryDays: Type.Optional(Type.Union([Type.Integer(), Type.Null()], { description: 'Integer 1–3650, or null to clear the override' })),
  },
  { additionalProperties: false },
);
export type UpdateRetentionSettings = Type.Static<typeof UpdateRetentionSettings>;
