/**
 * Regenerates assets/osquery-schema-<version>.json from the official osquery table schema.
 *   node --import tsx packages/server/scripts/build-osquery-schema.ts [path/to/schema-5.23.1.json]
 * Default input: ../shared/osquery/schema-5.23.1.json next to the repository (see assets/README.md).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  OSQUERY_SCHEMA_VERSION, buildCompactOsquerySchema, serializeCompactOsquerySchema,
} from '../src/services/sql/osquery-schema.build.js';

const input = process.argv[2] ?? fileURLToPath(new URL(`../../../../shared/osquery/schema-${OSQUERY_SCHEMA_VERSION}.json`, import.meta.url));
const output = fileURLToPath(new URL(`../assets/osquery-schema-${OSQUERY_SCHEMA_VERSION}.json`, import.meta.url));

const compact = buildCompactOsquerySchema(JSON.parse(readFileSync(input, 'utf8')) as unknown);
writeFileSync(output, serializeCompactOsquerySchema(compact));
const columns = Object.values(compact.tables).reduce((n, t) => n + t.columns.length, 0);
process.stdout.write(`wrote ${output}: ${Object.keys(compact.tables).length} tables, ${columns} columns\n`);
