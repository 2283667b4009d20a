import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

export interface PackForConfig {
  id: number;
  name: string;
  platform: string;
  min_osquery_version: string;
  discovery: string;
  /** Percentage of the group's hosts that run it. */
  shard: number;
  queries: Array<{
    name: string; description: string; sql: string; interval: number; snapshot: number; removed: number;
    platform: string; min_osquery_version: string; shard: number | null; denylist: number; value: string;
  }>;
}

export function createPackRepository(db: Kysely<Database>) {
  return {
    /** Enabled packs deployed to a group, directly or globally, with their queries. */
    async listForGroup(groupId: number): Promise<PackForConfig[]> {
      const packs = await db
        .selectFrom('packs')
        .leftJoin('pack_targets', (j) => j.onRef('pack_targets.pack_id', '=', 'packs.id').on('pack_targets.group_id', '=', groupId))
        .select([
          'packs.id', 'packs.name', 'packs.platform', 'packs.min_osquery_version', 'packs.discovery', 'packs.global',
          'packs.global_shard', 'pack_targets.shard as target_shard',
        ])
        .where('packs.enabled', '=', 1)
        .where((eb) => eb.or([eb('packs.global', '=', 1), eb('pack_targets.group_id', 'is not', null)]))
        .orderBy('packs.name')
        .execute();
      if (packs.length === 0) return [];
      const queries = await db
        .selectFrom('pack_queries')
        .select([
          'pack_id', 'name', 'description', 'sql', 'interval', 'snapshot', 'removed', 'platform', 'min_osquery_version',
          'shard', 'denylist', 'value',
        ])
        .where('pack_id', 'in', packs.map((p) => p.id))
        .orderBy('name')
        .execute();
      return packs.map((p) => ({
        id: p.id,
        name: p.name,
        platform: p.platform,
        min_osquery_version: p.min_osquery_version,
        discovery: p.discovery,
        // A group-specific target wins over the global shard (Elastic: one deployment per policy).
        shard: p.target_shard ?? (p.global === 1 ? p.global_shard : 100),
        queries: queries.filter((q) => q.pack_id === p.id).map(({ pack_id, ...q }) => q),
      }));
    },
  };
}

export type PackRepository = ReturnType<typeof createPackRepository>;
