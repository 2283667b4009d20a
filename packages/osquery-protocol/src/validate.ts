import type { TSchema, Static } from 'typebox';
import { Compile } from 'typebox/compile';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Compile a TypeBox schema once into a checker that returns the value or one readable message
 * (the first few problems, each with its JSON pointer), for `{"error": …}` answers.
 */
export function compileChecker<T extends TSchema>(schema: T, label: string): (v: unknown) => Parsed<Static<T>> {
  const validator = Compile(schema);
  return (v: unknown) => {
    if (validator.Check(v)) return { ok: true, value: v };
    const problems = validator
      .Errors(v)
      .slice(0, 3)
      .map((e) => `${label}${e.instancePath === '' ? '' : e.instancePath}: ${e.message}`);
    return { ok: false, error: problems.join('; ') || `${label}: invalid` };
  };
}
