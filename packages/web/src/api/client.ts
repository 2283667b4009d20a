/**
 * The console's one way to the operator API (`/api/v1`): same-origin fetch with the session cookie,
 * the CSRF token on unsafe requests (api.plugin.ts: cookie sessions must send X-CSRF-Token), and
 * the API's single error shape turned into an ApiError the pages show next to a field or as a toast.
 */
import type { ErrorBody } from '@mimir/api-contract';

export const API_BASE = '/api/v1';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Per-field messages when the API names fields (validation_failed details), else empty. */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    const d = this.details;
    if (Array.isArray(d)) {
      for (const item of d as unknown[]) {
        if (typeof item !== 'object' || item === null) continue;
        const rec = item as Record<string, unknown>;
        const field = typeof rec['field'] === 'string' ? rec['field'] : typeof rec['instancePath'] === 'string' ? rec['instancePath'].replace(/^\//, '') : undefined;
        const message = typeof rec['message'] === 'string' ? rec['message'] : undefined;
        if (field !== undefined && field !== '' && message !== undefined) out[field] = message;
      }
    } else if (typeof d === 'object' && d !== null) {
      for (const [k, v] of Object.entries(d as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
    }
    return out;
  }
}

let csrfToken = '';
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Listeners told when the API answers 401 on a signed-in page: the session expired or was revoked. */
const unauthorizedListeners = new Set<() => void>();
export function onUnauthorized(fn: () => void): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

type Query = Record<string, string | number | boolean | undefined | null | readonly (string | number)[]>;

export function queryString(q: Query | undefined): string {
  if (q === undefined) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const x of v) p.append(k, String(x));
    else p.append(k, String(v));
  }
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** multipart uploads (binaries, .conf files) */
  form?: FormData;
  signal?: AbortSignal;
  /** Don't broadcast a 401 (the sign-in and session probes expect it). */
  quiet401?: boolean;
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: BodyInit | undefined;
  if (opts.form !== undefined) body = opts.form;
  else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken !== '') headers['x-csrf-token'] = csrfToken;
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) init.body = body;
  if (opts.signal !== undefined) init.signal = opts.signal;
  let res: Response;
  try {
    res = await fetch(`${API_BASE}${path}${queryString(opts.query)}`, init);
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'Cannot reach the Mimir server. Check your connection and try again.');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    if (res.status === 401 && opts.quiet401 !== true) for (const fn of unauthorizedListeners) fn();
    const e = (json as Partial<ErrorBody> | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `${res.status} ${res.statusText}`, e?.details, (json as Partial<ErrorBody> | undefined)?.requestId);
  }
  return json as T;
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>('GET', path, { ...(query !== undefined ? { query } : {}), ...(signal !== undefined ? { signal } : {}) }),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, { body: body ?? {} }),
  put: <T>(path: string, body?: unknown) => request<T>('PUT', path, { body: body ?? {} }),
  patch: <T>(path: string, body?: unknown) => request<T>('PATCH', path, { body: body ?? {} }),
  del: <T>(path: string) => request<T>('DELETE', path),
  upload: <T>(path: string, form: FormData) => request<T>('POST', path, { form }),
};

/** A URL for a download link (CSV/NDJSON exports): the cookie authenticates GETs. */
export function downloadUrl(path: string, query?: Query): string {
  return `${API_BASE}${path}${queryString(query)}`;
}
