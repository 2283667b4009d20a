import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { AgentsTable, AgentUpdateReportsTable, Database } from '../schema.js';

export type AgentRow = Selectable<AgentsTable>;
export type AgentUpdateReportRow = Selectable<AgentUpdateReportsTable>;
export type NewAgentUpdateReport = Omit<Insertable<AgentUpdateReportsTable>, 'id'>;

/** What an agent reports about itself at each check-in. */
export interface AgentReportedState {
  hostname: string;
  os: string;
  arch: string;
  agent_version: string;
  osquery_version: string;
  auto_update: number;
}

export function createAgentRepository(db: Kysely<Database>) {
  return {
    findByKeyHash(keyHash: string): Promise<AgentRow | undefined> {
      return db.selectFrom('agents').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
    },

    findById(id: number): Promise<AgentRow | undefined> {
      return db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
    },

    findByHardwareUuid(uuid: string): Promise<AgentRow | undefined> {
      return db.selectFrom('agents').selectAll().where('hardware_uuid', '=', uuid).orderBy('id', 'desc').executeTakeFirst();
    },

    /** The agent of an osquery host, if one is linked. */
    findByHost(hostId: number): Promise<AgentRow | undefined> {
      return db.selectFrom('agents').selectAll().where('host_id', '=', hostId).orderBy('checked_in_at', 'desc').executeTakeFirst();
    },

    async insert(v: { key_hash: string; group_id: number; hardware_uuid: string; enrolled_at: number } & AgentReportedState): Promise<number> {
      const r = await db.insertInto('agents').values({ ...v, host_id: null, checked_in_at: v.enrolled_at }).returning('id').executeTakeFirstOrThrow();
      return r.id;
    },

    /** Re-enrollment of a known machine: a fresh key (the old one dies at once). */
    async rekey(id: number, v: { key_hash: string; group_id: number; enrolled_at: number } & AgentReportedState): Promise<void> {
      await db.updateTable('agents').set({ ...v, checked_in_at: v.enrolled_at }).where('id', '=', id).execute();
    },

    async recordCheckIn(id: number, v: AgentReportedState, hostId: number | null, at: number): Promise<void> {
      await db.updateTable('agents').set({ ...v, host_id: hostId, checked_in_at: at }).where('id', '=', id).execute();
    },

    /**
     * The osquery host of a machine: `--host_identifier=uuid` makes the hardware UUID osquery's
     * identifier; `system_info.uuid` (hardware_uuid) covers hosts enrolled with another identifier.
     * Case-insensitive (DMI and osquery differ in case). Clones sharing a UUID: the most recently seen.
     */
    async findHostByUuid(uuid: string): Promise<{ id: number; seen_at: number | null } | undefined> {
      const u = uuid.toUpperCase();
      return db
        .selectFrom('hosts')
        .leftJoin('host_seen', 'host_seen.host_id', 'hosts.id')
        .select(['hosts.id', 'host_seen.seen_at'])
        .where((eb) => eb.or([eb(sql<string>`upper(hosts.identifier)`, '=', u), eb(sql<string>`upper(hosts.hardware_uuid)`, '=', u)]))
        .orderBy(sql`coalesce(host_seen.seen_at, 0)`, 'desc')
        .orderBy('hosts.id', 'desc')
        .executeTakeFirst();
    },

    /** When a version was first approved for a platform (undefined = never): orders builds by approval history. */
    async firstApproval(kind: string, os: string, arch: string, version: string): Promise<number | undefined> {
      const r = await db
        .selectFrom('update_approvals')
        .select((eb) => eb.fn.min<number | string | null>('approved_at').as('at'))
        .where('kind', '=', kind).where('os', '=', os).where('arch', '=', arch).where('version', '=', version)
        .executeTakeFirst();
      // PostgreSQL returns bigint aggregates as strings.
      return r?.at === null || r?.at === undefined ? undefined : Number(r.at);
    },

    async insertReport(v: NewAgentUpdateReport): Promise<number> {
      const r = await db.insertInto('agent_update_reports').values(v).returning('id').executeTakeFirstOrThrow();
      return r.id;
    },

    listReports(agentId: number, limit: number): Promise<AgentUpdateReportRow[]> {
      return db.selectFrom('agent_update_reports').selectAll().where('agent_id', '=', agentId).orderBy('id', 'desc').limit(limit).execute();
    },
  };
}
