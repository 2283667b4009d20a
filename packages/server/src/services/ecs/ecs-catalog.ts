/**
 * The ECS 9.4.0 field list at run time (assets/ecs-9.4.0.json, built by scripts/build-ecs-fields.ts
 * from elastic/ecs, Apache-2.0), with the rule for which fields a mapping may target (seed 004:
 * "Some ECS fields are restricted and cannot be mapped").
 */
import { readFileSync } from 'node:fs';
import { ECS_VERSION, type CompactEcsField, type CompactEcsFields } from './ecs-fields.build.js';

export type EcsField = CompactEcsField;

/** Types that hold objects rather than a value: map their leaf fields instead. */
const OBJECT_TYPES = new Set(['object', 'nested', 'flattened']);
/** Mimir fills these itself for every result (like Elastic's `host.*` and `agent.*`, seed 004). */
const RESERVED = new Map<string, string>([
  ['@timestamp', 'Mimir sets @timestamp to when the result arrived'],
  ['ecs.version', 'Mimir sets ecs.version itself'],
]);
const RESERVED_PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ['agent.', 'Mimir sets agent.* itself from the osquery that answered'],
  ['host.', 'Mimir sets host.* itself from the host that answered'],
  ['data_stream.', 'data_stream.* routes documents in Elasticsearch and cannot be mapped'],
];

export class EcsCatalog {
  readonly version: string;
  /** Every field, sorted by name. */
  readonly fields: readonly EcsField[];
  /** Fields a mapping may target, sorted by name. */
  readonly mappable: readonly EcsField[];
  private readonly byName: ReadonlyMap<string, EcsField>;

  constructor(compact: CompactEcsFields) {
    this.version = compact.version;
    this.fields = [...compact.fields].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.byName = new Map(this.fields.map((f) => [f.name, f]));
    this.mappable = this.fields.filter((f) => this.restriction(f.name) === undefined);
  }

  field(name: string): EcsField | undefined {
    return this.byName.get(name);
  }

  /** Why a field cannot be mapped; undefined when it can. */
  restriction(name: string): string | undefined {
    const field = this.byName.get(name);
    if (field === undefined) return `${name} is not an ECS ${this.version} field`;
    const reserved = RESERVED.get(name) ?? RESERVED_PREFIXES.find(([p]) => name.startsWith(p))?.[1];
    if (reserved !== undefined) return reserved;
    if (OBJECT_TYPES.has(field.type)) return `${name} is an ${field.type} field: map its leaf fields instead`;
    if (field.level !== 'core' && field.level !== 'extended') return `${name} is a ${field.level}-level field: only core and extended fields can be mapped`;
    return undefined;
  }

  /** Mappable fields whose name contains `q` (case-insensitive), after `after`, at most `limit`. */
  search(q: string | undefined, after: string | undefined, limit: number): EcsField[] {
    const needle = q?.trim().toLowerCase() ?? '';
    const out: EcsField[] = [];
    for (const f of this.mappable) {
      if (after !== undefined && f.name <= after) continue;
      if (needle !== '' && !f.name.toLowerCase().includes(needle)) continue;
      out.push(f);
      if (out.length >= limit) break;
    }
    return out;
  }
}

function assertCompact(v: unknown): asserts v is CompactEcsFields {
  const o = v as Partial<CompactEcsFields> | null;
  if (o === null || typeof o !== 'object' || typeof o.version !== 'string' || !Array.isArray(o.fields)) {
    throw new Error('assets/ecs file is not a compact ECS field list: regenerate it with scripts/build-ecs-fields.ts');
  }
}

let cached: EcsCatalog | undefined;

/** The ECS fields shipped with Mimir (assets/ecs-9.4.0.json). */
export function ecsCatalog(): EcsCatalog {
  if (cached === undefined) {
    // src/services/ecs and dist/services/ecs are both three levels under the package root.
    const parsed = JSON.parse(readFileSync(new URL(`../../../assets/ecs-${ECS_VERSION}.json`, import.meta.url), 'utf8')) as unknown;
    assertCompact(parsed);
    cached = new EcsCatalog(parsed);
  }
  return cached;
}
