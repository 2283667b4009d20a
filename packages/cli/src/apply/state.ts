/**
 * The server's current configuration, read through the operator API, and its `mimir.yml` form
 * (what `export` writes). Export writes every field, so `export` → `apply` changes nothing.
 */
import type { DisplaySettings, Group, Label, OsqueryOptionsSettings, Pack, PackQuery, PackSummary, RetentionSettings, SavedQuery } from '@mimir/api-contract';
import type { GroupList } from '../core/api-types.js';
import type { ApiClient } from '../core/http.js';
import { ApiError } from '../core/errors.js';
import { API_VERSION, type ConfigSpec, type PackQuerySpec, type PackSpec } from './apply.schema.js';

export interface ServerState {
  groups: Group[];
  labels: Label[];
  queries: SavedQuery[];
  packs: Pack[];
  osqueryOptions: OsqueryOptionsSettings | undefined;
  display: DisplaySettings | undefined;
  retention: RetentionSettings | undefined;
}

/** Settings a role may not read are left out (and say so) rather than failing the whole export. */
async function optional<T>(read: () => Promise<T>, what: string, warn: (m: string) => void): Promise<T | undefined> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) {
      warn(`${what} left out: your role may not read it`);
      return undefined;
    }
    throw e;
  }
}

export async function readState(client: ApiClient, warn: (m: string) => void): Promise<ServerState> {
  const [groups, labels, queries, summaries, osqueryOptions, display, retention] = await Promise.all([
    client.get<GroupList>('/groups').then((r) => r.items),
    client.all<Label>('/labels').then((r) => r.items),
    client.all<SavedQuery>('/queries').then((r) => r.items),
    client.all<PackSummary>('/packs').then((r) => r.items),
    optional(() => client.get<OsqueryOptionsSettings>('/settings/osquery-options'), 'settings.osqueryOptions', warn),
    optional(() => client.get<DisplaySettings>('/settings/display'), 'settings.display', warn),
    optional(() => client.get<RetentionSettings>('/settings/retention'), 'settings.retention', warn),
  ]);
  const packs: Pack[] = [];
  // One pack at a time: a fleet has tens of packs, and this keeps the server's load flat.
  for (const s of summaries) packs.push(await client.get<Pack>(`/packs/${s.id}`));
  return { groups, labels, queries, packs, osqueryOptions, display, retention };
}

export function packQuerySpec(q: PackQuery): PackQuerySpec {
  return {
    name: q.name, sql: q.sql, description: q.description, interval: q.interval, snapshot: q.snapshot, removed: q.removed, platform: q.platform,
    minOsqueryVersion: q.minOsqueryVersion, shard: q.shard, denylist: q.denylist, timeout: q.timeout, ecsMapping: q.ecsMapping, value: q.value,
  };
}

export function packSpec(p: Pack): PackSpec {
  const targets = p.targets.map((t) => ({ group: t.groupName, shard: t.shard }));
  if (p.readOnly) return { name: p.name, prebuilt: true, enabled: p.enabled, global: p.global, globalShard: p.globalShard, targets };
  return {
    name: p.name, description: p.description, enabled: p.enabled, platform: p.platform, minOsqueryVersion: p.minOsqueryVersion,
    discovery: p.discovery, global: p.global, globalShard: p.globalShard, targets, queries: p.queries.map(packQuerySpec),
  };
}

/** The whole configuration as a `mimir.yml` document. */
export function toSpec(s: ServerState): ConfigSpec {
  const spec: ConfigSpec = {
    apiVersion: API_VERSION,
    groups: s.groups.map((g) => ({ name: g.name, description: g.description, options: g.options })),
    labels: s.labels.filter((l) => l.type !== 'builtin').map((l) => (l.type === 'dynamic'
      ? { name: l.name, type: 'dynamic' as const, description: l.description, query: l.query, platforms: l.platforms }
      : { name: l.name, type: 'manual' as const, description: l.description })),
    queries: s.queries.filter((q) => !q.prebuilt).map((q) => ({
      name: q.name, description: q.description, sql: q.sql, timeout: q.timeout, interval: q.interval, platform: q.platform,
      minOsqueryVersion: q.minOsqueryVersion, ecsMapping: q.ecsMapping,
    })),
    packs: s.packs.map(packSpec),
  };
  const settings: NonNullable<ConfigSpec['settings']> = {};
  if (s.osqueryOptions !== undefined) settings.osqueryOptions = s.osqueryOptions.options;
  if (s.display !== undefined) settings.display = { timeZone: s.display.timeZone, dateFormat: s.display.dateFormat };
  if (s.retention !== undefined) settings.retention = { resultRetentionDays: s.retention.resultRetentionDays, liveQueryHistoryDays: s.retention.liveQueryHistoryDays };
  if (Object.keys(settings).length > 0) spec.settings = settings;
  return spec;
}
