import type { Insertable, Kysely, Selectable } from 'kysely';
import type { Database, UpdateArtifactsTable, UpdateBinariesTable } from '../schema.js';

export type UpdateArtifactRow = Selectable<UpdateArtifactsTable>;
export type UpdateBinaryRow = Selectable<UpdateBinariesTable>;
export type NewUpdateArtifact = Insertable<UpdateArtifactsTable>;
export type NewUpdateBinary = Omit<Insertable<UpdateBinariesTable>, 'id'>;

export interface Actor {
  id: number | null;
  email: string;
}

export interface ArtifactListFilter {
  kind: string;
  /** Keyset: rows with a smaller id (newest first). */
  beforeId?: number | undefined;
  limit: number;
  os?: string | undefined;
  arch?: string | undefined;
  status?: 'pending' | 'approved' | undefined;
}

/** An approved row as the serving decision needs it. */
export interface ServingRow {
  id: number;
  version: string;
  url: string;
  sha256: string;
  signature: string;
  timestamp: string;
  rollout: number;
  approved_at: number;
}

/** A host of one OS as progress needs it: the hosts row plus its last agent check, if any. */
export interface ProgressHostRow {
  id: number;
  platform: string;
  arch: string;
  osquery_version: string;
  agent_version: string;
  detail_updated_at: number;
  check_os: string | null;
  check_arch: string | null;
  check_osquery_version: string | null;
  check_auto_update: number | null;
  checked_at: number | null;
}

export interface HostCheckValues {
  os: string;
  arch: string;
  osqueryVersion: string;
  agentVersion: string;
  autoUpdate: boolean;
}

