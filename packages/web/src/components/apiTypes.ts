/**
 * Static types of API responses that @mimir/api-contract declares as schemas without a named type
 * export. Type-only: nothing from TypeBox reaches the bundle.
 */
import type Type from 'typebox';
import type {
  AuditList as AuditListSchema, EcsFieldList as EcsFieldListSchema, GroupList as GroupListSchema, LabelList as LabelListSchema,
  LabelWriteResult as LabelWriteResultSchema, LiveHostList as LiveHostListSchema, LiveQueryList as LiveQueryListSchema,
  LiveStreamResult as LiveStreamResultSchema, OsquerySchemaResponse as OsquerySchemaResponseSchema, SavedQueryList as SavedQueryListSchema,
  TargetCount as TargetCountSchema,
} from '@mimir/api-contract';

export type AuditList = Type.Static<typeof AuditListSchema>;
export type EcsFieldList = Type.Static<typeof EcsFieldListSchema>;
export type GroupList = Type.Static<typeof GroupListSchema>;
export type LabelList = Type.Static<typeof LabelListSchema>;
export type LabelWriteResult = Type.Static<typeof LabelWriteResultSchema>;
export type LiveHostList = Type.Static<typeof LiveHostListSchema>;
export type LiveQueryList = Type.Static<typeof LiveQueryListSchema>;
export type LiveStreamResult = Type.Static<typeof LiveStreamResultSchema>;
export type OsquerySchemaResponse = Type.Static<typeof OsquerySchemaResponseSchema>;
export type SavedQueryList = Type.Static<typeof SavedQueryListSchema>;
export type TargetCount = Type.Static<typeof TargetCountSchema>;
