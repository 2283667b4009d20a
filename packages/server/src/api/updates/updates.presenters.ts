/** Update rows → API shapes (snake_case → camelCase; only these fields leave the server). */
import type { UpdateArtifact, UpdateBinary, UpdateKind } from '@mimir/api-contract';
import type { UpdateArtifactRow, UpdateBinaryRow } from '../../storage/repositories/updates.repository.js';
import type { BinaryStatus, UpdatesService } from '../../services/updates/updates.service.js';
import { iso, isoOrNull } from '../presenters.js';

export function presentArtifact(r: UpdateArtifactRow, binary: BinaryStatus, presets: readonly number[]): UpdateArtifact {
  return {
    id: r.id,
    kind: r.kind as UpdateKind,
    version: r.version,
    os: r.os,
    arch: r.arch,
    platform: `${r.os}/${r.arch}`,
    url: r.url,
    sha256: r.sha256,
    signature: r.signature,
    timestamp: r.timestamp,
    keyId: r.key_id,
    status: r.approved_at === null ? 'pending' : 'approved',
    rollout: r.rollout,
    rolloutPresets: [...presets],
    deletable: r.rollout === 0,
    addedAt: iso(r.added_at),
    addedBy: r.added_by_email,
    approvedAt: isoOrNull(r.approved_at),
    approvedBy: r.approved_by_email,
    binary,
  };
}

/** Present rows with their binary status (one look-up of stored binaries for the whole page). */
export async function presentArtifacts(svc: UpdatesService, kind: UpdateKind, rows: readonly UpdateArtifactRow[]): Promise<UpdateArtifact[]> {
  const index = await svc.binaryIndex();
  return rows.map((r) => presentArtifact(r, svc.binaryStatus(r, index), svc.presets(kind)));
}

export function presentBinary(svc: UpdatesService, b: UpdateBinaryRow): UpdateBinary {
  return {
    id: b.id,
    kind: b.kind as UpdateKind,
    os: b.os,
    arch: b.arch,
    version: b.version,
    url: svc.binaryUrlOf(b),
    sha256: b.sha256,
    size: b.size,
    uploadedAt: iso(b.uploaded_at),
    uploadedBy: b.uploaded_by_email,
  };
}
