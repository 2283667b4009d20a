// Text <-> value conversions for the setting types that environment variables cannot express
// natively. Parsers return undefined instead of throwing so the loader can collect every bad
// value into one report rather than stopping at the first.

// Longest unit first: formatting picks the largest unit that divides the value exactly.
const DURATION_UNITS: ReadonlyArray<readonly [unit: string, seconds: number]> = [
  ['d', 86_400],
  ['h', 3_600],
  ['m', 60],
  ['s', 1],
];
const DURATION_UNIT_SECONDS = new Map(DURATION_UNITS);

const BYTE_UNITS: ReadonlyArray<readonly [unit: string, bytes: number]> = [
  ['TiB', 1024 ** 4],
  ['GiB', 1024 ** 3],
  ['MiB', 1024 ** 2],
  ['KiB', 1024],
];
// Keyed by lower case so `10mib` is accepted; people type units inconsistently.
const BYTE_UNIT_BYTES = new Map<string, number>([['b', 1], ...BYTE_UNITS.map(([u, n]) => [u.toLowerCase(), n] as const)]);

function safeInteger(n: number): number | undefined {
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parses a base-10 integer; rejects `1e3`, `0x10`, `1.0` and blanks that `Number()` would accept. */
export function parseInteger(text: string): number | undefined {
  const s = text.trim();
  return /^-?\d+$/.test(s) ? safeInteger(Number(s)) : undefined;
}

/** `true`/`false`/`1`/`0`, any case. Nothing looser: `MIMIR_X=no` silently meaning true would be worse than an error. */
export function parseBoolean(text: string): boolean | undefined {
  const s = text.trim().toLowerCase();
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  return undefined;
}

/** Comma-separated list; items are trimmed and empty items dropped, so `a, b,` is `['a', 'b']`. */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * Duration in whole seconds: plain seconds (`90`) or number+unit groups with units s, m, h, d
 * (`10s`, `5m`, `1h30m`, `30d`). Sub-second units are refused because every consumer works in seconds.
 */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+$/.test(s)) return safeInteger(Number(s));
  if (!/^(?:\d+[smhd])+$/.test(s)) return undefined;
  let total = 0;
  for (const [, count = '', unit = ''] of s.matchAll(/(\d+)([smhd])/g)) {
    total += Number(count) * (DURATION_UNIT_SECONDS.get(unit) ?? Number.NaN);
  }
  return safeInteger(total);
}

/** Inverse of parseDuration, choosing the largest exact unit (`86400` -> `1d`, `90` -> `90s`). */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0';
  for (const [unit, size] of DURATION_UNITS) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/**
 * Byte size: plain bytes (`1048576`) or a number with a binary unit B, KiB, MiB, GiB, TiB
 * (`512KiB`, `1.5GiB`). Decimal units (KB, MB) are refused on purpose: whether they mean 1000 or
 * 1024 is ambiguous, and a limit that is silently 5% off is a hard bug to spot.
 */
export function parseBytes(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]+)?$/i.exec(text.trim());
  if (!match) return undefined;
  const [, count = '', unit] = match;
  if (unit === undefined) return count.includes('.') ? undefined : safeInteger(Number(count));
  const size = BYTE_UNIT_BYTES.get(unit.toLowerCase());
  if (size === undefined) return undefined;
  // A fraction is fine as long as it lands on a whole byte (1.5KiB yes, 0.1KiB no).
  return safeInteger(Number(count) * size);
}

/** Inverse of parseBytes, choosing the largest exact unit (`10485760` -> `10MiB`, `1000` -> `1000`). */
export function formatBytes(bytes: number): string {
  if (bytes === 0) return '0';
  for (const [unit, size] of BYTE_UNITS) {
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}`;
}
