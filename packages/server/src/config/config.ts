// Loads Mimir's configuration. This is the only module allowed to look at environment variables;
// it takes them as a parameter (instead of reading process.env) so tests and `mimir config` can
// feed their own.
//
// Sources, later wins: schema defaults < JSON file named by MIMIR_CONFIG_FILE < MIMIR_* env vars.
// Every problem is collected before anything is thrown, so an operator fixes a broken deployment
// in one round trip instead of one restart per typo.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type Type from 'typebox';
import { Compile } from 'typebox/compile';
import { CONFIG_FILE_ENV } from './describe.js';
import { formatBytes, parseBoolean, parseBytes, parseDuration, parseInteger, parseList } from './format.js';
import { expectation, GROUPS, LEAVES, type Leaf } from './leaves.js';
import { ConfigSchema } from './schema.js';

export { CONFIG_FILE_ENV, describeConfig, type SettingDescription } from './describe.js';
export { renderConfigMarkdown } from './docs.js';
export { formatBytes, formatDuration, parseBoolean, parseBytes, parseDuration, parseInteger, parseList } from './format.js';
export { ConfigSchema } from './schema.js';

/** Recursively readonly; the loaded Config is also frozen at runtime, so the type tells the truth. */
export type DeepReadonly<T> = T extends readonly (infer Item)[]
  ? readonly DeepReadonly<Item>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** Mutable form of the configuration, as the schema describes it (durations in seconds, sizes in bytes). */
export type ConfigShape = Type.Static<typeof ConfigSchema>;
export type Config = DeepReadonly<ConfigShape>;

export class ConfigError extends Error {
  /** One line per problem, each naming the env var (or config-file key) at fault. */
  readonly problems: string[];

