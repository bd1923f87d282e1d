/**
 * Typed errors: every failure the client reports is a GameModError subclass, so callers can
 * `instanceof` the case they handle. `code` is the server's machine-readable code
 * (sdk/PROTOCOL.md), `status` the HTTP status (0 when no answer came).
 */
export class GameModError extends Error {
  /**
   * @param {string} message
   * @param {{ code?: string, status?: number, details?: unknown, retryAfter?: number, cause?: unknown }} [info]
   */
  constructor(message, info = {}) {
    super(message);
    this.name = new.target.name;
    this.code = info.code ?? 'unknown';
    this.status = info.status ?? 0;
    this.details = info.details ?? null;
    /** Seconds the server asked to wait (429, 503), or undefined. */
    this.retryAfter = info.retryAfter;
    if (info.cause !== undefined) this.cause = info.cause;
  }
}
/** 401: no key, or a wrong, revoked or expired key. */
export class AuthError extends GameModError {}
/** 403: a client key on a server route, a missing scope, or a blocked player (`details.reason`). */
export class ForbiddenError extends GameModError {}
/** 404: unknown ticket (or not this player's), session or route. */
export class NotFoundError extends GameModError {}
/** 409: a closed ticket, or the same idempotency key still being processed. */
export class ConflictError extends GameModError {}
/** 400, 413, 415, 422: the request is wrong; `details` names the fields. Never retried. */
export class ValidationError extends GameModError {}
/** 429: a rate limit; `retryAfter` says when to try again. */
export class RateLimitError extends GameModError {}
/** 5xx: the server failed or a dependency is down. */
export class ServerError extends GameModError {}
/** No answer: the server is unreachable, or the request timed out. */
export class NetworkError extends GameModError {}

/**
 * The error for an HTTP answer.
 * @param {number} status
 * @param {any} body
 * @param {number | undefined} retryAfter
 */
export function errorFor(status, body, retryAfter) {
  const e = body && typeof body === 'object' && body.error ? body.error : {};
  const info = { code: e.code ?? `http_${status}`, status, details: e.details ?? null, retryAfter };
  const message = typeof e.message === 'string' ? e.message : `HTTP ${status}`;
  if (status === 401) return new AuthError(message, info);
  if (status === 403) return new ForbiddenError(message, info);
  if (status === 404) return new NotFoundError(message, info);
  if (status === 409) return new ConflictError(message, info);
  if (status === 429) return new RateLimitError(message, info);
  if (status >= 500) return new ServerError(message, info);
  return new ValidationError(message, info);
}
