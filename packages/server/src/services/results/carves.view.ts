/**
 * The operator's view of file carves (osquery-protocol.md §6): a keyset-paginated list with host
 * names, one carve, and its archive for download. Receiving carves stays in CarveService.
 */
import { BadRequestError } from '../../errors.js';
import { decodeCursor, encodeCursor } from '../../storage/sql-helpers.js';
import type { Store } from '../../storage/store.js';
import { CARVE_STATUSES, type CarveArchive, type CarveService, type CarveStatus } from '../carves/carve.service.js';

export interface CarveItem {
  id: number;
  hostId: number;
  hostname: string;
  carveGuid: string;
  requestId: string;
  status: CarveStatus;
  blockCount: number;
  blockSize: number;
  carveSize: number;
  blocksReceived: number;
  sha256: string;
  compressed: boolean;
  error: string;
  downloadable: boolean;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
}

type CarveRow = Awaited<ReturnType<Store['results']['carves']>>[number];

function statusOf(s: string): CarveStatus {
  return (CARVE_STATUSES as readonly string[]).includes(s) ? (s as CarveStatus) : 'failed';
}

function itemOf(r: CarveRow): CarveItem {
  const status = statusOf(r.status);
  return {
    id: r.id,
    hostId: r.host_id,
    hostname: r.hostname ?? '',
    carveGuid: r.carve_guid,
    requestId: r.request_id,
    status,
    blockCount: r.block_count,
    blockSize: r.block_size,
    carveSize: r.carve_size,
    blocksReceived: r.blocks_received,
    sha256: r.sha256,
    // CarveService names finished zstd archives `<session>.tar.zst` (carve.service.ts).
    compressed: r.path.endsWith('.zst'),
    error: r.error,
    downloadable: status === 'complete' && r.path !== '',
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    completedAt: r.completed_at,
  };
}

export class CarvesView {
  constructor(private readonly store: Store, private readonly carves: CarveService) {}

  async list(f: { hostId?: number | undefined; status?: string | undefined; cursor?: string | undefined; limit: number }): Promise<{ items: CarveItem[]; nextCursor: string | null }> {
    let beforeId: number | undefined;
    if (f.cursor !== undefined && f.cursor !== '') {
      const v = decodeCursor(f.cursor);
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new BadRequestError('cursor is not one this API returned');
      beforeId = v;
    }
    const rows = await this.store.results.carves({ hostId: f.hostId, status: f.status, beforeId, limit: f.limit + 1 });
    const page = rows.slice(0, f.limit);
    const last = page[page.length - 1];
    return { items: page.map(itemOf), nextCursor: rows.length > f.limit && last !== undefined ? encodeCursor(last.id) : null };
  }

  async get(id: number): Promise<CarveItem> {
    const carve = await this.carves.getCarve(id);
    const hostname = (await this.store.results.hostnames([carve.hostId])).get(carve.hostId) ?? '';
    return {
      id: carve.id,
      hostId: carve.hostId,
      hostname,
      carveGuid: carve.carveGuid,
      requestId: carve.requestId,
      status: carve.status,
      blockCount: carve.blockCount,
      blockSize: carve.blockSize,
      carveSize: carve.carveSize,
      blocksReceived: carve.blocksReceived,
      sha256: carve.sha256,
      compressed: carve.compressed,
      error: carve.error,
      downloadable: carve.status === 'complete',
      createdAt: carve.createdAt,
      updatedAt: carve.updatedAt,
      completedAt: carve.completedAt,
    };
  }

  /** The finished archive as a stream (NotFoundError until the carve is complete). */
  open(id: number): Promise<CarveArchive> {
    return this.carves.openCarveStream(id);
  }
}
