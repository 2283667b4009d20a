/**
 * Domain errors with stable codes (style-anchors §3 "Errors"). Services throw these; each HTTP
 * surface maps them once, at its edge. They never carry HTTP types.
 */
export class DomainError extends Error {
  constructor(
    /** Stable machine-readable code, e.g. `host_not_found`. */
    readonly code: string,
    message: string,
    /** The HTTP status the edge should use. */
    readonly status: number,
    /** Extra structured detail (e.g. per-field validation messages). */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export function createError(code: string, status: number) {
  return class extends DomainError {
    constructor(message: string, details?: unknown) {
      super(code, message, status, details);
    }
  };
}

export const BadRequestError = createError('bad_request', 400);
export const ValidationError = createError('validation_failed', 422);
export const NotFoundError = createError('not_found', 404);
export const ConflictError = createError('conflict', 409);
export const PayloadTooLargeError = createError('payload_too_large', 413);
export const UnsupportedMediaTypeError = createError('unsupported_media_type', 415);
/** The osquery surface turns this into `{"node_invalid": true, …}` so osquery re-enrolls (S4). */
export const InvalidNodeKeyError = createError('invalid_node_key', 401);
/** Enrollment refused (bad secret, cooldown): 401 without a node_key (S6). */
export const EnrollFailedError = createError('enroll_failed', 401);
export const ServiceUnavailableError = createError('unavailable', 503);
export const UnauthorizedError = createError('unauthorized', 401);
export const ForbiddenError = createError('forbidden', 403);
/** `details.retryAfter` holds the seconds to wait (sent as Retry-After). */
export const TooManyRequestsError = createError('rate_limited', 429);

export function isDomainError(err: unknown): err is DomainError {
  return err instanceof DomainError;
}
