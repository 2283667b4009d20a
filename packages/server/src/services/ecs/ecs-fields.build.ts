/**
 * Turns ECS's generated `ecs_flat.yml` (elastic/ecs v9.4.0, Apache-2.0) into the compact field
 * list Mimir ships in `assets/`: name, type, level, short description, whether it is an array,
 * and allowed values (event.category, event.kind, event.outcome, event.type, entity types). Pure:
 * `scripts/build-ecs-fields.ts` parses the YAML and writes the file; a test regenerates and compares.
 */

export const ECS_VERSION = '9.4.0';
const SOURCE = 'https://github.com/elastic/ecs/blob/v9.4.0/generated/ecs/ecs_flat.yml';
const LICENSE = 'Apache-2.0, Elastic Common Schema (https://github.com/elastic/ecs)';

export interface CompactEcsField {
  name: string;
  type: string;
  level: string;
  short: string;
  /** `normalize: [array]`: the field holds a list of its type. */
  array?: true;
  /** The only values ECS allows. */
  allowed?: string[];
}

export interface CompactEcsFields {
  version: string;
  source: string;
  license: string;
  fields: CompactEcsField[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `flat` is the parsed ecs_flat.yml: a map from dotted field name to its definition. */
export function buildCompactEcsFields(flat: unknown): CompactEcsFields {
  if (!isRecord(flat)) throw new Error('ecs_flat.yml is a map of field name → definition');
  const fields: CompactEcsField[] = [];
  for (const name of Object.keys(flat).sort()) {
    const def = flat[name];
    if (!isRecord(def)) throw new Error(`${name}: the definition is not a map`);
    const { type, level, short } = def;
    if (typeof type !== 'string' || typeof level !== 'string' || typeof short !== 'string') {
      throw new Error(`${name}: type, level and short must be strings`);
    }
    const field: CompactEcsField = { name, type, level, short: short.replace(/\s+/g, ' ').trim() };
    const normalize = def['normalize'];
    if (Array.isArray(normalize) && normalize.includes('array')) field.array = true;
    const allowed = def['allowed_values'];
    if (allowed !== undefined) {
      if (!Array.isArray(allowed)) throw new Error(`${name}: allowed_values is not a list`);
      field.allowed = (allowed as unknown[]).map((a) => {
        if (!isRecord(a) || typeof a['name'] !== 'string') throw new Error(`${name}: an allowed value has no name`);
        return a['name'];
      });
    }
    fields.push(field);
  }
  return { version: ECS_VERSION, source: SOURCE, license: LICENSE, fields };
}

/** One field per line: an ECS upgrade reviews as a readable diff. */
export function serializeCompactEcsFields(c: CompactEcsFields): string {
  const lines = [
    '{',
    `  "version": ${JSON.stringify(c.version)},`,
    `  "source": ${JSON.stringify(c.source)},`,
    `  "license": ${JSON.stringify(c.license)},`,
    '  "fields": [',
    ...c.fields.map((f, i) => `    ${JSON.stringify(f)}${i < c.fields.length - 1 ? ',' : ''}`),
    '  ]',
    '}',
  ];
  return `${lines.join('\n')}\n`;
}
