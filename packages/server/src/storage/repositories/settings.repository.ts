import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

/** Key/value settings stored as JSON text. */
export function createSettingsRepository(db: Kysely<Database>) {
  return {
    async get(key: string): Promise<unknown> {
      const r = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
      return r === undefined ? undefined : (JSON.parse(r.value) as unknown);
    },

    async set(key: string, value: unknown, now: number): Promise<void> {
      const json = JSON.stringify(value);
      await db
        .insertInto('settings')
        .values({ key, value: json, updated_at: now })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: json, updated_at: now }))
        .execute();
    },
  };
}

export type SettingsRepository = ReturnType<typeof createSettingsRepository>;
