/**
 * Regenerates assets/ecs-<version>.json from ECS's generated ecs_flat.yml.
 *   node --import tsx packages/server/scripts/build-ecs-fields.ts [path/to/ecs_flat-9.4.0.yml]
 * Default input: ../shared/ecs/ecs_flat-9.4.0.yml next to the repository (see assets/README.md).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { ECS_VERSION, buildCompactEcsFields, serializeCompactEcsFields } from '../src/services/ecs/ecs-fields.build.js';

const input = process.argv[2] ?? fileURLToPath(new URL(`../../../../shared/ecs/ecs_flat-${ECS_VERSION}.yml`, import.meta.url));
const output = fileURLToPath(new URL(`../assets/ecs-${ECS_VERSION}.json`, import.meta.url));

const compact = buildCompactEcsFields(parse(readFileSync(input, 'utf8'), { maxAliasCount: -1 }) as unknown);
writeFileSync(output, serializeCompactEcsFields(compact));
process.stdout.write(`wrote ${output}: ${compact.fields.length} fields\n`);
