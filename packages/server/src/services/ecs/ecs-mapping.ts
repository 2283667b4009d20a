/**
 * ECS mappings (seed 004 "Map result fields to ECS"): each ECS field takes either an osquery result
 * column (`{field}`) or a static value (`{value}`). `validateEcsMapping` checks a mapping against
 * ECS 9.4.0 (restricted fields, allowed values, value types, arrays) and against the columns the
 * query returns; `applyEcsMapping` turns one result row into the ECS document, keeping the row
 * under `osquery` ("if you map osquery.name to user.name, the query results include both fields").
 */
import { isIP } from 'node:net';
import type { EcsMapping } from '../contracts.js';
import { ecsCatalog, type EcsCatalog, type EcsField } from './ecs-catalog.js';

export type EcsIssueCode =
  | 'invalid_entry'
  | 'unknown_field'
  | 'restricted_field'
  | 'value_not_allowed'
  | 'wrong_type'
  | 'not_a_list_field'
  | 'unknown_column'
  | 'hidden_column'
  | 'dynamic_allowed_values';

export interface EcsIssue {
  severity: 'error' | 'warning';
  code: EcsIssueCode;
  /** The ECS field (the mapping key). */
  field: string;
  message: string;
}

export interface EcsMappingContext {
  /** Result columns of the query; null when they cannot be known (then columns are not checked). */
  columns: readonly string[] | null;
  /** Hidden osquery columns of the tables the query reads (column → table): `*` does not return them. */
  hiddenColumns?: ReadonlyMap<string, string> | undefined;
}

export interface EcsMappingValidation {
  /** The mapping with every entry reduced to `{field}` or `{value}`. */
  mapping: EcsMapping;
  errors: EcsIssue[];
  warnings: EcsIssue[];
}

type Scalar = string | number | boolean;

const INTEGER_TYPES = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);
const FLOAT_TYPES = new Set(['double', 'float', 'half_float', 'scaled_float']);
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
/** Path segments that would reach Object.prototype. */
const UNSAFE_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Why a static value does not fit the field's type or allowed values; undefined when it does. */
function valueProblem(f: EcsField, v: Scalar): string | undefined {
  if (INTEGER_TYPES.has(f.type) || FLOAT_TYPES.has(f.type)) {
    const ok = typeof v === 'number' ? (!INTEGER_TYPES.has(f.type) || Number.isInteger(v)) : typeof v === 'string' && (INTEGER_TYPES.has(f.type) ? INTEGER : NUMBER).test(v.trim());
    if (!ok) return `${f.name} is a ${f.type} field: ${JSON.stringify(v)} is not ${INTEGER_TYPES.has(f.type) ? 'an integer' : 'a number'}`;
  } else if (f.type === 'boolean') {
    if (typeof v !== 'boolean' && v !== 'true' && v !== 'false') return `${f.name} is a boolean field: use true or false`;
  } else if (f.type === 'ip') {
    if (typeof v !== 'string' || isIP(v) === 0) return `${f.name} is an ip field: ${JSON.stringify(v)} is not an IP address`;
  } else if (f.type === 'date') {
    if (typeof v === 'boolean' || (typeof v === 'string' && Number.isNaN(Date.parse(v)) && !INTEGER.test(v))) return `${f.name} is a date field: ${JSON.stringify(v)} is not a date`;
  }
  if (f.allowed !== undefined && !f.allowed.includes(String(v))) {
    return `${JSON.stringify(v)} is not allowed in ${f.name}; ECS allows: ${f.allowed.join(', ')}`;
  }
  return undefined;
}

function problemCode(f: EcsField, v: Scalar): EcsIssueCode {
  return f.allowed !== undefined && !f.allowed.includes(String(v)) ? 'value_not_allowed' : 'wrong_type';
}

