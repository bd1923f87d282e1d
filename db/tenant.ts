import type pg from 'pg';
import { AppError } from '../lib/errors.js';
import { isDbError, mapDbError, RETRYABLE } from './errors.js';
import type { Pool } from './pool.js';
import { withTransaction } from './transaction.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);

/** A transaction bound to one organization. Every db/ function that touches tenant rows takes one. */
export interface Tx {
  readonly orgId: string;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
}

const MAX_ATTEMPTS = 3;

/**
 * Runs `fn` in a transaction with the tenant set transaction-locally, so the setting dies with
 * the transaction and a pooled connection never carries it to the next borrower. Deadlocks and
 * serialization failures retry the whole function (it only does database work, so that is safe).
 */
export async function withTenant<T>(pool: Pool, orgId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  if (!isUuid(orgId)) throw new AppError('not_found', 'organization not found');
  // One round trip: orgId is a validated uuid, so it is safe to inline here.
  const begin = `begin; select set_config('app.org_id', '${orgId}', true)`;
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(
        pool,
        (client) => fn({ orgId, query: (text, values) => client.query({ text, values }) }),
        { begin },
      );
    } catch (err) {
      const code = (err as { code?: string }).code;
      // A fresh connection each attempt (a connection whose rollback failed is discarded).
      if (code && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) continue;
      // The caller's own errors pass through untouched; only database failures are translated.
      throw isDbError(err) ? mapDbError(err) : err;
    }
  }
}