export function createUpdatesRepository(db: Kysely<Database>) {
  return {
    listArtifacts(f: ArtifactListFilter): Promise<UpdateArtifactRow[]> {
      let q = db.selectFrom('update_artifacts').selectAll().where('kind', '=', f.kind).orderBy('id', 'desc').limit(f.limit);
      if (f.beforeId !== undefined) q = q.where('id', '<', f.beforeId);
      if (f.os !== undefined) q = q.where('os', '=', f.os);
      if (f.arch !== undefined) q = q.where('arch', '=', f.arch);
      if (f.status === 'pending') q = q.where('approved_at', 'is', null);
      if (f.status === 'approved') q = q.where('approved_at', 'is not', null);
      return q.execute();
    },

    findArtifact(kind: string, id: number): Promise<UpdateArtifactRow | undefined> {
      return db.selectFrom('update_artifacts').selectAll().where('kind', '=', kind).where('id', '=', id).executeTakeFirst();
    },

    findArtifactByIdentity(kind: string, os: string, arch: string, version: string): Promise<UpdateArtifactRow | undefined> {
      return db.selectFrom('update_artifacts').selectAll().where((eb) => eb.and({ kind, os, arch, version })).executeTakeFirst();
    },

    async insertArtifact(values: NewUpdateArtifact): Promise<number> {
      const r = await db.insertInto('update_artifacts').values(values).returning('id').executeTakeFirstOrThrow();
      return r.id;
    },

    /** Mark approved (again) and append to the approval history. Call inside a transaction. */
    async approveArtifact(row: UpdateArtifactRow, at: number, by: Actor): Promise<void> {
      await db
        .updateTable('update_artifacts')
        .set({ approved_at: at, approved_by_id: by.id, approved_by_email: by.email, updated_at: at })
        .where('id', '=', row.id)
        .execute();
      await db
        .insertInto('update_approvals')
        .values({
          artifact_id: row.id, kind: row.kind, os: row.os, arch: row.arch, version: row.version,
          approved_at: at, approved_by_id: by.id, approved_by_email: by.email,
        })
        .execute();
    },

    /**
     * Set the rollout of an approved row. False when nothing changed (same value, pending, or gone):
     * the guard is in the WHERE so a concurrent approve/delete cannot slip between check and write.
     */
    async setRollout(id: number, percent: number, at: number): Promise<boolean> {
      const r = await db
        .updateTable('update_artifacts')
        .set({ rollout: percent, updated_at: at })
        .where('id', '=', id)
        .where('approved_at', 'is not', null)
        .where('rollout', '<>', percent)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    /** Delete a row whose rollout is 0; false when it is rolling out (or gone). */
    async deleteArtifact(id: number): Promise<boolean> {
      const r = await db.deleteFrom('update_artifacts').where('id', '=', id).where('rollout', '=', 0).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },

    /** Approved rows of one (kind, os, arch), most recently approved first. */
    async servingRows(kind: string, os: string, arch: string): Promise<ServingRow[]> {
      const rows = await db
        .selectFrom('update_artifacts')
        .select(['id', 'version', 'url', 'sha256', 'signature', 'timestamp', 'rollout', 'approved_at'])
        .where('kind', '=', kind)
        .where('os', '=', os)
        .where('arch', '=', arch)
        .where('approved_at', 'is not', null)
        .orderBy('approved_at', 'desc')
        .orderBy('id', 'desc')
        .execute();
      return rows.map((r) => ({ ...r, approved_at: r.approved_at ?? 0 }));
    },

    /** When a version was last approved for (kind, os, arch), deleted rows included; without a version, any approval. */
    async lastApproval(kind: string, os: string, arch: string, version?: string): Promise<number | undefined> {
      let q = db
        .selectFrom('update_approvals')
        .select((eb) => eb.fn.max<number | string | null>('approved_at').as('at'))
        .where('kind', '=', kind)
        .where('os', '=', os)
        .where('arch', '=', arch);
      if (version !== undefined) q = q.where('version', '=', version);
      const at = (await q.executeTakeFirst())?.at;
      // PostgreSQL returns bigint aggregates as strings.
      return at === null || at === undefined ? undefined : Number(at);
    },

    findBinary(kind: string, os: string, arch: string, version: string): Promise<UpdateBinaryRow | undefined> {
      return db.selectFrom('update_binaries').selectAll().where((eb) => eb.and({ kind, os, arch, version })).executeTakeFirst();
    },

    /** Insert or replace the record of a stored binary; returns its id. */
    async upsertBinary(values: NewUpdateBinary): Promise<number> {
      const r = await db
        .insertInto('update_binaries')
        .values(values)
        .onConflict((oc) =>
          oc.columns(['kind', 'os', 'arch', 'version']).doUpdateSet({
            file: values.file, sha256: values.sha256, size: values.size, uploaded_at: values.uploaded_at,
            uploaded_by_id: values.uploaded_by_id ?? null, uploaded_by_email: values.uploaded_by_email ?? '',
          }),
        )
        .returning('id')
        .executeTakeFirstOrThrow();
      return r.id;
    },

    listBinaries(f: { kind?: string | undefined; beforeId?: number | undefined; limit: number }): Promise<UpdateBinaryRow[]> {
      let q = db.selectFrom('update_binaries').selectAll().orderBy('id', 'desc').limit(f.limit);
      if (f.kind !== undefined) q = q.where('kind', '=', f.kind);
      if (f.beforeId !== undefined) q = q.where('id', '<', f.beforeId);
      return q.execute();
    },

    /** SHA-256 of every stored binary of a kind, keyed `os/arch/version`. */
    async binaryHashes(kind: string): Promise<Map<string, string>> {
      const rows = await db.selectFrom('update_binaries').select(['os', 'arch', 'version', 'sha256']).where('kind', '=', kind).execute();
      return new Map(rows.map((r) => [`${r.os}/${r.arch}/${r.version}`, r.sha256]));
    },

    /**
     * Record an agent's update check, and its agent version on the host row so hosts can be filtered
     * by it (the hosts row is only rewritten when the version changed).
     */
    async recordCheck(hostId: number, v: HostCheckValues, at: number): Promise<void> {
      const values = {
        os: v.os, arch: v.arch, osquery_version: v.osqueryVersion, agent_version: v.agentVersion,
        auto_update: v.autoUpdate ? 1 : 0, checked_at: at,
      };
      await db
        .insertInto('host_update_checks')
        .values({ host_id: hostId, ...values })
        .onConflict((oc) => oc.column('host_id').doUpdateSet(values))
        .execute();
      if (v.agentVersion !== '') {
        await db.updateTable('hosts').set({ agent_version: v.agentVersion }).where('id', '=', hostId).where('agent_version', '<>', v.agentVersion).execute();
      }
    },

    /** Hosts that are, or say they are, of this OS (the caller narrows by arch). */
    progressHosts(os: string): Promise<ProgressHostRow[]> {
      return db
        .selectFrom('hosts')
        .leftJoin('host_update_checks as c', 'c.host_id', 'hosts.id')
        .select([
          'hosts.id', 'hosts.platform', 'hosts.arch', 'hosts.osquery_version', 'hosts.agent_version', 'hosts.detail_updated_at',
          'c.os as check_os', 'c.arch as check_arch', 'c.osquery_version as check_osquery_version',
          'c.auto_update as check_auto_update', 'c.checked_at',
        ])
        .where((eb) => eb.or([eb('hosts.platform', '=', os), eb('c.os', '=', os)]))
        .execute();
    },
  };
}

export type UpdatesRepository = ReturnType<typeof createUpdatesRepository>;
