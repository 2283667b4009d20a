/**
 * Value coercions for osquery's loosely typed wire fields. Old osquery versions sent many numbers
 * as strings (osquery-protocol.md §9 items 7, 8, 24); the server must accept both.
 */

/** An integer from a JSON number or a decimal string; undefined when it is neither. */
export function toInteger(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v === 'string' && /^-?\d{1,15}$/.test(v.trim())) return Number(v.trim());
  return undefined;
}

/** A finite number from a JSON number or numeric string. */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** osquery booleans: bool, "true"/"t"/"1"/"false"/"f"/"0" strings, or numbers (O-packs). */
export function toBoolean(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'true' || s === 't' || s === '1' || s === 'yes') return true;
    if (s === 'false' || s === 'f' || s === '0' || s === 'no' || s === '') return false;
  }
  return undefined;
}

/** Scalars become strings; objects and arrays are JSON-encoded; null becomes "". */
export function toText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A map of strings (host_details tables, decorations), tolerating non-string scalars. */
export function toStringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isPlainObject(v)) return out;
  for (const [k, val] of Object.entries(v)) out[k] = toText(val);
  return out;
}

/**
 * Strip NUL characters, which osquery can return inside row values and which PostgreSQL text
 * columns refuse (osquery-protocol.md §9 item 13).
 */
export function stripNul(s: string): string {
  return s.includes('\u0000') ? s.replaceAll('\u0000', '') : s;
}
