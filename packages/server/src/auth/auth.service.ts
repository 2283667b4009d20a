/**
 * People and automation: first-run setup, sign-in with sessions, API tokens, users. Secrets
 * (session tokens, API tokens) are random and only their SHA-256 is stored.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from '@mimir/api-contract';
import { ConflictError, ForbiddenError, NotFoundError, TooManyRequestsError, UnauthorizedError, ValidationError } from '../errors.js';
import type { Store } from '../storage/store.js';
import { isUniqueViolation } from '../storage/errors.js';
import { DEFAULT_COST, dummyHash, hashPassword, verifyPassword, type ScryptCost } from './password.js';
import { isRole, minRole, roleAtLeast } from './permissions.js';
import { RateLimiter } from './rate-limit.js';

export interface Principal {
  kind: 'session' | 'token';
  userId: number;
  email: string;
  /** Effective role: a token's role capped by its owner's current role. */
  role: Role;
  sessionId?: string;
  tokenId?: number;
}

export interface AuthOptions {
  /** Idle timeout of a session (ms): it slides with use. */
  sessionIdleMs: number;
  /** Hard cap on a session's life (ms). */
  sessionMaxMs: number;
  passwordCost?: ScryptCost | undefined;
}

export const TOKEN_PREFIX = 'mimir_';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** CSRF token bound to the session token (HMAC), so nothing extra is stored. */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('mimir-csrf').digest('base64url');
}

export function csrfMatches(sessionToken: string, given: string): boolean {
  const want = Buffer.from(csrfTokenFor(sessionToken));
  const got = Buffer.from(given);
  return want.length === got.length && timingSafeEqual(want, got);
}

export class AuthService {
  private readonly ipLimiter = new RateLimiter(20, 60_000);
  private readonly accountLimiter = new RateLimiter(10, 60_000);
  private readonly cost: ScryptCost;

  constructor(private readonly store: Store, private readonly opts: AuthOptions) {
    this.cost = opts.passwordCost ?? DEFAULT_COST;
  }

  async needsSetup(): Promise<boolean> {
    return (await this.store.users.count()) === 0;
  }

  /** Create the first admin; refused once any user exists. */
  async setup(input: { email: string; name?: string | undefined; password: string }, now: number): Promise<number> {
    const hash = await hashPassword(input.password, this.cost);
    return this.store.transaction(async (tx) => {
      if ((await tx.users.count()) > 0) throw new ConflictError('setup is already done: sign in instead');
      return tx.users.insert({
        email: normaliseEmail(input.email), name: input.name ?? '', role: 'admin', password_hash: hash, created_at: now, updated_at: now,
        disabled_at: null, last_login_at: null,
      });
    });
  }

  /** Check a password; returns the new session token. Throttled per IP and per account. */
  async login(email: string, password: string, ctx: { ip: string; userAgent: string; now: number }) {
    const account = normaliseEmail(email);
    const wait = Math.max(this.ipLimiter.hit(`ip:${ctx.ip}`, ctx.now), this.accountLimiter.hit(`acct:${account}`, ctx.now));
    if (wait > 0) throw new TooManyRequestsError(`too many sign-in attempts; try again in ${wait} s`, { retryAfter: wait });
    const user = await this.store.users.findByEmail(account);
    const ok = await verifyPassword(password, user?.password_hash ?? (await dummyHash()));
    if (user === undefined || !ok || user.disabled_at !== null) {
      throw new UnauthorizedError('invalid email or password', { email: account });
    }
    this.accountLimiter.reset(`acct:${account}`);
    const token = randomBytes(32).toString('base64url');
    const expiresAt = Math.min(ctx.now + this.opts.sessionIdleMs, ctx.now + this.opts.sessionMaxMs);
    await this.store.transaction(async (tx) => {
      await tx.users.insertSession({ id: sha256(token), user_id: user.id, created_at: ctx.now, last_used_at: ctx.now, expires_at: expiresAt, ip: ctx.ip, user_agent: ctx.userAgent.slice(0, 300) });
      await tx.users.update(user.id, { last_login_at: ctx.now });
    });
    return { token, user: { ...user, last_login_at: ctx.now }, expiresAt };
  }

  /** Resolve a session cookie; slides the idle expiry (written at most once a minute). */
  async resolveSession(token: string, now: number): Promise<(Principal & { expiresAt: number }) | undefined> {
    const id = sha256(token);
    const s = await this.store.users.findSession(id);
    if (s === undefined || s.revoked_at !== null || s.expires_at <= now) return undefined;
    const user = await this.store.users.findById(s.user_id);
    if (user === undefined || user.disabled_at !== null || !isRole(user.role)) return undefined;
    let expiresAt = s.expires_at;
    if (now - s.last_used_at > 60_000) {
      expiresAt = Math.min(now + this.opts.sessionIdleMs, s.created_at + this.opts.sessionMaxMs);
      await this.store.users.touchSession(id, now, expiresAt);
    }
    return { kind: 'session', userId: user.id, email: user.email, role: user.role, sessionId: id, expiresAt };
  }

