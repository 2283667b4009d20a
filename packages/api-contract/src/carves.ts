/** File carves received from osquery (osquery-protocol.md §6): listing and download. */
import Type from 'typebox';
import { Id, NullableTimestamp, Page, Timestamp } from './common.js';

export const CarveStatus = Type.Union([Type.Literal('in_progress'), Type.Literal('complete'), Type.Literal('failed'), Type.Literal('expired')]);

export const Carve = Type.Object({
  id: Id,
  hostId: Id,
  hostname: Type.String(),
  carveGuid: Type.String({ description: 'osquery carves.carve_guid' }),
  requestId: Type.String({ description: 'The distributed query id that started the carve' }),
  status: CarveStatus,
  blockCount: Type.Integer(),
  blockSize: Type.Integer(),
  carveSize: Type.Integer({ description: 'Bytes' }),
  blocksReceived: Type.Integer(),
  sha256: Type.String({ description: 'Hex SHA-256 of the archive; empty until complete' }),
  compressed: Type.Boolean({ description: 'zstd-compressed archive (--carver_compression)' }),
  error: Type.String(),
  downloadable: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  completedAt: NullableTimestamp,
});
export type Carve = Type.Static<typeof Carve>;
export const CarveList = Page(Carve);
export type CarveList = Type.Static<typeof CarveList>;

export const CarvesQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  hostId: Type.Optional(Type.Integer({ minimum: 1 })),
  status: Type.Optional(CarveStatus),
});
