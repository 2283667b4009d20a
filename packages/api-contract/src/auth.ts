import Type from 'typebox';
import { Id, NullableTimestamp, Page, Role, Timestamp } from './common.js';

export const User = Type.Object({
  id: Id,
  email: Type.String(),
  name: Type.String(),
  role: Role,
  disabled: Type.Boolean(),
  createdAt: Timestamp,
  lastLoginAt: NullableTimestamp,
});
export type User = Type.Static<typeof User>;

const Email = Type.String({ format: 'email', maxLength: 254 });
/** At least 12 characters: NIST 800-63B favours length over composition rules. */
const Password = Type.String({ minLength: 12, maxLength: 1024 });

export const SetupRequest = Type.Object({ email: Email, name: Type.Optional(Type.String({ maxLength: 200 })), password: Password }, { additionalProperties: false });
export const SetupStatus = Type.Object({ needsSetup: Type.Boolean() });

export const LoginRequest = Type.Object({ email: Type.String({ maxLength: 254 }), password: Type.String({ maxLength: 1024 }) }, { additionalProperties: false });
export const SessionInfo = Type.Object({
  user: User,
  /** Send back as `X-CSRF-Token` on unsafe requests authenticated by the session cookie. */
  csrfToken: Type.String(),
  expiresAt: Timestamp,
});
export type SessionInfo = Type.Static<typeof SessionInfo>;

export const CreateUserRequest = Type.Object(
  { email: Email, name: Type.Optional(Type.String({ maxLength: 200 })), role: Role, password: Password },
  { additionalProperties: false },
);
export const UpdateUserRequest = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 200 })),
    role: Type.Optional(Role),
    disabled: Type.Optional(Type.Boolean()),
    password: Type.Optional(Password),
  },
  { additionalProperties: false },
);
export const UserList = Page(User);

export const ApiToken = Type.Object({
  id: Id,
  name: Type.String(),
  /** First characters of the token, to recognise it; the token itself is shown once. */
  prefix: Type.String(),
  role: Role,
  userId: Id,
  createdAt: Timestamp,
  expiresAt: NullableTimestamp,
  lastUsedAt: NullableTimestamp,
  revoked: Type.Boolean(),
});
export type ApiToken = Type.Static<typeof ApiToken>;
export const CreateTokenRequest = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    /** Days until expiry; omit for a token that never expires. */
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
    /** Defaults to, and may not exceed, the creating user's role. */
    role: Type.Optional(Role),
  },
  { additionalProperties: false },
);
export type CreateTokenRequest = Type.Static<typeof CreateTokenRequest>;
export const CreatedToken = Type.Object({ token: Type.String({ description: 'Shown once: store it now' }), apiToken: ApiToken });
export type CreatedToken = Type.Static<typeof CreatedToken>;
export const TokenList = Type.Object({ items: Type.Array(ApiToken) });
export type TokenList = Type.Static<typeof TokenList>;

export const SessionSummary = Type.Object({
  id: Type.String(),
  createdAt: Timestamp,
  lastUsedAt: Timestamp,
  expiresAt: Timestamp,
  ip: Type.String(),
  userAgent: Type.String(),
  current: Type.Boolean(),
});
export const SessionList = Type.Object({ items: Type.Array(SessionSummary) });

export const AuditEntry = Type.Object({
  id: Id,
  at: Timestamp,
  actorId: Type.Union([Id, Type.Null()]),
  actorEmail: Type.String(),
  action: Type.String({ description: 'e.g. user.login, user.create, live_query.run' }),
  targetType: Type.String(),
  targetId: Type.String(),
  ip: Type.String(),
  details: Type.Unknown(),
});
export type AuditEntry = Type.Static<typeof AuditEntry>;
export const AuditQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Free text over action, actor, target' })),
  action: Type.Optional(Type.String({ maxLength: 100 })),
  actorId: Type.Optional(Type.Integer({ minimum: 1 })),
  since: Type.Optional(Timestamp),
  until: Type.Optional(Timestamp),
});
export const AuditList = Page(AuditEntry);
