import type { Insertable, Kysely, Updateable } from 'kysely';
import type { CarvesTable, Database } from '../schema.js';

export type NewCarve = Insertable<CarvesTable>;

export function createCarveRepository(db: Kysely<Database>) {
  return {
    async create(values: NewCarve): Promise<number> {
      const r = await db.insertInto('carves').values(values).returning('id').executeTakeFirstOrThrow();
      return r.id;
    },

    findBySession(sessionId: string) {
      return db.selectFrom('carves').selectAll().where('session_id', '=', sessionId).executeTakeFirst();
    },

    findById(id: number) {
      return db.selectFrom('carves').selectAll().where('id', '=', id).executeTakeFirst();
    },

    list(filter: { hostId?: number; limit?: number }) {
      let q = db.selectFrom('carves').selectAll().orderBy('id', 'desc').limit(filter.limit ?? 100);
      if (filter.hostId !== undefined) q = q.where('host_id', '=', filter.hostId);
      return q.execute();
    },

    /** Record a block; false when that block id was already recorded (a resend). */
    async addBlock(carveId: number, blockId: number, size: number): Promise<boolean> {
      const r = await db
        .insertInto('carve_blocks')
        .values({ carve_id: carveId, block_id: blockId, size })
        .onConflict((oc) => oc.columns(['carve_id', 'block_id']).doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
    },

    async incrementReceived(carveId: number, now: number): Promise<number> {
      const r = await db
        .updateTable('carves')
        .set((eb) => ({ blocks_received: eb('blocks_received', '+', 1), updated_at: now }))
        .where('id', '=', carveId)
        .returning('blocks_received')
        .executeTakeFirstOrThrow();
      return r.blocks_received;
    },

    async update(carveId: number, values: Updateable<CarvesTable>): Promise<void> {
      await db.updateTable('carves').set(values).where('id', '=', carveId).execute();
    },

    async count(): Promise<number> {
      const r = await db.selectFrom('carves').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return r.n;
    },

    async countBlocks(): Promise<number> {
      const r = await db.selectFrom('carve_blocks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return r.n;
    },

    /** Unfinished carves last touched before `before`. */
    listStale(before: number) {
      return db.selectFrom('carves').selectAll().where('status', '=', 'in_progress').where('updated_at', '<', before).execute();
    },
  };
}

export type CarveRepository = ReturnType<typeof createCarveRepository>;
