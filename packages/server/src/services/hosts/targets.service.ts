/**
 * Target resolution for live queries and packs (services/contracts.ts TargetResolver, published as
 * `core.hub.targets`), and the target picker search (seed 004: "suggestions for agents by name,
 * ID, platform, and policy"). A host matching any part of a spec is targeted, as Fleet ORs labels
 * (fleet.md §1.2).
 */
import type { TargetSearchResult } from '@mimir/api-contract';
import { HOST_PLATFORMS, type HostPlatform } from '@mimir/osquery-protocol';
import type { Store } from '../../storage/store.js';
import type { TargetResolver, TargetSpec } from '../contracts.js';
import { labelPlatforms } from '../labels/labels.service.js';
import type { HostStatusService } from './host-status.js';

/** Words people type for each platform family. */
const PLATFORM_WORDS: Readonly<Record<string, readonly string[]>> = {
  linux: ['linux', 'ubuntu', 'debian', 'rhel', 'centos', 'fedora'],
  darwin: ['darwin', 'macos', 'mac', 'osx', 'apple'],
  windows: ['windows', 'win'],
  freebsd: ['freebsd', 'bsd'],
};

const FAMILIES = HOST_PLATFORMS.filter((p): p is Exclude<HostPlatform, 'unknown'> => p !== 'unknown');

export class TargetsService implements TargetResolver {
  constructor(private readonly store: Store, private readonly status: HostStatusService) {}

  /** Host ids matching the spec: ascending, without duplicates, existing hosts only. */
  async resolve(spec: TargetSpec): Promise<number[]> {
    const { hostQueries, labels } = this.store;
    if (spec.all === true) return hostQueries.allIds();
    const found = new Set<number>();
    const add = (ids: readonly number[]) => {
      for (const id of ids) found.add(id);
    };
    if (spec.hostIds !== undefined && spec.hostIds.length > 0) add(await hostQueries.existingIds(spec.hostIds));
    if (spec.groupIds !== undefined && spec.groupIds.length > 0) add(await hostQueries.idsInGroups([...new Set(spec.groupIds)]));
    const platforms = new Set((spec.platforms ?? []).map((p) => p.toLowerCase()));
    if (spec.labelIds !== undefined && spec.labelIds.length > 0) {
      const rows = await labels.listByIds([...new Set(spec.labelIds)]);
      const stored: number[] = [];
      for (const l of rows) {
        if (l.label_type !== 'builtin') {
          stored.push(l.id);
          continue;
        }
        const ps = labelPlatforms(l);
        // "All hosts" targets everything.
        if (ps.length === 0) return hostQueries.allIds();
        for (const p of ps) platforms.add(p);
      }
      add(await hostQueries.idsInLabels(stored));
    }
    if (platforms.size > 0) add(await hostQueries.idsWithPlatforms([...platforms]));
    return [...found].sort((a, b) => a - b);
  }

  /** How many hosts a spec reaches, and how many of them are online now (the live-query preview). */
  async count(spec: TargetSpec, now: number): Promise<{ total: number; online: number; offline: number }> {
    const ids = await this.resolve(spec);
    if (ids.length === 0) return { total: 0, online: 0, offline: 0 };
    // One query for the online set (an index range), intersected here: no per-host lookups.
    const online = new Set(await this.store.hostQueries.ids({ online: { value: true, status: await this.status.statusSql(now) } }));
    const n = ids.reduce((acc, id) => acc + (online.has(id) ? 1 : 0), 0);
    return { total: ids.length, online: n, offline: ids.length - n };
  }

  async search(text: string, limit: number, now: number): Promise<TargetSearchResult> {
    const q = text.trim();
    const lower = q.toLowerCase();
    const { hostQueries, groups, labels } = this.store;
    const w = await this.status.windows(now);
    const hostIds = q === '' ? [] : await hostQueries.searchIds(q, limit);
    // An exact numeric host id matches too ("by ID").
    if (/^\d{1,15}$/.test(q) && !hostIds.includes(Number(q))) hostIds.unshift(Number(q));
    const hostRows = (await hostQueries.findWithSeen(hostIds)).sort((a, b) => hostIds.indexOf(a.id) - hostIds.indexOf(b.id)).slice(0, limit);
    const [groupRows, groupCounts, labelRows, platformCounts, memberCounts] = await Promise.all([
      groups.list(),
      hostQueries.countByGroup(),
      labels.searchByName(q, limit),
      hostQueries.countByPlatform(),
      labels.memberCounts(),
    ]);
    const total = [...platformCounts.values()].reduce((a, b) => a + b, 0);
    return {
      hosts: hostRows.map((r) => ({
        id: r.id,
        displayName: r.computer_name || r.hostname || r.identifier,
        hostname: r.hostname,
        identifier: r.identifier,
        platform: (HOST_PLATFORMS as readonly string[]).includes(r.platform) ? (r.platform as HostPlatform) : 'unknown',
        status: this.status.isOnline(w, r.group_id, this.status.seenAt(r.id, r.seen_at), now) ? 'online' as const : 'offline' as const,
      })),
      groups: groupRows
        .filter((g) => g.name.toLowerCase().includes(lower))
        .slice(0, limit)
        .map((g) => ({ id: g.id, name: g.name, hostCount: groupCounts.get(g.id) ?? 0 })),
      labels: labelRows.map((l) => {
        const ps = labelPlatforms(l);
        const hostCount = l.label_type !== 'builtin' ? memberCounts.get(l.id) ?? 0
          : ps.length === 0 ? total : ps.reduce((n, p) => n + (platformCounts.get(p) ?? 0), 0);
        return { id: l.id, name: l.name, type: l.label_type === 'builtin' || l.label_type === 'dynamic' ? l.label_type : 'manual', hostCount };
      }),
      platforms: lower === '' ? [] : FAMILIES
        .filter((p) => (PLATFORM_WORDS[p] ?? [p]).some((word) => word.startsWith(lower)))
        .map((p) => ({ platform: p, hostCount: platformCounts.get(p) ?? 0 })),
    };
  }
}
