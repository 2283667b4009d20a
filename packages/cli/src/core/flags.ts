/** Small helpers shared by the command files: output flags, examples, argument parsing. */
import type { Command } from 'commander';
import { UsageError } from './errors.js';

/** `-o table|json|csv`, `--json`, `--csv` on a command that prints data. */
export function withOutput(cmd: Command): Command {
  return cmd
    .option('-o, --output <format>', 'table (default), json or csv')
    .option('--json', 'same as --output json')
    .option('--csv', 'same as --output csv');
}

export function withExamples(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ mimir-cli ${l}`).join('\n')}`);
}

export function intArg(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const t = value.trim();
  if (!/^-?\d+$/.test(t)) throw new UsageError(`${name}: expected a whole number, got ${JSON.stringify(value)}`);
  const n = Number(t);
  if (n < min || n > max) throw new UsageError(`${name}: must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A positive integer id. */
export function idArg(name: string, value: string): number {
  const n = intArg(name, value, 1, Number.MAX_SAFE_INTEGER);
  if (n === undefined) throw new UsageError(`${name}: missing`);
  return n;
}

export const isId = (s: string) => /^[1-9]\d{0,15}$/.test(s.trim());

/** `a,b , c` → ['a','b','c'] (empty items refused). */
export function listArg(name: string, value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`${name}: empty item in ${JSON.stringify(value)} (comma-separated list)`);
  return items;
}

export function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${name}: must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`);
  return value as T;
}

export function boolArg(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes'].includes(v)) return true;
  if (['0', 'false', 'no'].includes(v)) return false;
  throw new UsageError(`${name}: use true or false, not ${JSON.stringify(value)}`);
}
