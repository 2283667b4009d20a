/**
 * Static types of the API schemas that packages/api-contract declares without a `type` export.
 * Derived here (never re-declared), so they follow the contract.
 */
import type { Static } from 'typebox';
import type {
  CreatedToken as CreatedTokenSchema, CreateTokenRequest as CreateTokenRequestSchema, DeleteGroupResult as DeleteGroupResultSchema,
  EnrollSecretList as EnrollSecretListSchema, GroupList as GroupListSchema, LabelHostsResult as LabelHostsResultSchema,
  LabelWriteResult as LabelWriteResultSchema, LiveStreamResult as LiveStreamResultSchema, MoveHostsResult as MoveHostsResultSchema,
  RolloutResult as RolloutResultSchema, RotateSecretResult as RotateSecretResultSchema, TokenList as TokenListSchema,
  UpdateArtifactResult as UpdateArtifactResultSchema, UpdateDeleted as UpdateDeletedSchema, UploadedBinary as UploadedBinarySchema,
  Flagfile as FlagfileSchema,
} from '@mimir/api-contract';

export type CreatedToken = Static<typeof CreatedTokenSchema>;
export type CreateTokenRequest = Static<typeof CreateTokenRequestSchema>;
export type DeleteGroupResult = Static<typeof DeleteGroupResultSchema>;
export type EnrollSecretList = Static<typeof EnrollSecretListSchema>;
export type GroupList = Static<typeof GroupListSchema>;
export type LabelHostsResult = Static<typeof LabelHostsResultSchema>;
export type LabelWriteResult = Static<typeof LabelWriteResultSchema>;
export type LiveStreamResult = Static<typeof LiveStreamResultSchema>;
export type MoveHostsResult = Static<typeof MoveHostsResultSchema>;
export type RolloutResult = Static<typeof RolloutResultSchema>;
export type RotateSecretResult = Static<typeof RotateSecretResultSchema>;
export type TokenList = Static<typeof TokenListSchema>;
export type UpdateArtifactResult = Static<typeof UpdateArtifactResultSchema>;
export type UpdateDeleted = Static<typeof UpdateDeletedSchema>;
export type UploadedBinary = Static<typeof UploadedBinarySchema>;
export type Flagfile = Static<typeof FlagfileSchema>;
