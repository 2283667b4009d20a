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

    async revokeSecret(id: number, now: number): Promise<boolean> {
      const r = await db.updateTable('enroll_secrets').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
  };
}

export type GroupRepository = ReturnType<typeof createGroupRepository>;
