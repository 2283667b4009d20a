/**
 * Reads the queries of an osquery `.conf` pack dropped on the pack form. osquery's own packs are
 * JSON with two liberties its config parser accepts: whole-line `//` or `#` comments, and SQL
 * strings continued across lines with a trailing backslash (e.g. osquery's incident-response.conf).
 * Whole-pack imports go through the server (POST /packs/import), which applies the same rules.
 */

export interface ConfQuery {
  name: string;
  sql: string;
  interval: number;
  snapshot: boolean;
  platforms: string[];
  minOsqueryVersion: string;
  description: string;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

export function parseConfPack(text: string): ConfQuery[] {
  const cleaned = text
    .split('\n')
    .filter((l) => !/^\s*(\/\/|#)/.test(l))
    .join('\n')
    .replace(/\\\r?\n\s*/g, ' ');
  let doc: unknown;
  try {
    doc = JSON.parse(cleaned);
  } catch (err) {
    throw new Error(`Not an osquery pack: ${err instanceof Error ? err.message : String(err)}`);
  }
  const queries = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)['queries'] : undefined;
  if (typeof queries !== 'object' || queries === null || Array.isArray(queries)) throw new Error('Not an osquery pack: no "queries" object');
  const out: ConfQuery[] = [];
  for (const [name, raw] of Object.entries(queries as Record<string, unknown>)) {
    if (typeof raw !== 'object' || raw === null) throw new Error(`Query ${name}: not an object`);
    const q = raw as Record<string, unknown>;
    const sql = str(q['query']);
    if (sql === '') throw new Error(`Query ${name}: no "query"`);
    const interval = Number(q['interval'] ?? 3600);
    out.push({
      name,
      sql,
      interval: Number.isFinite(interval) && interval > 0 ? interval : 3600,
      snapshot: q['snapshot'] === true || q['snapshot'] === 'true',
      platforms: str(q['platform']).split(',').map((p) => p.trim()).filter((p) => p === 'darwin' || p === 'linux' || p === 'windows'),
      minOsqueryVersion: str(q['version']),
      description: str(q['description']),
    });
  }
  return out;
}