  constructor(problems: string[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`invalid configuration (${count}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const validator = Compile(ConfigSchema);
const LEAF_BY_KEY = new Map(LEAVES.map((leaf) => [leaf.key, leaf]));
const LEAF_BY_ENV = new Map(LEAVES.map((leaf) => [leaf.env, leaf]));
const GROUP_KEYS = new Set(GROUPS);
const SECRET_ENVS = LEAVES.filter((leaf) => leaf.secret).map((leaf) => leaf.env);
const KNOWN_ENVS = new Set([CONFIG_FILE_ENV, ...LEAF_BY_ENV.keys(), ...SECRET_ENVS.map((env) => `${env}_FILE`)]);

/** Where the winning value of a setting came from, to word a later validation problem. */
interface Origin {
  readonly label: string;
  readonly display: string;
}

type Cast = { readonly ok: true; readonly value: unknown } | { readonly ok: false };
const FAIL: Cast = { ok: false };
const cast = (value: unknown): Cast => (value === undefined ? FAIL : { ok: true, value });

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Quotes a rejected value, except secrets: problem reports end up in logs and CI output. */
function show(leaf: Leaf, raw: unknown): string {
  if (!leaf.secret) return JSON.stringify(raw);
  return typeof raw === 'string' ? `the value (hidden, ${raw.length} characters)` : 'the value (hidden)';
}

/** An empty env var counts as unset, as container tooling often sets `MIMIR_X=` to mean "nothing". */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function castText(leaf: Leaf, text: string, cwd: string): Cast {
  switch (leaf.kind) {
    case 'string':
      return cast(text);
    case 'path':
      return cast(resolve(cwd, text));
    case 'port':
    case 'integer':
      return cast(parseInteger(text));
    case 'boolean':
      return cast(parseBoolean(text));
    case 'list':
      return cast(parseList(text));
    case 'bytes':
      return cast(parseBytes(text));
    case 'duration':
      return cast(parseDuration(text));
    case 'enum':
      // `MIMIR_LOG_LEVEL=INFO` is common enough that refusing it would only annoy.
      return cast(text.trim().toLowerCase());
  }
}

/** Config-file values may use JSON types directly or the same text notation as env vars. */
function castJson(leaf: Leaf, value: unknown, cwd: string): Cast {
  if (typeof value === 'string') {
    // Resolving '' would silently yield cwd; keep it so the schema's minLength reports it.
    return leaf.kind === 'path' && value === '' ? cast(value) : castText(leaf, value, cwd);
  }
  switch (leaf.kind) {
    case 'port':
    case 'integer':
    case 'bytes':
    case 'duration':
      // Range and integrality are left to the schema so the message is the same as for env vars.
      return typeof value === 'number' ? cast(value) : FAIL;
    case 'boolean':
      return typeof value === 'boolean' ? cast(value) : FAIL;
    case 'list':
      return Array.isArray(value) ? cast(value) : FAIL;
    case 'string':
    case 'path':
    case 'enum':
      return FAIL;
  }
}

interface FileValues {
  readonly file: string;
  readonly values: ReadonlyMap<string, unknown>;
}

/** Levenshtein distance with adjacent transpositions, the most common typo (`PROT` for `PORT`). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i];
    if (row === undefined) continue;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The closest known name, if close enough to be a plausible typo rather than a different word. */
function suggest(name: string, candidates: Iterable<string>, prefix = ''): string | undefined {
  const core = (s: string): string => s.slice(prefix.length).toLowerCase();
  const target = core(name);
  const allowed = target.length <= 4 ? 1 : target.length <= 8 ? 2 : 3;
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(target, core(candidate));
    if (distance <= allowed && (best === undefined || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

function flattenFile(node: Record<string, unknown>, prefix: string, file: string, out: Map<string, unknown>, problems: string[]): void {
  for (const [name, value] of Object.entries(node)) {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    if (LEAF_BY_KEY.has(key)) {
      // Dotted and nested spellings may be mixed, so the same key can appear twice.
      if (out.has(key)) problems.push(`${CONFIG_FILE_ENV}: key "${key}" is set more than once in ${file}`);
      else out.set(key, value);
    } else if (GROUP_KEYS.has(key)) {
      if (isRecord(value)) flattenFile(value, key, file, out, problems);
      else if (value !== null) problems.push(`${CONFIG_FILE_ENV}: key "${key}" in ${file} must be an object`);
    } else {
      const hint = suggest(key, [...LEAF_BY_KEY.keys(), ...GROUP_KEYS]);
      problems.push(`${CONFIG_FILE_ENV}: unknown key "${key}" in ${file}${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`);
    }
  }
}

function readConfigFile(env: Readonly<Record<string, string | undefined>>, cwd: string, problems: string[]): FileValues | undefined {
  const name = nonEmpty(env[CONFIG_FILE_ENV]);
  if (name === undefined) return undefined;
  const file = resolve(cwd, name);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(`${CONFIG_FILE_ENV}: cannot read ${file}: ${reason(error)}`);
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    problems.push(`${CONFIG_FILE_ENV}: ${file} is not valid JSON: ${reason(error)}`);
    return undefined;
  }
  if (!isRecord(parsed)) {
    problems.push(`${CONFIG_FILE_ENV}: ${file} must contain a JSON object`);
    return undefined;
  }
  const values = new Map<string, unknown>();
  flattenFile(parsed, '', file, values, problems);
  return { file, values };
}

/** The env text for a leaf, from `MIMIR_X` or, for secrets, the file named by `MIMIR_X_FILE`. */
function readEnv(
  leaf: Leaf,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  report: (problem: string) => void,
): { text: string; label: string } | undefined {
  const direct = nonEmpty(env[leaf.env]);
  if (!leaf.secret) return direct === undefined ? undefined : { text: direct, label: leaf.env };
  const fileVar = `${leaf.env}_FILE`;
  const fileName = nonEmpty(env[fileVar]);
  if (fileName === undefined) return direct === undefined ? undefined : { text: direct, label: leaf.env };
  if (direct !== undefined) {
    report(`${leaf.env} and ${fileVar} are both set: set only one of them`);
    return undefined;
  }
  const file = resolve(cwd, fileName);
  let text: string;
  try {
    // Only line breaks are trimmed: `echo secret > file` adds one, but spaces may be part of a secret.
    text = readFileSync(file, 'utf8').replace(/[\r\n]+$/, '');
  } catch (error) {
    report(`${fileVar}: cannot read ${file}: ${reason(error)}`);
    return undefined;
  }
  // An empty secret file is almost always a missing mount, not an intent to unset the secret.
  if (text === '') {
    report(`${fileVar}: ${file} is empty, expected ${expectation(leaf)}`);
    return undefined;
  }
  return { text, label: fileVar };
}

function setIn(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = root;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (isRecord(next)) {
      node = next;
    } else {
      const created: Record<string, unknown> = {};
      node[segment] = created;
      node = created;
    }
  }
  const last = path.at(-1);
  if (last !== undefined) node[last] = value;
}

function leafAt(instancePath: string): Leaf | undefined {
  // JSON pointer; our keys never contain `/` or `~`, so no unescaping is needed.
  const segments = instancePath.split('/').slice(1);
  return LEAVES.find((leaf) => leaf.path.every((segment, i) => segments[i] === segment));
}

/** Reports schema violations per setting through `report`; returns any that fit no setting. */
function schemaProblems(candidate: unknown, origins: ReadonlyMap<string, Origin>, report: (leaf: Leaf, problem: string) => void): string[] {
  if (validator.Check(candidate)) return [];
  const reported = new Set<string>();
  const other: string[] = [];
  for (const error of validator.Errors(candidate)) {
    const leaf = leafAt(error.instancePath);
    if (leaf === undefined) {
      // Only reachable if the loader and the schema disagree; report it rather than hide it.
      other.push(`configuration${error.instancePath}: ${error.message}`);
      continue;
    }
    // A value can break several keywords at once (type, minimum, ...); one line per setting is enough.
    if (reported.has(leaf.key)) continue;
    reported.add(leaf.key);
    const origin = origins.get(leaf.key) ?? { label: leaf.env, display: JSON.stringify(leaf.default) };
    report(leaf, `${origin.label}: ${origin.display} is not ${expectation(leaf)}`);
  }
  return other;
}

function envOf(key: string): string {
  const leaf = LEAF_BY_KEY.get(key);
  if (leaf === undefined) throw new Error(`config: no setting ${key}`);
  return leaf.env;
}

/** Rules spanning several settings, which JSON Schema could state only with unreadable messages. */
function crossFieldProblems(values: ReadonlyMap<string, unknown>): string[] {
  const problems: string[] = [];
  const cert = envOf('tls.cert');
  const key = envOf('tls.key');
  if (values.has('tls.cert') && !values.has('tls.key')) {
    problems.push(`${cert} is set but ${key} is not: set both (certificate and its private key), or neither to use a generated certificate`);
  }
  if (values.has('tls.key') && !values.has('tls.cert')) {
    problems.push(`${key} is set but ${cert} is not: set both (certificate and its private key), or neither to use a generated certificate`);
  }
  const block = values.get('carves.maxBlockSize');
  const total = values.get('carves.maxSize');
  if (typeof block === 'number' && typeof total === 'number' && block > total) {
    problems.push(
      `${envOf('carves.maxBlockSize')} (${formatBytes(block)}) must not be larger than ${envOf('carves.maxSize')} (${formatBytes(total)})`,
    );
  }
  return problems;
}

/** Unknown MIMIR_* variables are almost always typos that would otherwise be silently ignored. */
function unknownEnvProblems(env: Readonly<Record<string, string | undefined>>): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('MIMIR_') || value === undefined || KNOWN_ENVS.has(name)) continue;
    const base = name.endsWith('_FILE') ? name.slice(0, -'_FILE'.length) : undefined;
    if (base !== undefined && LEAF_BY_ENV.has(base)) {
      problems.push(`${name}: only secrets (${SECRET_ENVS.join(', ')}) can be read from a file; set ${base} instead`);
      continue;
    }
    const hint = suggest(name, KNOWN_ENVS, 'MIMIR_');
    problems.push(`${name}: unknown setting${hint === undefined ? '' : ` (did you mean ${hint}?)`}`);
  }
  return problems;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  for (const child of Object.values(value)) deepFreeze(child);
  Object.freeze(value);
}

/**
 * Builds the configuration from `env` (normally process.env) and the optional config file.
 * Relative paths, including MIMIR_CONFIG_FILE and `_FILE` secrets, resolve against `opts.cwd`.
 * @throws ConfigError listing every problem found.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>, opts: { cwd?: string } = {}): Config {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const fileProblems: string[] = [];
  // Problems are kept per setting so the report follows schema (and documentation) order.
  const leafProblems = new Map<string, string[]>();
  const report = (leaf: Leaf, problem: string): void => {
    const list = leafProblems.get(leaf.key);
    if (list === undefined) leafProblems.set(leaf.key, [problem]);
    else list.push(problem);
  };
  const values = new Map<string, unknown>();
  const origins = new Map<string, Origin>();
  const apply = (leaf: Leaf, result: Cast, origin: Origin): void => {
    if (!result.ok) {
      // The lower layer's value stays, so later checks still see something sensible.
      report(leaf, `${origin.label}: ${origin.display} is not ${expectation(leaf)}`);
      return;
    }
    values.set(leaf.key, result.value);
    origins.set(leaf.key, origin);
  };

  const fromFile = readConfigFile(env, cwd, fileProblems);
  for (const leaf of LEAVES) {
    if (leaf.default !== undefined) {
      // Cast like file values so default paths get resolved too; cloned because the result is
      // frozen and the schema's own default arrays must stay untouched.
      apply(leaf, castJson(leaf, structuredClone(leaf.default), cwd), { label: `${leaf.env} (default)`, display: show(leaf, leaf.default) });
    }
    const fileValue = fromFile?.values.get(leaf.key);
    // null in the file means "not set here", the JSON spelling of leaving the key out.
    if (fromFile !== undefined && fileValue !== undefined && fileValue !== null) {
      apply(leaf, castJson(leaf, fileValue, cwd), { label: `${leaf.key} in ${fromFile.file}`, display: show(leaf, fileValue) });
    }
    const fromEnv = readEnv(leaf, env, cwd, (problem) => report(leaf, problem));
    if (fromEnv !== undefined) apply(leaf, castText(leaf, fromEnv.text, cwd), { label: fromEnv.label, display: show(leaf, fromEnv.text) });
  }

  // Every group exists even when all its settings are unset, as the Config type promises.
  const candidate: Record<string, unknown> = {};
  for (const group of GROUPS) setIn(candidate, group.split('.'), {});
  for (const leaf of LEAVES) {
    const value = values.get(leaf.key);
    if (value !== undefined) setIn(candidate, leaf.path, value);
  }

  const otherProblems = schemaProblems(candidate, origins, report);
  const problems = [
    ...fileProblems,
    ...LEAVES.flatMap((leaf) => leafProblems.get(leaf.key) ?? []),
    ...otherProblems,
    ...crossFieldProblems(values),
    ...unknownEnvProblems(env),
  ];
  if (problems.length > 0) throw new ConfigError(problems);
  // Always true after an empty problem list; written as a guard so the compiler knows the shape.
  if (!validator.Check(candidate)) throw new ConfigError(['configuration does not match its schema']);
  deepFreeze(candidate);
  return candidate;
}
