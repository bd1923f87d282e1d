import { AppError } from '../lib/errors.js';
import type { Tx } from './tenant.js';

/** What a refused zone's message suggests. */
export const ZONE_HINT = 'an IANA time zone such as Europe/Berlin';

/**
 * The zone as PostgreSQL names it, for a zone the caller gave in the field `path`. Node's ICU
 * data and PostgreSQL's zone files differ (Node 20 still knows US/Pacific-New, PostgreSQL no
 * longer does), and PostgreSQL reads these zones too (the digest hour, business hours in the
 * analytics): a zone only Node knows would be stored and then fail every query of the org that
 * reads it. The canonical spelling is stored, so a later comparison with pg_timezone_names is
 * exact.
 */
export async function knownTimeZone(tx: Tx, zone: string, path: string): Promise<string> {
  const r = await tx.query<{ name: string }>(
    `select name from pg_timezone_names where lower(name) = lower($1::text)
     order by name = $1::text desc, name limit 1`,
    [zone],
  );
  const name = r.rows[0]?.name;
  if (!name) {
    const message = `${ZONE_HINT}: the time zone "${zone}" is not one the database knows`;
    throw new AppError('validation_failed', `invalid input: ${path}: ${message}`, {
      details: [{ path, message }],
    });
  }
  return name;
}
