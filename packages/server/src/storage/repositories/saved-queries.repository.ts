import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { Database, SavedQueriesTable } from '../schema.js';
import { likeContains } from '../sql-helpers.js';

export type SavedQueryRow = Selectable<SavedQueriesTable>;

export interface SavedQueryFilter {
  /** Keyset: names after this one (the list is ordered by name). */
  afterName?: string | undefined;
  limit: number;
  /** Free text over name, description and SQL. */
  q?: string | undefined;
  prebuilt?: boolean | undefined;
}

export function createSavedQueryRepository(db: Kysely<Database>) {
  return {
    findById(id: number) {
      return db.selectFrom('saved_queries').selectAll().where('id', '=', id).executeTakeFirst();
    },
    findByName(name: string) {
      return db.selectFrom('saved_queries').selectAll().where('name', '=', name).executeTakeFirst();
    },
    /** Ordered by name (how the console lists them), keyset-paged by name. */
    list(f: SavedQueryFilter) {
      let q = db.selectFrom('saved_queries').selectAll().orderBy('name').limit(f.limit);
      if (f.afterName !== undefined) q = q.where('name', '>', f.afterName);
      if (f.prebuilt !== undefined) q = q.where('prebuilt', '=', f.prebuilt ? 1 : 0);
      if (f.q !== undefined && f.q !== '') {
        const text = f.q;
        q = q.where((eb) => eb.or(['name', 'description', 'sql'].map((c) => likeContains(c, text))));
      }
      return q.execute();
    },
    listPrebuilt() {
      return db.selectFrom('saved_queries').selectAll().where('prebuilt', '=', 1).orderBy('name').execute();
    },
    async insert(values: Insertable<SavedQueriesTable>): Promise<number> {
      const r = await db.insertInto('saved_queries').values(values).returning('id').executeTakeFirstOrThrow();
      return r.id;
    },
    async update(id: number, values: Updateable<SavedQueriesTable>): Promise<boolean> {
      const r = await db.updateTable('saved_queries').set(values).where('id', '=', id).executeTakeFirst();
      return r.numUpdatedRows > 0n;
    },
    async delete(id: number): Promise<boolean> {
      const r = await db.deleteFrom('saved_queries').where('id', '=', id).executeTakeFirst();
      return r.numDeletedRows > 0n;
    },
  };
}

export type SavedQueryRepository = ReturnType<typeof createSavedQueryRepository>;
