import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

export const DEFAULT_GROUP = 'default';

export function createGroupRepository(db: Kysely<Database>) {
  return {
    findById(id: number) {
      return db.selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst();
    },

    findByName(name: string) {
      return db.selectFrom('groups').selectAll().where('name', '=', name).executeTakeFirst();
    },

    list() {
      return db.selectFrom('groups').selectAll().orderBy('id').execute();
    },

    async create(name: string, now: number, description = ''): Promise<number> {
      const r = await db
        .insertInto('groups')
        .values({ name, description, options: '{}', created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      return r.id;
    },

    /** The active (not revoked) secret with this exact value, with its group. */
    /** A secret with this value, revoked or not. */
    findSecretByValue(secret: string) {
      return db.selectFrom('enroll_secrets').select(['id', 'group_id', 'name', 'revoked_at']).where('secret', '=', secret).executeTakeFirst();
    },

    findActiveSecret(secret: string) {
      return db
        .selectFrom('enroll_secrets')
        .select(['id', 'group_id', 'name'])
        .where('secret', '=', secret)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
    },

    listSecrets(groupId?: number) {
      let q = db.selectFrom('enroll_secrets').selectAll().orderBy('id');
      if (groupId !== undefined) q = q.where('group_id', '=', groupId);
      return q.execute();
    },

    async addSecret(groupId: number, secret: string, name: string, now: number): Promise<number> {
      const r = await db
        .insertInto('enroll_secrets')
        .values({ group_id: groupId, secret, name, created_at: now, revoked_at: null })
        .returning('id')
        .executeTakeFirstOrThrow();
      return r.id;
    },

    findSecret(id: number) {
      return db.selectFrom('enroll_secrets').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async update(id: number, values: { name?: string; description?: string; options?: string }, now: number): Promise<void> {
      await db.updateTable('groups').set({ ...values, updated_at: now }).where('id', '=', id).execute();
    },

    /** Deletes the group and (by cascade) its secrets and pack targets; the caller moves its hosts first. */
    async delete(id: number): Promise<boolean> {
      const r = await db.deleteFrom('groups').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },

    /** Active secrets per group. */
    async activeSecretCounts(): Promise<Map<number, number>> {
      const rows = await db
        .selectFrom('enroll_secrets')
        .select((eb) => ['group_id', eb.fn.countAll().as('n')])
        .where('revoked_at', 'is', null)
        .groupBy('group_id')
        .execute();
      return new Map(rows.map((r) => [r.group_id, Number(r.n)]));
    },

    async revokeSecret(id: number, now: number): Promise<boolean> {
      const r = await db.updateTable('enroll_secrets').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
  };
}

export type GroupRepository = ReturnType<typeof createGroupRepository>;
