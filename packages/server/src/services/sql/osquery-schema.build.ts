/**
 * Turns the official osquery table schema (osquery-site `src/data/osquery_schema_versions/<v>.json`,
 * 286 tables at 5.23.1) into the compact file Mimir ships in `assets/`: what SQL validation and
 * autocomplete need, nothing more (no URLs, examples, notes, cacheable/index flags). Pure: the
 * script `scripts/build-osquery-schema.ts` does the file I/O, and a test regenerates and compares.
 */

export const SCHEMA_PLATFORMS = ['darwin', 'linux', 'windows'] as const;
export type SchemaPlatform = (typeof SCHEMA_PLATFORMS)[number];

export interface CompactColumn {
  name: string;
  type: string;
  description: string;
  /** Not returned by `SELECT *`; must be named. */
  hidden: boolean;
  /** A WHERE/JOIN constraint on one of the table's required columns is needed. */
  required: boolean;
  /** Only on some platforms (absent: wherever the table is). */
  platforms?: SchemaPlatform[];
}

export interface CompactTable {
  description: string;
  platforms: SchemaPlatform[];
  /** Event-based (`*_events`): needs the events framework and the table's publisher. */
  evented: boolean;
  columns: CompactColumn[];
}

export interface CompactOsquerySchema {
  version: string;
  source: string;
  license: string;
  tables: Record<string, CompactTable>;
}

/** Upstream provenance (see ../shared/osquery/README.md and assets/README.md). */
export const OSQUERY_SCHEMA_VERSION = '5.23.1';
const SOURCE = 'https://github.com/osquery/osquery-site/blob/086d2d5515422b404d6708c568bc9057a6e1e13b/src/data/osquery_schema_versions/5.23.1.json';
const LICENSE = 'CC BY 4.0, osquery-site (https://github.com/osquery/osquery-site); table specs from osquery (Apache-2.0 OR GPL-2.0-only)';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Record<string, unknown>, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new Error(`${where}: "${key}" is not a string`);
  return v;
}

function bool(o: Record<string, unknown>, key: string, where: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw new Error(`${where}: "${key}" is not a boolean`);
  return v;
}

/** Windows appears as "windows", "win32", "cygwin" in column platforms: all are Windows (README §1). */
export function normalizeSchemaPlatforms(list: unknown, where: string): SchemaPlatform[] {
  if (!Array.isArray(list)) throw new Error(`${where}: platforms is not a list`);
  const out = new Set<SchemaPlatform>();
  for (const p of list as unknown[]) {
    if (p === 'win32' || p === 'cygwin' || p === 'windows') out.add('windows');
    else if (p === 'darwin' || p === 'linux') out.add(p);
    else throw new Error(`${where}: unknown platform ${JSON.stringify(p)}`);
  }
  return SCHEMA_PLATFORMS.filter((p) => out.has(p));
}

export function buildCompactOsquerySchema(raw: unknown): CompactOsquerySchema {
  if (!Array.isArray(raw)) throw new Error('the osquery schema is a JSON array of tables');
  const tables: Record<string, CompactTable> = {};
  for (const t of raw) {
    if (!isRecord(t)) throw new Error('a table entry is not an object');
    const name = str(t, 'name', 'table');
    const where = `table ${name}`;
    if (Object.hasOwn(tables, name)) throw new Error(`${where}: listed twice`);
    const rawColumns = t['columns'];
    if (!Array.isArray(rawColumns)) throw new Error(`${where}: columns is not a list`);
    const columns = rawColumns.map((c): CompactColumn => {
      if (!isRecord(c)) throw new Error(`${where}: a column is not an object`);
      const cname = str(c, 'name', where);
      const cwhere = `${where}.${cname}`;
      const col: CompactColumn = {
        name: cname,
        type: str(c, 'type', cwhere),
        description: str(c, 'description', cwhere),
        hidden: bool(c, 'hidden', cwhere),
        required: bool(c, 'required', cwhere),
      };
      if (c['platforms'] !== undefined) col.platforms = normalizeSchemaPlatforms(c['platforms'], cwhere);
      return col;
    });
    tables[name] = {
      description: str(t, 'description', where),
      platforms: normalizeSchemaPlatforms(t['platforms'], where),
      evented: bool(t, 'evented', where),
      columns,
    };
  }
  const sorted: Record<string, CompactTable> = {};
  for (const name of Object.keys(tables).sort()) {
    const table = tables[name];
    if (table !== undefined) sorted[name] = table;
  }
  return { version: OSQUERY_SCHEMA_VERSION, source: SOURCE, license: LICENSE, tables: sorted };
}

/** One table header and one column per line: a schema update reviews as a readable diff. */
export function serializeCompactOsquerySchema(s: CompactOsquerySchema): string {
  const lines: string[] = ['{'];
  lines.push(`  "version": ${JSON.stringify(s.version)},`);
  lines.push(`  "source": ${JSON.stringify(s.source)},`);
  lines.push(`  "license": ${JSON.stringify(s.license)},`);
  lines.push('  "tables": {');
  const names = Object.keys(s.tables);
  names.forEach((name, i) => {
    const t = s.tables[name];
    if (t === undefined) return;
    const head = { description: t.description, platforms: t.platforms, evented: t.evented };
    lines.push(`    ${JSON.stringify(name)}: ${JSON.stringify(head).slice(0, -1)}, "columns": [`);
    t.columns.forEach((c, j) => lines.push(`      ${JSON.stringify(c)}${j < t.columns.length - 1 ? ',' : ''}`));
    lines.push(`    ]}${i < names.length - 1 ? ',' : ''}`);
  });
  lines.push('  }');
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
