/**
 * Reading `mimir.yml`: YAML syntax errors, schema errors and duplicate names are all reported at
 * once with `file:line:col`, before anything is sent to the server.
 */
import { Compile } from 'typebox/compile';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { UsageError } from '../core/errors.js';
import { ConfigSpec } from './apply.schema.js';

const check = Compile(ConfigSpec);

type Segment = string | number;

function segmentsOf(pointer: string): Segment[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** `packs[0].queries[1].interval` */
export function dotted(path: readonly Segment[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('') || '(top level)';
}

function locate(doc: Document, lc: LineCounter, path: readonly Segment[], key?: string): string {
  let node = doc.getIn(path, true) as Node | undefined;
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (pair !== undefined && isScalar(pair.key)) node = pair.key;
  }
  // Walk up until a node with a position (a missing key points at its parent).
  for (let n = path.length; node?.range === undefined && n > 0; n--) node = doc.getIn(path.slice(0, n - 1), true) as Node | undefined;
  const offset = node?.range?.[0];
  if (offset === undefined) return '';
  const pos = lc.linePos(offset);
  return `${pos.line}:${pos.col}`;
}

interface Issue {
  path: Segment[];
  message: string;
  key?: string;
}

export function parseConfigText(text: string, fileName: string): ConfigSpec {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = lc.linePos(e.pos[0]);
      return `${fileName}:${pos.line}:${pos.col}: ${e.message.split('\n')[0] ?? e.message}`;
    });
    throw new UsageError(`${fileName} is not valid YAML`, lines);
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const issues: Issue[] = [];
  if (!check.Check(data)) {
    const seen = new Set<string>();
    for (const e of check.Errors(data)) {
      // additionalProperties also yields a "schema is false" error per key: report the key once.
      if (e.keyword === 'boolean') continue;
      const path = segmentsOf(e.instancePath);
      if (e.keyword === 'additionalProperties') {
        const extra = (e.params as { additionalProperties?: unknown }).additionalProperties;
        for (const k of Array.isArray(extra) ? extra as unknown[] : []) {
          const key = String(k);
          issues.push({ path, key, message: `unknown key "${key}"` });
        }
        continue;
      }
      const id = dotted(path);
      if (seen.has(id)) continue;
      seen.add(id);
      const message = e.keyword === 'anyOf' || e.keyword === 'oneOf' ? 'has a value of the wrong kind' : e.message;
      issues.push({ path, message });
    }
    // A union reports each branch; keep the first message per path (set above) and drop "wrong kind" duplicates.
  } else {
    const spec = data;
    const dup = (list: ReadonlyArray<{ name: string }> | undefined, kind: keyof ConfigSpec) => {
      const names = new Map<string, number>();
      list?.forEach((x, i) => {
        const before = names.get(x.name);
        if (before !== undefined) issues.push({ path: [kind, i, 'name'], message: `duplicate name "${x.name}" (also ${dotted([kind, before])})` });
        else names.set(x.name, i);
      });
    };
    dup(spec.groups, 'groups');
    dup(spec.labels, 'labels');
    dup(spec.queries, 'queries');
    dup(spec.packs, 'packs');
    spec.packs?.forEach((p, i) => {
      const names = new Set<string>();
      p.queries?.forEach((q, j) => {
        if (names.has(q.name)) issues.push({ path: ['packs', i, 'queries', j, 'name'], message: `duplicate query name "${q.name}" in pack "${p.name}"` });
        names.add(q.name);
      });
      const groups = new Set<string>();
      p.targets?.forEach((t, j) => {
        if (groups.has(t.group)) issues.push({ path: ['packs', i, 'targets', j, 'group'], message: `group "${t.group}" is targeted twice` });
        groups.add(t.group);
      });
      if (p.global === true && (p.targets?.length ?? 0) > 0) issues.push({ path: ['packs', i, 'targets'], message: 'a global pack has no per-group targets' });
      if (p.prebuilt === true) {
        const allowed = new Set(['name', 'prebuilt', 'enabled', 'global', 'globalShard', 'targets']);
        for (const k of Object.keys(p)) if (!allowed.has(k)) issues.push({ path: ['packs', i], key: k, message: `"${k}" cannot be set on a prebuilt pack (only enabled, global, globalShard, targets): copy the pack to change its queries` });
      }
    });
    spec.labels?.forEach((l, i) => {
      if (l.type === 'dynamic' && l.query === undefined) issues.push({ path: ['labels', i], message: `dynamic label "${l.name}" needs a query` });
      if (l.type === 'manual' && (l.query !== undefined || l.platforms !== undefined)) issues.push({ path: ['labels', i], message: `manual label "${l.name}" takes no query or platforms` });
    });
  }
  if (issues.length > 0) {
    const lines = issues.slice(0, 50).map((i) => {
      const at = locate(doc, lc, i.path, i.key);
      return `${fileName}${at !== '' ? `:${at}` : ''}: ${dotted(i.key !== undefined ? [...i.path, i.key] : i.path)}: ${i.message}`;
    });
    if (issues.length > 50) lines.push(`… and ${issues.length - 50} more`);
    throw new UsageError(`${fileName}: ${issues.length} problem${issues.length === 1 ? '' : 's'}; nothing was changed`, lines);
  }
  return data as ConfigSpec;
}
