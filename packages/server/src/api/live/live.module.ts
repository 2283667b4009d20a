import type { ApiApp, CoreServices } from '../api.types.js';
import { LiveQueryService } from '../../services/live/live-query.service.js';
import { registerLiveRoutes } from './live.routes.js';
import { StreamRegistry } from './live.stream.js';

const services = new WeakMap<CoreServices, LiveQueryService>();

/** The live query service of a running server (tests, and areas that want to reuse it). */
export function liveService(core: CoreServices): LiveQueryService | undefined {
  return services.get(core);
}

/** The live area of the operator API: constructs its services and registers its routes. */
export async function registerLiveArea(app: ApiApp, core: CoreServices): Promise<void> {
  // TODO(core): pass config `liveQueries.maxResultRows` (MIMIR_LIVE_QUERY_MAX_ROWS) once core.settings carries it.
  const service = new LiveQueryService(
    { store: core.store, distributed: core.distributed, hub: core.hub, log: core.log, now: () => core.now(), cluster: core.cluster },
    { historyDays: core.settings.liveQueryHistoryDays, maxRows: core.settings.liveQueryMaxRows },
  );
  services.set(core, service);
  const streams = new StreamRegistry();
  service.start();
  // Open SSE responses would keep close() waiting forever: end them first.
  app.addHook('preClose', async () => {
    streams.closeAll();
    await Promise.resolve();
  });
  app.addHook('onClose', async () => {
    await service.stop();
  });
  registerLiveRoutes(app, core, service, streams);
  await Promise.resolve();
}
