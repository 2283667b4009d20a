import Type from 'typebox';
import { Carve, CarveList, CarvesQuery, ErrorBody, IdParams } from '@mimir/api-contract';
import type { CarvesView } from '../../services/results/carves.view.js';
import type { ApiApp, CoreServices } from '../api.types.js';
import { presentCarve } from './packs.presenters.js';

const tags = ['carves'];

/** File carves: list, details, and the archive itself (streamed; every download is audited). */
export function registerCarveRoutes(app: ApiApp, carves: CarvesView, core: Pick<CoreServices, 'audit'>): void {
  app.get('/carves', {
    config: { permission: 'carves:read' },
    schema: { tags, summary: 'List file carves, newest first', querystring: CarvesQuery, response: { 200: CarveList, 400: ErrorBody } },
  }, async (req) => {
    const page = await carves.list({ hostId: req.query.hostId, status: req.query.status, cursor: req.query.cursor, limit: req.query.limit ?? 50 });
    return { items: page.items.map(presentCarve), nextCursor: page.nextCursor };
  });

  app.get('/carves/:id', {
    config: { permission: 'carves:read' },
    schema: { tags, summary: 'Get a carve', params: IdParams, response: { 200: Carve, 404: ErrorBody } },
  }, async (req) => presentCarve(await carves.get(req.params.id)));

  app.get('/carves/:id/download', {
    // Audited by the handler, not by `config.audit`: the onResponse hook runs on the response's
    // 'finish', which never comes when a client closes the socket as soon as it has content-length
    // bytes, before the file stream's end reaches res.end() (seen under load). A download is
    // recorded when the archive is opened for this operator, whether or not they read it all.
    config: { permission: 'carves:read' },
    schema: {
      tags, summary: 'Download a finished carve (tar, or tar.zst when osquery compressed it)',
      params: IdParams, produces: ['application/x-tar', 'application/zstd'], response: { 200: Type.Unknown({ description: 'The archive bytes' }), 404: ErrorBody },
    },
  }, async (req, reply) => {
    const archive = await carves.open(req.params.id);
    const compressed = archive.carve.compressed;
    // The stored file is named after the carve session id, which authenticates block uploads: keep it private.
    const fileName = `carve-${archive.carve.id}.tar${compressed ? '.zst' : ''}`;
    try {
      await core.audit.record({
        actorId: req.principal?.userId ?? null,
        actorEmail: req.principal?.email ?? '',
        action: 'carve.download',
        targetType: 'carve',
        targetId: archive.carve.id,
        ip: req.ip,
        details: { hostId: archive.carve.hostId, sha256: archive.carve.sha256, size: archive.size },
      });
    } catch (err) {
      // No audit entry, no download.
      archive.stream.destroy();
      throw err;
    }
    return reply
      .header('content-type', compressed ? 'application/zstd' : 'application/x-tar')
      .header('content-length', String(archive.size))
      .header('content-disposition', `attachment; filename="${fileName}"`)
      .header('x-content-sha256', archive.carve.sha256)
      .header('cache-control', 'no-store')
      .send(archive.stream);
  });
}
