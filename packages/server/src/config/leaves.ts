// Flattens ConfigSchema into its settings ("leaves") once, at import time, and derives from each
// leaf's JSON Schema keywords the wording used by both problem reports and docs, so the range a
// message quotes is always the range the validator enforces.
import Type, { type TSchema } from 'typebox';
import { formatBytes, formatDuration } from './format.js';
import { ConfigSchema, LEAF_KINDS, META_DEFAULT_TEXT, META_ENV, META_EXPECT, META_KIND, META_SECRET, type LeafKind } from './schema.js';

export interface Leaf {
  /** Dotted config-file key, e.g. `server.port`. */
  readonly key: string;
  readonly path: readonly string[];
  readonly env: string;
  readonly kind: LeafKind;
  readonly secret: boolean;
  /** Optional leaves have no default and are absent from Config when unset. */
  readonly optional: boolean;
  readonly doc: string;
  /** Schema default (already in Config units: seconds, bytes), undefined when there is none. */
  readonly default: unknown;
  readonly minimum: number | undefined;
  readonly maximum: number | undefined;
  readonly minLength: number | undefined;
  readonly values: readonly string[] | undefined;
  readonly expect: string | undefined;
  /** The default as written in the declaration, for display. */
  readonly defaultText: string | undefined;
}

// TypeBox types only the keywords each builder knows about; the annotation keywords and numeric
// bounds are read back generically and checked at runtime instead.
function keyword(schema: TSchema, name: string): unknown {
  return (schema as Readonly<Record<string, unknown>>)[name];
}

function numberKeyword(schema: TSchema, name: string): number | undefined {
  const value = keyword(schema, name);
  return typeof value === 'number' ? value : undefined;
}

function isLeafKind(value: unknown): value is LeafKind {
  return LEAF_KINDS.some((kind) => kind === value);
}

function walk(schema: TSchema, path: readonly string[], leaves: Leaf[], groups: string[]): void {
  if (!Type.IsObject(schema)) throw new Error(`config schema: ${path.join('.') || 'root'} is not an object`);
  const required = keyword(schema, 'required');
  for (const [name, child] of Object.entries(schema.properties)) {
    const childPath = [...path, name];
    const key = childPath.join('.');
    if (Type.IsObject(child)) {
      groups.push(key);
      walk(child, childPath, leaves, groups);
      continue;
    }
    // A malformed declaration is a programming error, so it fails at import rather than per request.
    const env = keyword(child, META_ENV);
    const kind = keyword(child, META_KIND);
    const doc = keyword(child, 'description');
    if (typeof env !== 'string' || !isLeafKind(kind) || typeof doc !== 'string') {
      throw new Error(`config schema: ${key} lacks ${META_ENV}, ${META_KIND} or description`);
    }
    const optional = Type.IsOptional(child) || !(Array.isArray(required) && required.includes(name));
    const def = keyword(child, 'default');
    if (!optional && def === undefined) throw new Error(`config schema: required setting ${key} needs a default`);
    const values = keyword(child, 'enum');
    const expect = keyword(child, META_EXPECT);
    const defaultText = keyword(child, META_DEFAULT_TEXT);
    leaves.push({
      key,
      path: childPath,
      env,
      kind,
      secret: keyword(child, META_SECRET) === true,
      optional,
      doc,
      default: def,
      minimum: numberKeyword(child, 'minimum'),
      maximum: numberKeyword(child, 'maximum'),
      minLength: numberKeyword(child, 'minLength'),
      values: Array.isArray(values) ? values.map(String) : undefined,
      expect: typeof expect === 'string' ? expect : undefined,
      defaultText: typeof defaultText === 'string' ? defaultText : undefined,
    });
  }
}

