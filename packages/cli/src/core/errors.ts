/**
 * Stable exit codes (documented in docs/cli.md; scripts depend on them) and the one error type
 * commands throw. Everything that ends the process goes through `exitCodeOf`.
 */

export const EXIT = {
  /** Success. */
  ok: 0,
  /** Anything not listed below (e.g. a 5xx from the server). */
  error: 1,
  /** Bad flags or arguments, a bad file (YAML, .conf, JSON), or a prompt needed without a TTY. Nothing was sent. */
  usage: 2,
  /** Not signed in, bad or expired token (401), or the role may not do this (403). */
  auth: 3,
  /** The server has no such object (404), or a name matched nothing. */
  notFound: 4,
  /** The server refused the change: validation (400/422) or a conflict (409), e.g. "Set rollout to 0% before deleting." */
  refused: 5,
  /** `query run`: at least one host failed, expired or was cancelled (unless --allow-failures). */
  hostsFailed: 6,
  /** The server could not be reached, or its certificate is not trusted (see --ca). */
  connection: 7,
  /** Interrupted (Ctrl-C). */
  interrupted: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error with a message meant for people and the exit code it ends the process with. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: ExitCode = EXIT.error, readonly details: readonly string[] = []) {
    super(message);
    this.name = 'CliError';
  }
}

/** Bad flags, arguments or files: nothing was sent to the server. */
export class UsageError extends CliError {
  constructor(message: string, details: readonly string[] = []) {
    super(message, EXIT.usage, details);
    this.name = 'UsageError';
  }
}

/** An operator API error answer (`{error: {code, message, details?}, requestId}`). */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly apiDetails: unknown,
    readonly requestId: string | undefined,
  ) {
    super(message, exitForStatus(status), detailLines(apiDetails));
    this.name = 'ApiError';
  }
}

export function exitForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 400 || status === 409 || status === 413 || status === 415 || status === 422) return EXIT.refused;
  return EXIT.error;
}

/** The server's per-field details (`[{path, message}]`, docs/updates.md) as lines. */
function detailLines(details: unknown): string[] {
  if (!Array.isArray(details)) return [];
  const out: string[] = [];
  for (const d of details as unknown[]) {
    if (typeof d !== 'object' || d === null) continue;
    const rec = d as Record<string, unknown>;
    const path = typeof rec['path'] === 'string' ? rec['path'].replace(/^\//, '') : '';
    const msg = typeof rec['message'] === 'string' ? rec['message'] : JSON.stringify(d);
    const query = typeof rec['query'] === 'string' ? ` (query ${rec['query']})` : '';
    out.push(path !== '' ? `${path}: ${msg}${query}` : `${msg}${query}`);
  }
  return out;
}
