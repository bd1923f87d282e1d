import pg from 'pg';
import { AppError, isAppError } from '../lib/errors.js';

/** SQLSTATEs worth retrying the whole transaction for. */
export const RETRYABLE = new Set(['40001', '40P01']);

/** Friendly names for constraints a caller can trip; everything else gets the column or table. */
const constraintMessages: Record<string, string> = {
  tickets_org_id_origin_external_id_key: 'a ticket with this external id already exists',
  organizations_slug_key: 'an organization with this slug already exists',
  teams_org_id_name_key: 'a team with this name already exists',
  roles_org_id_key_key: 'a role with this key already exists',
  memberships_org_id_user_id_key: 'this user is already a member',
  games_org_id_slug_key: 'a game with this slug already exists',
};

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'ECONNRESET', 'ENOTFOUND', 'EPIPE']);
const CONNECTION_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout/i;

/** True for what the database or its driver threw (as opposed to a caller's own error). */
export function isDbError(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return (
    (typeof code === 'string' && CONNECTION_CODES.has(code)) ||
    (err instanceof Error && CONNECTION_MESSAGE.test(err.message))
  );
}

/**
 * Maps whatever the database threw to an AppError, so no raw SQL error ever reaches a caller.
 * Unknown failures become `internal` with the original kept as `cause` for the logs.
 */
export function mapDbError(err: unknown): AppError {
  if (isAppError(err)) return err;
  if (!(err instanceof pg.DatabaseError)) {
    if (isDbError(err)) return new AppError('unavailable', 'the database is unavailable', { cause: err });
    return new AppError('internal', 'unexpected database failure', { cause: err });
  }
  const where = err.constraint ?? err.column ?? err.table;
  const details = where ? { constraint: where } : undefined;
  switch (err.code) {
    case '23505':
      return new AppError(
        'conflict',
        constraintMessages[err.constraint ?? ''] ?? `duplicate value (${where})`,
        {
          details,
          cause: err,
        },
      );
    case '23503':
      return new AppError('not_found', `a referenced record does not exist (${where})`, {
        details,
        cause: err,
      });
    case '23514':
    case '23502':
    case '22001':
    case '22003':
    case '22007':
    case '22008':
    case '22P02':
    case '22023':
      return new AppError('validation_failed', `invalid value (${where ?? err.message})`, {
        details,
        cause: err,
      });
    case '22021':
    case '22P05':
      // NUL in text (22021) or in jsonb (22P05): the API refuses it at the door; this catches
      // whatever came in another way (a Discord modal, an email), so it is never a 500.
      return new AppError('invalid_character', 'text may not contain the NUL character (U+0000)', {
        details: [{ path: where ?? 'text', message: 'contains the NUL character (U+0000)' }],
        cause: err,
      });
    case '42501':
      // A row-level security check failure: to the caller the row simply is not theirs.
      return new AppError('not_found', 'not found', { cause: err });
    case '57014':
      return new AppError('unavailable', 'the database statement timed out', { cause: err });
    case '40001':
    case '40P01':
      // `retryable`: the same request may well succeed now; an Idempotency-Key is released for it.
      return new AppError('conflict', 'concurrent update, try again', {
        details: { retryable: true },
        cause: err,
      });
    default:
      if (err.code?.startsWith('08') || err.code?.startsWith('57P')) {
        return new AppError('unavailable', 'the database is unavailable', { cause: err });
      }
      return new AppError('internal', 'unexpected database failure', { cause: err });
  }
}