export function validateEcsMapping(input: Readonly<Record<string, unknown>>, ctx: EcsMappingContext, catalog: EcsCatalog = ecsCatalog()): EcsMappingValidation {
  const mapping: EcsMapping = {};
  const errors: EcsIssue[] = [];
  const warnings: EcsIssue[] = [];
  const error = (field: string, code: EcsIssueCode, message: string) => errors.push({ severity: 'error', code, field, message });
  const columns = ctx.columns === null ? null : new Set(ctx.columns);

  for (const [name, entry] of Object.entries(input)) {
    const restriction = catalog.restriction(name);
    const field = catalog.field(name);
    if (field === undefined || restriction !== undefined) {
      error(name, field === undefined ? 'unknown_field' : 'restricted_field', restriction ?? `${name} is not an ECS field`);
      continue;
    }
    if (!isRecord(entry)) {
      error(name, 'invalid_entry', `${name}: give {"field": "<osquery column>"} or {"value": <static value>}`);
      continue;
    }
    const hasField = entry['field'] !== undefined && entry['field'] !== '';
    const hasValue = entry['value'] !== undefined;
    if (hasField === hasValue) {
      error(name, 'invalid_entry', `${name}: give either field (an osquery column) or value (a static value), not ${hasField ? 'both' : 'neither'}`);
      continue;
    }
    if (hasField) {
      const column = entry['field'];
      if (typeof column !== 'string') {
        error(name, 'invalid_entry', `${name}: field must be the name of a result column`);
        continue;
      }
      if (columns !== null && !columns.has(column)) {
        const hiddenIn = ctx.hiddenColumns?.get(column);
        const sameButCase = [...columns].find((c) => c.toLowerCase() === column.toLowerCase());
        if (hiddenIn !== undefined && sameButCase === undefined) {
          error(name, 'hidden_column', `${name}: ${hiddenIn}.${column} is a hidden column, which SELECT * does not return: name it in the SELECT list`);
        } else {
          const list = [...columns];
          const shown = list.length > 12 ? `${list.slice(0, 12).join(', ')}, …` : list.join(', ');
          error(name, 'unknown_column', sameButCase !== undefined
            ? `${name}: the query returns ${sameButCase}, not ${column} (row keys are case-sensitive)`
            : `${name}: the query does not return a column ${column} (it returns ${shown === '' ? 'no columns' : shown})`);
        }
        continue;
      }
      if (field.allowed !== undefined) {
        warnings.push({ severity: 'warning', code: 'dynamic_allowed_values', field: name, message: `${name} only allows ${field.allowed.join(', ')}: make sure column ${column} holds one of them` });
      }
      mapping[name] = { field: column };
      continue;
    }
    const value = entry['value'];
    if (Array.isArray(value)) {
      if (field.array !== true) {
        error(name, 'not_a_list_field', `${name} holds one value, not a list`);
        continue;
      }
      if (value.length === 0 || !value.every(isScalar)) {
        error(name, 'wrong_type', `${name}: a list value must hold at least one string, number or boolean`);
        continue;
      }
      let bad = false;
      for (const v of value) {
        const problem = valueProblem(field, v);
        if (problem === undefined) continue;
        bad = true;
        error(name, problemCode(field, v), problem);
      }
      if (bad) continue;
      mapping[name] = { value: [...value] };
      continue;
    }
    if (!isScalar(value)) {
      error(name, 'wrong_type', `${name}: value must be a string, number, boolean or a list of them`);
      continue;
    }
    const problem = valueProblem(field, value);
    if (problem !== undefined) {
      error(name, problemCode(field, value), problem);
      continue;
    }
    mapping[name] = { value };
  }
  return { mapping, errors, warnings };
}

/**
 * Coerce a value to the ECS field's type: osquery sends every column as a string (osquery-protocol
 * §5.2), while ECS `long`, `double` and `boolean` fields want numbers and booleans. Empty strings
 * (osquery's NULL) are dropped for typed fields. Unknown fields keep the value as is.
 */
function coerce(field: EcsField | undefined, v: unknown): unknown {
  if (field === undefined || typeof v !== 'string') return v;
  const s = v.trim();
  if (INTEGER_TYPES.has(field.type)) {
    if (s === '') return undefined;
    const n = Number(s);
    return INTEGER.test(s) && Number.isSafeInteger(n) ? n : v;
  }
  if (FLOAT_TYPES.has(field.type)) {
    if (s === '') return undefined;
    return NUMBER.test(s) ? Number(s) : v;
  }
  if (field.type === 'boolean') {
    if (s === '') return undefined;
    if (s === 'true' || s === '1') return true;
    if (s === 'false' || s === '0') return false;
    return v;
  }
  if ((field.type === 'ip' || field.type === 'date') && s === '') return undefined;
  return v;
}

/**
 * One result row as an ECS document: mapped fields nested by their dotted names
 * (`user.name` → `{user: {name}}`), plus the original row under `osquery`. Published as
 * `core.hub.applyEcs`.
 */
export function applyEcsMapping(mapping: EcsMapping, row: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const catalog = ecsCatalog();
  const doc: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(mapping)) {
    let raw: unknown;
    if (entry.field !== undefined && entry.field !== '') {
      if (!Object.hasOwn(row, entry.field)) continue;
      raw = row[entry.field];
    } else if (entry.value !== undefined) {
      raw = Array.isArray(entry.value) ? [...(entry.value as readonly Scalar[])] : entry.value;
    } else {
      continue;
    }
    const field = catalog.field(name);
    let value = Array.isArray(raw) ? raw.map((x) => coerce(field, x)).filter((x) => x !== undefined) : coerce(field, raw);
    if (value === undefined || value === null) continue;
    // ECS list fields always get a list, so consumers see one shape.
    if (field?.array === true && !Array.isArray(value)) value = [value];
    setPath(doc, name.split('.'), value);
  }
  doc['osquery'] = { ...row };
  return doc;
}

function setPath(doc: Record<string, unknown>, path: readonly string[], value: unknown): void {
  if (path.some((p) => UNSAFE_KEYS.has(p) || p === '')) return;
  let node = doc;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) {
      const child: Record<string, unknown> = {};
      node[key] = child;
      node = child;
    } else if (isRecord(next)) {
      node = next;
    } else {
      return;
    }
  }
  const leaf = path[path.length - 1];
  if (leaf !== undefined && node[leaf] === undefined) node[leaf] = value;
}
