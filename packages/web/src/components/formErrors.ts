/**
 * Field messages from an API error. Besides the `field`/`instancePath` entries ApiError reads, the
 * live-query, pack and saved-query services report `validation_failed` details as
 * `[{path: "/queries/2/interval", message}]` (every finding at once); they are keyed here by the path
 * without its leading slash, e.g. `queries/2/interval`, `timeoutSeconds`.
 */
import { ApiError } from '../api/client';

export function fieldErrorsOf(err: unknown): Record<string, string> {
  if (!(err instanceof ApiError)) return {};
  const out = err.fieldErrors();
  if (Array.isArray(err.details)) {
    for (const item of err.details as unknown[]) {
      if (typeof item !== 'object' || item === null) continue;
      const rec = item as Record<string, unknown>;
      const path = rec['path'];
      const message = rec['message'];
      if (typeof path !== 'string' || typeof message !== 'string') continue;
      const key = path.replace(/^\//, '');
      out[key] = key in out ? `${out[key] ?? ''}; ${message}` : message;
    }
  }
  return out;
}

/** Messages not claimed by any of the form's fields, joined for a toast or an alert. */
export function otherErrors(errors: Record<string, string>, shown: readonly string[]): string[] {
  return Object.entries(errors).filter(([k]) => !shown.some((s) => k === s || k.startsWith(`${s}/`))).map(([k, v]) => (k === '' ? v : `${k}: ${v}`));
}
