import type { Insertable, Kysely, Updateable } from 'kysely';
import type { ApiTokensTable, Database, UsersTable } from '../schema.js';

export function createUserRepository(db: Kysely<Database>) {
  return {
    async count(): Promise<number> {
      const r = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return r.n;
    },
    findById(id: number) {
      return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    },
    findByEmail(email: string) {
      return db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    },
    /** Keyset page by id ascending. */
    list(afterId: number, limit: number) {
      return db.selectFrom('users').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute();
    },
    async insert(values: Insertable<UsersTable>): Promise<number> {
      const r = await db.insertInto('users').values(values).returning('id').executeTakeFirstOrThrow();
      return r.id;
    },
    async update(id: number, values: Updateable<UsersTable>): Promise<void> {
      await db.updateTable('users').set(values).where('id', '=', id).execute();
    },
    async delete(id: number): Promise<boolean> {
      const r = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
      return r.numDeletedRows > 0n;
    },
    async countActiveAdmins(): Promise<number> {
      const r = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where('role', '=', 'admin').where('disabled_at', 'is', null).executeTakeFirstOrThrow();
      return r.n;
    },

    // Sessions
    async insertSession(values: { id: string; user_id: number; created_at: number; last_used_at: number; expires_at: number; ip: string; user_agent: string }): Promise<void> {
      await db.insertInto('sessions').values({ ...values, revoked_at: null }).execute();
    },
    findSession(id: string) {
      return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    },
    listSessions(userId: number, now: number) {
      return db.selectFrom('sessions').selectAll().where('user_id', '=', userId).where('revoked_at', 'is', null).where('expires_at', '>', now).orderBy('created_at', 'desc').execute();
    },
    async touchSession(id: string, lastUsedAt: number, expiresAt: number): Promise<void> {
      await db.updateTable('sessions').set({ last_used_at: lastUsedAt, expires_at: expiresAt }).where('id', '=', id).execute();
    },
    async revokeSession(id: string, userId: number, now: number): Promise<boolean> {
      const r = await db.updateTable('sessions').set({ revoked_at: now }).where('id', '=', id).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
      return r.numUpdatedRows > 0n;
    },
    async revokeAllSessions(userId: number, now: number): Promise<number> {
      const r = await db.updateTable('sessions').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
    async deleteExpiredSessions(now: number): Promise<number> {
      const r = await db.deleteFrom('sessions').where('expires_at', '<', now).executeTakeFirst();
      return Number(r.numDeletedRows);
    },

    // API tokens
    async insertToken(values: Insertable<ApiTokensTable>): Promise<number> {
      const r = await db.insertInto('api_tokens').values(values).returning('id').executeTakeFirstOrThrow();
      return r.id;
    },
    findTokenByHash(hash: string) {
      return db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    },
    findToken(id: number) {
      return db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    },
    listTokens(userId?: number) {
      let q = db.selectFrom('api_tokens').selectAll().orderBy('id');
      if (userId !== undefined) q = q.where('user_id', '=', userId);
      return q.execute();
    },
    async touchToken(id: number, now: number): Promise<void> {
      await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', id).execute();
    },
    async revokeToken(id: number, now: number): Promise<boolean> {
      const r = await db.updateTable('api_tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return r.numUpdatedRows > 0n;
    },
  };
}

export type UserRepository = ReturnType<typeof createUserRepository>;