function collect(): { leaves: readonly Leaf[]; groups: readonly string[] } {
  const leaves: Leaf[] = [];
  const groups: string[] = [];
  walk(ConfigSchema, [], leaves, groups);
  const envs = new Set<string>();
  for (const leaf of leaves) {
    // Two settings on one env var, or a secret's `_FILE` twin colliding with a real setting,
    // would make the unknown-variable check and the file indirection ambiguous.
    for (const name of leaf.secret ? [leaf.env, `${leaf.env}_FILE`] : [leaf.env]) {
      if (envs.has(name)) throw new Error(`config schema: ${name} is declared twice`);
      envs.add(name);
    }
  }
  return { leaves, groups };
}

export const { leaves: LEAVES, groups: GROUPS } = collect();

function range(min: number | undefined, max: number | undefined, show: (n: number) => string, floor = 0): string {
  const hasMin = min !== undefined && min > floor;
  if (hasMin && max !== undefined) return ` between ${show(min)} and ${show(max)}`;
  if (hasMin) return ` of at least ${show(min)}`;
  if (max !== undefined) return ` of at most ${show(max)}`;
  return '';
}

/** Completes "<value> is not ..." in problem reports. */
export function expectation(leaf: Leaf): string {
  switch (leaf.kind) {
    case 'string':
      if (leaf.expect !== undefined) return leaf.expect;
      return leaf.minLength !== undefined && leaf.minLength > 1
        ? `a string of at least ${leaf.minLength} characters`
        : 'a non-empty string';
    case 'path':
      return 'a non-empty path';
    case 'port':
    case 'integer': {
      // Integers may be negative, so zero is a real lower bound worth stating.
      const bounds = range(leaf.minimum, leaf.maximum, String, Number.NEGATIVE_INFINITY);
      return `an integer${bounds}`;
    }
    case 'boolean':
      return 'a boolean (true, false, 1 or 0)';
    case 'list':
      return 'a list of non-empty names (comma-separated in an environment variable)';
    case 'bytes':
      return `a byte size${range(leaf.minimum, leaf.maximum, formatBytes)} (like 512KiB, 10MiB, 1.5GiB or plain bytes)`;
    case 'duration':
      return `a duration${range(leaf.minimum, leaf.maximum, formatDuration)} (like 30s, 5m, 1h30m, 30d or plain seconds)`;
    case 'enum':
      return `one of ${(leaf.values ?? []).join(', ')}`;
  }
}

function bounds(leaf: Leaf, show: (n: number) => string): string {
  const text = range(leaf.minimum, leaf.maximum, show).replace(/^ (?:of )?/, '');
  return text === '' ? '' : ` (${text})`;
}

/** Short type name for the docs table and `mimir config`. */
export function typeLabel(leaf: Leaf): string {
  switch (leaf.kind) {
    case 'string':
      return leaf.minLength !== undefined && leaf.minLength > 1 ? `string (at least ${leaf.minLength} characters)` : 'string';
    case 'path':
      return 'path';
    case 'port':
      return 'port';
    case 'integer':
      return `integer${bounds(leaf, String)}`;
    case 'boolean':
      return 'boolean';
    case 'list':
      return 'list';
    case 'bytes':
      return `byte size${bounds(leaf, formatBytes)}`;
    case 'duration':
      return `duration${bounds(leaf, formatDuration)}`;
    case 'enum':
      return `one of: ${(leaf.values ?? []).join(', ')}`;
  }
}

/** The default written the way a user would type it in an env var (`30d`, `10MiB`), or undefined. */
export function defaultText(leaf: Leaf): string | undefined {
  const value = leaf.default;
  if (value === undefined) return undefined;
  if (leaf.defaultText !== undefined) return leaf.defaultText;
  if (typeof value === 'number') {
    if (leaf.kind === 'duration') return formatDuration(value);
    if (leaf.kind === 'bytes') return formatBytes(value);
    return String(value);
  }
  if (Array.isArray(value)) return value.map(String).join(',');
  return typeof value === 'string' ? value : JSON.stringify(value);
}
