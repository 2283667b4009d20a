import { loadTrustedKeys } from '../../services/updates/manifest.js';
import { UpdatesService } from '../../services/updates/updates.service.js';
import type { ApiApp, CoreServices } from '../api.types.js';
import { registerUpdateRoutes } from './updates.routes.js';

const services = new WeakMap<CoreServices, UpdatesService>();

/**
 * The one UpdatesService of an app. The operator routes (here) and the agent-facing routes
 * (osquery/binaries.routes.ts) are registered separately and in either order, so whichever comes
 * first builds it. A bad MIMIR_UPDATE_PUBLIC_KEYS entry throws here, which stops the server at start.
 */
export function updatesServiceFor(core: CoreServices): UpdatesService {
  let svc = services.get(core);
  if (svc === undefined) {
    const keys = loadTrustedKeys(core.settings.updatePublicKeys);
    svc = new UpdatesService({ store: core.store, keys, dataDir: core.settings.dataDir, now: () => core.now(), log: core.log });
    services.set(core, svc);
    if (keys.length > 0) core.log.info({ keys: keys.map((k) => k.id) }, 'update signing keys loaded');
  }
  return svc;
}

/** Signed updates (seed 000): osquery and agent artifacts, approval, rollout, binaries. */
export async function registerUpdatesArea(app: ApiApp, core: CoreServices): Promise<void> {
  const svc = updatesServiceFor(core);
  await app.register(async (scope: ApiApp) => registerUpdateRoutes(scope, core, svc));
}
