/**
 * The osquery 5.23.1 table schema at run time, from the compact copy in `assets/` (built by
 * scripts/build-osquery-schema.ts; CC BY 4.0, see assets/README.md). Loaded once, on first use.
 * Table and column names are case-insensitive, as in SQLite.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  OSQUERY_SCHEMA_VERSION, SCHEMA_PLATFORMS,
  type CompactColumn, type CompactOsquerySchema, type CompactTable, type SchemaPlatform,
} from './osquery-schema.build.js';

export { SCHEMA_PLATFORMS, type SchemaPlatform };

export interface OsqueryColumn extends CompactColumn {
  /** The table it belongs to. */
  table: string;
}

export interface OsqueryTable extends Omit<CompactTable, 'columns'> {
  name: string;
  columns: OsqueryColumn[];
  /** The table's required columns (osquery needs one of them constrained). */
  required: OsqueryColumn[];
}

export class OsquerySchema {
  readonly version: string;
  readonly tables: readonly OsqueryTable[];
  private readonly byName = new Map<string, OsqueryTable>();
  private readonly columnsByTable = new Map<string, Map<string, OsqueryColumn>>();

  constructor(compact: CompactOsquerySchema, readonly etag: string) {
    this.version = compact.version;
    const tables: OsqueryTable[] = [];
    for (const [name, t] of Object.entries(compact.tables)) {
      const columns = t.columns.map((c) => ({ ...c, table: name }));
      const table: OsqueryTable = { name, description: t.description, platforms: t.platforms, evented: t.evented, columns, required: columns.filter((c) => c.required) };
      tables.push(table);
      this.byName.set(name.toLowerCase(), table);
      this.columnsByTable.set(name.toLowerCase(), new Map(columns.map((c) => [c.name.toLowerCase(), c])));
    }
    this.tables = tables;
  }

  table(name: string): OsqueryTable | undefined {
    return this.byName.get(name.toLowerCase());
  }

  column(table: string, column: string): OsqueryColumn | undefined {
    return this.columnsByTable.get(table.toLowerCase())?.get(column.toLowerCase());
  }
}

function assertCompact(v: unknown): asserts v is CompactOsquerySchema {
  const o = v as Partial<CompactOsquerySchema> | null;
  if (o === null || typeof o !== 'object' || typeof o.version !== 'string' || typeof o.tables !== 'object') {
    throw new Error('assets/osquery-schema file is not a compact osquery schema: regenerate it with scripts/build-osquery-schema.ts');
  }
}

/** Parse a compact schema document (the asset, or one built in a test). */
export function loadOsquerySchema(text: string): OsquerySchema {
  const parsed = JSON.parse(text) as unknown;
  assertCompact(parsed);
  return new OsquerySchema(parsed, `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"`);
}

let cached: OsquerySchema | undefined;

/** The schema shipped with Mimir (assets/osquery-schema-5.23.1.json). */
export function osquerySchema(): OsquerySchema {
  if (cached === undefined) {
    // src/services/sql and dist/services/sql are both three levels under the package root.
    const file = new URL(`../../../assets/osquery-schema-${OSQUERY_SCHEMA_VERSION}.json`, import.meta.url);
    cached = loadOsquerySchema(readFileSync(file, 'utf8'));
  }
  return cached;
}

/**
 * osquery's pack platform words (O-packs `checkPlatform`: darwin, linux, posix, windows, freebsd,
 * any/all, plus Linux distribution ids), and the schema platforms each one means. FreeBSD has no
 * tables in the schema, so it adds none. win32/cygwin and macos are accepted as aliases.
 */
const PLATFORM_WORDS: ReadonlyMap<string, readonly SchemaPlatform[]> = new Map<string, readonly SchemaPlatform[]>([
  ['any', SCHEMA_PLATFORMS], ['all', SCHEMA_PLATFORMS],
  ['posix', ['darwin', 'linux']],
  ['darwin', ['darwin']], ['macos', ['darwin']],
  ['windows', ['windows']], ['win32', ['windows']], ['cygwin', ['windows']],
  ['freebsd', []],
  ...['linux', 'ubuntu', 'debian', 'rhel', 'centos', 'fedora', 'amzn', 'arch', 'gentoo', 'suse', 'opensuse', 'sles'].map(
    (w): [string, readonly SchemaPlatform[]] => [w, ['linux']],
  ),
]);

export function isPlatformWord(word: string): boolean {
  return PLATFORM_WORDS.has(word.trim().toLowerCase());
}

/**
 * The schema platforms a platform filter targets: each entry may itself be a comma list
 * (`"windows,darwin"`). Undefined when nothing is targeted (no platform checks then).
 */
export function targetPlatforms(filters: readonly string[] | undefined): { platforms: Set<SchemaPlatform> | undefined; unknown: string[] } {
  const words = (filters ?? []).flatMap((f) => f.split(',')).map((w) => w.trim().toLowerCase()).filter((w) => w !== '');
  if (words.length === 0) return { platforms: undefined, unknown: [] };
  const platforms = new Set<SchemaPlatform>();
  const unknown: string[] = [];
  for (const w of words) {
    const mapped = PLATFORM_WORDS.get(w);
    if (mapped === undefined) unknown.push(w);
    else for (const p of mapped) platforms.add(p);
  }
  return { platforms, unknown };
}
