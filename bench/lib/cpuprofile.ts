/**
 * Reads a V8 `.cpuprofile` (written by `node --cpu-prof`) and reports where the time went: self time
 * per function, and inclusive time per function (a function's own samples plus its callees'), both
 * as a share of all samples. Used by `npm run bench -- --profile` and docs/performance.md.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  name: string;
  /** Share of all sampled time, percent. */
  selfPercent: number;
  totalPercent: number;
}

export interface ProfileSummary {
  file: string;
  durationMs: number;
  /** Self time by where the code lives: Mimir's packages, each dependency, Node internals, native. */
  byArea: Array<{ area: string; percent: number }>;
  /** Share of samples that were not idle (program + GC). */
  busyPercent: number;
  gcPercent: number;
  topSelf: ProfileEntry[];
  topTotal: ProfileEntry[];
}

function label(n: ProfileNode): string {
  const f = n.callFrame;
  const url = f.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/work\/main\//, '');
  return `${f.functionName === '' ? '(anonymous)' : f.functionName} ${url === '' ? '' : `${url}:${f.lineNumber + 1}`}`.trim();
}

/** Where a frame's code lives. */
function areaOf(n: ProfileNode): string {
  const f = n.callFrame;
  const url = f.url;
  if (url === '') return /^\(.*\)$/.test(f.functionName) ? f.functionName : `native: ${f.functionName}`;
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/').slice(0, 2).join('/')}`;
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep?.[1] !== undefined) return dep[1];
  const pkg = /packages\/([^/]+)\//.exec(url);
  if (pkg?.[1] !== undefined) return `@mimir/${pkg[1]}`;
  return url.replace(/^file:\/\//, '');
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  // Time per sample: the delta to the next sample (V8 records the delta before each sample).
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i];
    const dt = p.timeDeltas[i + 1] ?? 0;
    if (id === undefined) continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  let all = 0;
  let idle = 0;
  let gc = 0;
  const selfByName = new Map<string, number>();
  const byArea = new Map<string, number>();
  const totalByName = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (n === undefined) continue;
    all += us;
    const name = label(n);
    if (n.callFrame.functionName === '(idle)') idle += us;
    if (n.callFrame.functionName === '(garbage collector)') gc += us;
    selfByName.set(name, (selfByName.get(name) ?? 0) + us);
    const area = areaOf(n);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
    // Inclusive: count each distinct function once per stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (node === undefined) break;
      const nm = label(node);
      if (seen.has(nm)) continue;
      seen.add(nm);
      totalByName.set(nm, (totalByName.get(nm) ?? 0) + us);
    }
  }
  const pct = (us: number): number => (all === 0 ? 0 : Math.round((us / all) * 1000) / 10);
  const rank = (m: Map<string, number>, skip: (name: string) => boolean): ProfileEntry[] =>
    [...m].filter(([name]) => !skip(name)).sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([name]) => ({ name, selfPercent: pct(selfByName.get(name) ?? 0), totalPercent: pct(totalByName.get(name) ?? 0) }));
  const boring = (name: string): boolean => /^\((root|program|idle)\)/.test(name);
  return {
    file,
    durationMs: (p.endTime - p.startTime) / 1000,
    byArea: [...byArea].filter(([a]) => a !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, 15).map(([area, us]) => ({ area, percent: pct(us) })),
    busyPercent: pct(all - idle),
    gcPercent: pct(gc),
    topSelf: rank(selfByName, boring),
    topTotal: rank(totalByName, (n) => boring(n) || n.startsWith('(anonymous) node:internal/') || n === '(anonymous)'),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const lines = [`${s.file}: ${s.durationMs.toFixed(0)} ms, busy ${s.busyPercent}%, GC ${s.gcPercent}%`];
  lines.push(`  by area: ${s.byArea.map((a) => `${a.area} ${a.percent}%`).join(', ')}`, '  self%  total%  function');
  for (const e of s.topSelf) lines.push(`  ${e.selfPercent.toFixed(1).padStart(5)}  ${e.totalPercent.toFixed(1).padStart(6)}  ${e.name}`);
  lines.push('  -- by inclusive time --');
  for (const e of s.topTotal) lines.push(`  ${e.selfPercent.toFixed(1).padStart(5)}  ${e.totalPercent.toFixed(1).padStart(6)}  ${e.name}`);
  return lines.join('\n');
}
