/**
 * Request validation for the operator API. Bodies are JSON with real types, so they are checked as
 * sent: no coercion ("5" is not a number), no stripping (an unknown field is an error, not silently
 * dropped), no defaults. Querystrings, params and headers are strings on the wire and keep
 * Fastify's coercing Ajv (`?limit=5` is a number, defaults fill `limit`).
 */
import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';

// Same pool Fastify uses by default; `allErrors` stays false, as in Fastify (all errors on a large
// array of bad items is a cheap denial of service), so the first problem is reported.
const pool = AjvCompiler();
const wire = pool({}, { customOptions: {} });
const json = pool({}, { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } });

export const apiValidatorCompiler: FastifySchemaCompiler<unknown> = (route) => {
  const compile = route.httpPart === 'body' ? json : wire;
  // The pool's compilers take the route definition ({schema, method, url, httpPart}), like Fastify's.
  return (compile as unknown as FastifySchemaCompiler<unknown>)(route);
};

/** One validation finding as the API reports it: the JSON pointer of the field and what is wrong. */
export interface FieldProblem {
  path: string;
  message: string;
}

/**
 * Ajv reports an unknown field at its parent (`/`, "must NOT have additional properties") and a
 * missing one likewise: name the field itself so a client knows which one to fix.
 */
export function fieldProblems(errors: readonly FastifySchemaValidationError[]): FieldProblem[] {
  return errors.map((v) => {
    const base = v.instancePath;
    const p = v.params;
    const extra = p['additionalProperty'];
    if (v.keyword === 'additionalProperties' && typeof extra === 'string') return { path: `${base}/${extra}`, message: `unknown field '${extra}'` };
    const missing = p['missingProperty'];
    if (v.keyword === 'required' && typeof missing === 'string') return { path: `${base}/${missing}`, message: `'${missing}' is required` };
    return { path: base === '' ? '/' : base, message: v.message ?? 'invalid' };
  });
}
