/**
 * JSON exactly as osquery writes and reads it (osquery-protocol.md §1.2, §1.5):
 * - writing: compact rapidjson `Writer` output — no whitespace, `/` not escaped, UTF-8 raw, control
 *   characters as `\b \f \n \r \t` or `\u00XX` (upper-case hex). Objects keep insertion order; use a
 *   `Map` when the order must be exact even for integer-like keys (plain JS objects move those first).
 * - reading: empty body ⇒ `{}`; anything that is not a JSON object ⇒ failure.
 */

/** Already-serialized JSON inserted verbatim (e.g. a buffered log line). */
export class RawJson {
  constructor(readonly text: string) {}
}

export type JsonValue =
  | RawJson
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue }
  | ReadonlyMap<string, JsonValue>;

export type JsonObject = Record<string, unknown>;

const SHORT_ESCAPES: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r', 34: '\\"', 92: '\\\\' };

/** A JSON string literal the way rapidjson's Writer emits it. */
export function jsonString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 34 && c !== 92) continue;
    out += s.slice(start, i);
    out += SHORT_ESCAPES[c] ?? `\\u00${c.toString(16).toUpperCase().padStart(2, '0')}`;
    start = i + 1;
  }
  return `${out}${s.slice(start)}"`;
}

function isMap(v: unknown): v is ReadonlyMap<string, JsonValue> {
  return v instanceof Map;
}

/** Serialize compactly, rapidjson style. Non-finite numbers become `null` (rapidjson refuses them). */
export function toOsqueryJson(value: JsonValue): string {
  if (value === null) return 'null';
  if (value instanceof RawJson) return value.text;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  if (typeof value === 'string') return jsonString(value);
  if (Array.isArray(value)) return `[${value.map((v: JsonValue) => toOsqueryJson(v)).join(',')}]`;
  const entries: Iterable<[string, JsonValue]> = isMap(value)
    ? value.entries()
    : Object.entries(value as { readonly [key: string]: JsonValue });
  let out = '{';
  let first = true;
  for (const [k, v] of entries) {
    out += `${first ? '' : ','}${jsonString(k)}:${toOsqueryJson(v)}`;
    first = false;
  }
  return `${out}}`;
}

export type JsonParse = { ok: true; value: JsonObject } | { ok: false; error: string };

/**
 * osquery's response parsing (O-ser): an empty body is `{}`; a body that is not JSON is a failure
 * ("Cannot parse JSON"); a JSON value that is not an object is a failure too (undefined behaviour in
 * osquery, refused here).
 */
export function parseOsqueryResponse(body: Buffer | string): JsonParse {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.length === 0) return { ok: true, value: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `Cannot parse JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, error: 'Cannot parse JSON: the response is not a JSON object' };
  }
  return { ok: true, value: parsed as JsonObject };
}