  async logout(token: string, now: number): Promise<void> {
    const s = await this.store.users.findSession(sha256(token));
    if (s !== undefined) await this.store.users.revokeSession(s.id, s.user_id, now);
  }

  async resolveToken(token: string, now: number): Promise<Principal | undefined> {
    if (!token.startsWith(TOKEN_PREFIX)) return undefined;
    const t = await this.store.users.findTokenByHash(sha256(token));
    if (t === undefined || t.revoked_at !== null || (t.expires_at !== null && t.expires_at <= now)) return undefined;
    const user = await this.store.users.findById(t.user_id);
    if (user === undefined || user.disabled_at !== null || !isRole(user.role) || !isRole(t.role)) return undefined;
    if (t.last_used_at === null || now - t.last_used_at > 60_000) await this.store.users.touchToken(t.id, now);
    return { kind: 'token', userId: user.id, email: user.email, role: minRole(t.role, user.role), tokenId: t.id };
  }

  async createToken(owner: Principal, input: { name: string; expiresInDays?: number | undefined; role?: Role | undefined }, now: number) {
    const role = input.role ?? owner.role;
    if (!roleAtLeast(owner.role, role)) throw new ForbiddenError(`a ${owner.role} cannot create a ${role} token`);
    const token = TOKEN_PREFIX + randomBytes(30).toString('base64url');
    const id = await this.store.users.insertToken({
      user_id: owner.userId, name: input.name, token_hash: sha256(token), prefix: token.slice(0, TOKEN_PREFIX.length + 6), role,
      created_at: now, expires_at: input.expiresInDays !== undefined ? now + input.expiresInDays * 86_400_000 : null, last_used_at: null, revoked_at: null,
    });
    const row = await this.store.users.findToken(id);
    if (row === undefined) throw new Error('token vanished');
    return { token, row };
  }

  async revokeToken(actor: Principal, id: number, now: number) {
    const t = await this.store.users.findToken(id);
    if (t === undefined || (t.user_id !== actor.userId && actor.role !== 'admin')) throw new NotFoundError('token not found');
    await this.store.users.revokeToken(id, now);
    return t;
  }

  async createUser(input: { email: string; name?: string | undefined; role: Role; password: string }, now: number): Promise<number> {
    const hash = await hashPassword(input.password, this.cost);
    try {
      return await this.store.users.insert({
        email: normaliseEmail(input.email), name: input.name ?? '', role: input.role, password_hash: hash, created_at: now, updated_at: now,
        disabled_at: null, last_login_at: null,
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`a user with email ${normaliseEmail(input.email)} already exists`);
      throw err;
    }
  }

  async updateUser(actor: Principal, id: number, input: { name?: string | undefined; role?: Role | undefined; disabled?: boolean | undefined; password?: string | undefined }, now: number) {
    const hash = input.password !== undefined ? await hashPassword(input.password, this.cost) : undefined;
    return this.store.transaction(async (tx) => {
      const user = await tx.users.findById(id);
      if (user === undefined) throw new NotFoundError('user not found');
      const demotes = (input.role !== undefined && input.role !== 'admin') || input.disabled === true;
      if (user.role === 'admin' && user.disabled_at === null && demotes && (await tx.users.countActiveAdmins()) <= 1) {
        throw new ValidationError('the last active admin cannot be demoted or disabled');
      }
      if (id === actor.userId && input.disabled === true) throw new ValidationError('you cannot disable your own account');
      await tx.users.update(id, {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.role !== undefined ? { role: input.role } : {}),
        ...(input.disabled !== undefined ? { disabled_at: input.disabled ? now : null } : {}),
        ...(hash !== undefined ? { password_hash: hash } : {}),
        updated_at: now,
      });
      // A new password or a disabled account ends every session of that user.
      if (hash !== undefined || input.disabled === true) await tx.users.revokeAllSessions(id, now);
      const updated = await tx.users.findById(id);
      if (updated === undefined) throw new NotFoundError('user not found');
      return updated;
    });
  }

  async deleteUser(actor: Principal, id: number): Promise<void> {
    await this.store.transaction(async (tx) => {
      const user = await tx.users.findById(id);
      if (user === undefined) throw new NotFoundError('user not found');
      if (id === actor.userId) throw new ValidationError('you cannot delete your own account');
      if (user.role === 'admin' && user.disabled_at === null && (await tx.users.countActiveAdmins()) <= 1) {
        throw new ValidationError('the last active admin cannot be deleted');
      }
      await tx.users.delete(id);
    });
  }
}
