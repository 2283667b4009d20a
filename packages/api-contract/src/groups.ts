/**
 * Groups (Elastic "agent policies", Fleet "teams", fleet.md §1.7) with their osquery options and
 * enroll secrets. Secret values are only ever returned to callers allowed `groups:write`.
 */
import Type from 'typebox';
import { Id, NullableTimestamp, Timestamp } from './common.js';

/** osquery options are strings, booleans or integers (osquery-protocol.md §3.2). */
export const OsqueryOptions = Type.Record(Type.String(), Type.Union([Type.Boolean(), Type.Number(), Type.String()]), {
  description: 'osquery options for this group\'s hosts, overriding the global ones, e.g. {"distributed_interval": 30}',
});
export type OsqueryOptions = Type.Static<typeof OsqueryOptions>;
/**
 * Options as sent. Bodies are validated without coercion, so 30 stays a number; which keys exist
 * and each key's type and range are checked by the server, every problem reported at once (422).
 */
export const OsqueryOptionsInput = Type.Record(Type.String(), Type.Union([Type.Boolean(), Type.Number(), Type.String({ maxLength: 4096 })]), {
  description: 'osquery options: strings, booleans or integers, e.g. {"distributed_interval": 30}',
});
export type OsqueryOptionsInput = Type.Static<typeof OsqueryOptionsInput>;

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
const Description = Type.String({ maxLength: 1000 });

export const Group = Type.Object({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  options: OsqueryOptions,
  /** The group hosts enroll into with the default secret; it cannot be renamed or deleted. */
  isDefault: Type.Boolean(),
  hostCount: Type.Integer(),
  /** Active (not revoked) enroll secrets. */
  activeSecrets: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Group = Type.Static<typeof Group>;
export const GroupList = Type.Object({ items: Type.Array(Group) });
export type GroupList = Type.Static<typeof GroupList>;

export const CreateGroupRequest = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    options: Type.Optional(OsqueryOptionsInput),
    /** Create a first enroll secret with the group (default true): a group is useless without one. */
    createSecret: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateGroupRequest = Type.Static<typeof CreateGroupRequest>;
export const UpdateGroupRequest = Type.Object(
  { name: Type.Optional(Name), description: Type.Optional(Description), options: Type.Optional(OsqueryOptionsInput) },
  { additionalProperties: false },
);
export type UpdateGroupRequest = Type.Static<typeof UpdateGroupRequest>;
export const DeleteGroupQuery = Type.Object({
  moveHostsTo: Type.Optional(Type.Integer({ minimum: 1, description: 'Required when the group still has hosts: where they go' })),
});
export const DeleteGroupResult = Type.Object({ ok: Type.Literal(true), movedHosts: Type.Integer() });
export type DeleteGroupResult = Type.Static<typeof DeleteGroupResult>;

export const MoveHostsRequest = Type.Object(
  { hostIds: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 10_000 }) },
  { additionalProperties: false },
);
export const MoveHostsResult = Type.Object({ moved: Type.Integer() });
export type MoveHostsResult = Type.Static<typeof MoveHostsResult>;

export const EnrollSecret = Type.Object({
  id: Id,
  groupId: Id,
  name: Type.String(),
  secret: Type.String(),
  active: Type.Boolean(),
  createdAt: Timestamp,
  revokedAt: NullableTimestamp,
});
export type EnrollSecret = Type.Static<typeof EnrollSecret>;
export const EnrollSecretList = Type.Object({ items: Type.Array(EnrollSecret) });
export type EnrollSecretList = Type.Static<typeof EnrollSecretList>;

/** Printable ASCII without spaces: osquery reads the secret from a file and operators paste it into shells. */
const SecretValue = Type.String({ minLength: 16, maxLength: 256, pattern: '^[\\x21-\\x7e]+$' });
export const CreateSecretRequest = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 100 })),
    /** Omit to have a random 32-character secret generated. */
    secret: Type.Optional(SecretValue),
  },
  { additionalProperties: false },
);
export type CreateSecretRequest = Type.Static<typeof CreateSecretRequest>;
export const RotateSecretRequest = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 100 })),
    secret: Type.Optional(SecretValue),
    /** Revoke the group's other active secrets once the new one exists (default false: ship the new one first, Fleet §1.7). */
    revokeOld: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type RotateSecretRequest = Type.Static<typeof RotateSecretRequest>;
export const RotateSecretResult = Type.Object({ created: EnrollSecret, revoked: Type.Array(EnrollSecret) });
export type RotateSecretResult = Type.Static<typeof RotateSecretResult>;
export const SecretParams = Type.Object({ id: Type.Integer({ minimum: 1 }), secretId: Type.Integer({ minimum: 1 }) });

export const FlagfileQuery = Type.Object({
  tlsHostname: Type.Optional(Type.String({ maxLength: 255, pattern: '^[A-Za-z0-9.\\-\\[\\]:]+$', description: 'host[:port] agents use; default: the server\'s public hostname' })),
  caPath: Type.Optional(Type.String({ maxLength: 1024, pattern: '^[^\\n\\r]+$' })),
  secretPath: Type.Optional(Type.String({ maxLength: 1024, pattern: '^[^\\n\\r]+$' })),
  secretId: Type.Optional(Type.Integer({ minimum: 1, description: 'Which active secret to use (default: the newest)' })),
});
export const Flagfile = Type.Object({
  /** The osqueryd flagfile, one flag per line (osquery-protocol.md §8). */
  flagfile: Type.String(),
  enrollSecret: Type.String(),
  secretId: Id,
  tlsHostname: Type.String(),
  caPath: Type.String(),
  secretPath: Type.String(),
});
