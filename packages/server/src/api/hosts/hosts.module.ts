/**
 * The hosts area of the operator API (issue #4 "Hosts", "Labels and groups"): hosts, groups with
 * enroll secrets, labels, and target resolution. Constructs its services, registers its routes,
 * publishes the TargetResolver on `core.hub.targets` (live queries and packs use it), and runs the
 * dynamic-label timer for as long as the server runs.
 */
import { GroupsService } from '../../services/hosts/groups.service.js';
import { HostStatusService } from '../../services/hosts/host-status.js';
import { HostsService } from '../../services/hosts/hosts.service.js';
import { TargetsService } from '../../services/hosts/targets.service.js';
import { LabelsService } from '../../services/labels/labels.service.js';
import type { ApiApp, CoreServices } from '../api.types.js';
import { registerGroupRoutes } from './groups.routes.js';
import { registerHostRoutes } from './hosts.routes.js';
import { registerLabelRoutes } from './labels.routes.js';

export interface HostsArea {
  status: HostStatusService;
  hosts: HostsService;
  groups: GroupsService;
  labels: LabelsService;
  targets: TargetsService;
}

const areas = new WeakMap<CoreServices, HostsArea>();

/** The running hosts area of a server (tests drive the label scheduler through it). */
export function hostsAreaOf(core: CoreServices): HostsArea {
  const area = areas.get(core);
  if (area === undefined) throw new Error('the hosts area is not registered on this server');
  return area;
}

export async function registerHostsArea(app: ApiApp, core: CoreServices): Promise<void> {
  const status = new HostStatusService(core.store, core.cache, core.settings, core.log);
  const hosts = new HostsService({ store: core.store, cache: core.cache, status, log: core.log });
  const labels = new LabelsService({ store: core.store, cache: core.cache, distributed: core.distributed, hub: core.hub, log: core.log, now: () => core.now(), cluster: core.cluster });
  const groups = new GroupsService({
    store: core.store,
    cache: core.cache,
    secrets: core.secrets,
    osqueryConfig: core.osqueryConfig,
    settings: { dataDir: core.settings.dataDir, configRefresh: core.settings.configRefresh },
    onHostsChanged: () => {
      // Group options decide the online window; membership decides the summary.
      status.invalidate();
      hosts.invalidateSummary();
    },
  });
  const targets = new TargetsService(core.store, status);
  const area: HostsArea = { status, hosts, groups, labels, targets };
  areas.set(core, area);
  core.hub.targets = targets;

  labels.start();
  app.addHook('onClose', async () => {
    await labels.stop();
  });

  registerHostRoutes(app, core, area);
  registerGroupRoutes(app, core, area);
  registerLabelRoutes(app, core, area);
  await Promise.resolve();
}
