/**
 * The one error type the project throws on purpose. `code` is a stable string callers can switch on;
 * `status` is the HTTP status it maps to where one applies; `details` names the offending fields.
 */
export type ErrorCode =
  | 'bad_request'
  | 'invalid_character'
  | 'validation_failed'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'invalid_transition'
  | 'already_rated'
  | 'precondition_failed'
  | 'limit_reached'
  | 'rate_limited'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unavailable'
  | 'not_configured'
  | 'config_invalid'
  | 'local_stack'
  | 'unsafe_database_role'
  | 'internal';

const defaultStatus: Record<ErrorCode, number> = {
  bad_request: 400,
  // Text PostgreSQL can't store (the NUL character), refused where it enters.
  invalid_character: 400,
  validation_failed: 422,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  invalid_transition: 409,
  already_rated: 409,
  // An If-Match naming a version the resource has moved past: read it again, then decide.
  precondition_failed: 412,
  limit_reached: 429,
  rate_limited: 429,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unavailable: 503,
  // A feature this deployment has not set up (its settings are named in the message).
  not_configured: 501,
  config_invalid: 500,
  local_stack: 500,
  unsafe_database_role: 500,
  internal: 500,
};

export interface AppErrorOptions {
  status?: number;
  details?: unknown;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status ?? defaultStatus[code];
    this.details = options.details;
  }
}

export const isAppError = (err: unknown): err is AppError => err instanceof AppError;

/** Turns zod issues into `{ path, message }` pairs that name the field, for `details`. */
export function issuesToDetails(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
): Array<{ path: string; message: string }> {
  return issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
}
