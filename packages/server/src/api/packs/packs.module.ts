import { PacksService } from '../../services/packs/packs.service.js';
import { CarvesView } from '../../services/results/carves.view.js';
import { ResultsService } from '../../services/results/results.service.js';
import { SettingsService } from '../../services/settings/settings.service.js';
import type { ApiApp, CoreServices } from '../api.types.js';
import { registerCarveRoutes } from './carves.routes.js';
import { registerPackRoutes } from './packs.routes.js';
import { registerResultRoutes } from './results.routes.js';
import { registerSettingsRoutes } from './settings.routes.js';

/**
 * The packs area of the operator API (issue #4 "Packs", "Results", "Settings"): packs, scheduled
 * results, carves and settings. Configs embed packs and global options, so every change here
 * invalidates the osquery config cache.
 */
export async function registerPacksArea(app: ApiApp, core: CoreServices): Promise<void> {
  const invalidateConfigs = () => core.osqueryConfig.invalidate();
  const now = () => core.now();
  const packs = new PacksService({ store: core.store, hub: core.hub, invalidateConfigs, now });
  registerPackRoutes(app, packs);
  registerResultRoutes(app, new ResultsService(core.store, core.hub));
  registerCarveRoutes(app, new CarvesView(core.store, core.carves), core);
  registerSettingsRoutes(app, new SettingsService(core.store, { now, invalidateConfigs }), core);
  await Promise.resolve();
}
