/**
 * Builds the config osquery fetches (osquery-protocol.md §3, S7): global options, group options,
 * decorators and the group's packs, filtered to the host's platform. The serialized JSON is cached
 * per (group, platform) and invalidated when anything it depends on changes, so a config poll that
 * finds nothing changed costs a Map lookup and no database work.
 */
import { OSQUERY_MAX_CONFIG_BYTES, platformFilterMatches, type HostPlatform, type OsqueryConfig, type OsqueryPack } from '@mimir/osquery-protocol';
import type { Cluster } from '../cluster/cluster.js';
import type { Store } from '../storage/store.js';

export interface ConfigDefaults {
  distributedInterval: number;
  loggerPeriod: number;
  configRefresh: number;
}

/** Settings key for operator-defined global osquery options. */
export const GLOBAL_OPTIONS_KEY = 'osquery.options';

/** Query names osquery refuses (O-packs, database.cpp): never serve them. */
export function isReservedQueryName(name: string): boolean {
  return /^(query\.|cache\.|config_views\.)/.test(name) || /(epoch|counter)$/.test(name);
}

/** A built config, or the reason it cannot be served (over 1 MiB: rebuilding gives the same answer). */
type CachedConfig = { body: string } | { error: string };

export class OsqueryConfigService {
  private readonly cache = new Map<string, CachedConfig>();
  /** Builds in progress: a fleet polling at once after a start or a change shares one build. */
  private readonly building = new Map<string, Promise<string>>();
  private generation = 0;

  constructor(private readonly store: Store, private readonly defaults: ConfigDefaults, private readonly cluster?: Cluster) {
    // A pack rollout or settings change made through another instance (issue #10).
    cluster?.on('configs.invalidate', () => this.dropCached());
    cluster?.on('resync', () => this.dropCached());
  }

  /** Call after any change to packs, groups, options or settings that shape configs. */
  invalidate(): void {
    this.dropCached();
    this.cluster?.publish('configs.invalidate', {});
  }

  private dropCached(): void {
    this.generation++;
    this.cache.clear();
    this.building.clear();
  }

  /** The config body (JSON text) for a host of this group and platform. */
  async configFor(groupId: number, platform: HostPlatform): Promise<string> {
    const key = `${groupId}:${platform}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      if ('error' in hit) throw new Error(hit.error);
      return hit.body;
    }
    const pending = this.building.get(key);
    if (pending !== undefined) return pending;
    const generation = this.generation;
    const build = this.render(groupId, platform, generation, key).finally(() => {
      if (this.building.get(key) === build) this.building.delete(key);
    });
    this.building.set(key, build);
    return build;
  }

  private async render(groupId: number, platform: HostPlatform, generation: number, key: string): Promise<string> {
    const body = JSON.stringify(await this.build(groupId, platform));
    // Only cache if nothing changed while building (an invalidate() raced with this build).
    const current = generation === this.generation;
    const bytes = Buffer.byteLength(body);
    if (bytes > OSQUERY_MAX_CONFIG_BYTES) {
      // osquery ≤5.23 drops configs over 1 MiB entirely (osquery-protocol.md §3.1, §9 item 19);
      // refuse loudly rather than serve a config every host silently ignores. The answer cannot
      // change until the config does, so remember it: polls keep doing no database work.
      const error = `config for group ${groupId}/${platform} is ${bytes} bytes, over osquery's 1 MiB limit`;
      if (current) this.cache.set(key, { error });
      throw new Error(error);
    }
    if (current) this.cache.set(key, { body });
    return body;
  }

  async build(groupId: number, platform: HostPlatform): Promise<OsqueryConfig> {
    const [globalOptions, group, packs] = await Promise.all([
      this.store.settings.get(GLOBAL_OPTIONS_KEY),
      this.store.groups.findById(groupId),
      this.store.packs.listForGroup(groupId),
    ]);
    const options: Record<string, string | number | boolean> = {
      distributed_interval: this.defaults.distributedInterval,
      logger_tls_period: this.defaults.loggerPeriod,
      ...scalarOptions(globalOptions),
      ...scalarOptions(group === undefined ? {} : (JSON.parse(group.options) as unknown)),
      // Last, so no option overrides it: "/" makes pack query names unambiguous for result routing
      // (Fleet does the same, §3.2), and log ingest splits `pack/<pack>/<query>` on it.
      pack_delimiter: '/',
    };
    const config: OsqueryConfig = {
      options,
      decorators: {
        load: ['SELECT uuid AS host_uuid FROM system_info;', 'SELECT hostname AS hostname FROM system_info;'],
      },
      packs: {},
    };
    const outPacks: Record<string, OsqueryPack> = {};
    for (const p of packs) {
      if (!platformFilterMatches(p.platform, platform)) continue;
      const queries: OsqueryPack['queries'] = {};
      for (const q of p.queries) {
        if (!platformFilterMatches(q.platform, platform) || isReservedQueryName(q.name)) continue;
        queries[q.name] = {
          query: q.sql,
          interval: q.interval,
          ...(q.snapshot === 1 ? { snapshot: true } : {}),
          ...(q.removed === 0 ? { removed: false } : {}),
          ...(q.platform !== '' ? { platform: q.platform } : {}),
          ...(q.min_osquery_version !== '' ? { version: q.min_osquery_version } : {}),
          ...(q.shard !== null && q.shard < 100 ? { shard: q.shard } : {}),
          ...(q.denylist === 0 ? { denylist: false } : {}),
          ...(q.description !== '' ? { description: q.description } : {}),
          ...(q.value !== '' ? { value: q.value } : {}),
        };
      }
      if (Object.keys(queries).length === 0) continue;
      const discovery = JSON.parse(p.discovery) as unknown;
      outPacks[p.name] = {
        queries,
        ...(p.platform !== '' ? { platform: p.platform } : {}),
        ...(p.min_osquery_version !== '' ? { version: p.min_osquery_version } : {}),
        ...(p.shard < 100 ? { shard: p.shard } : {}),
        ...(Array.isArray(discovery) && discovery.length > 0 ? { discovery: discovery.filter((d): d is string => typeof d === 'string') } : {}),
      };
    }
    config.packs = outPacks;
    return config;
  }
}

/** osquery options are strings, booleans or integers (O-opt); anything else is dropped. */
function scalarOptions(v: unknown): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return out;
  for (const [k, val] of Object.entries(v)) {
    if (typeof val === 'string' || typeof val === 'number' || typeof val === 'boolean') out[k] = val;
  }
  return out;
}
