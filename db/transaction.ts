import type pg from 'pg';
import { mapDbError } from './errors.js';
import type { Pool } from './pool.js';

export interface TransactionOptions {
  /**
   * The statement that opens the transaction. `withTenant` passes `begin; select set_config(...)`
   * so opening and setting the tenant stay one round trip.
   */
  begin?: string;
}

/**
 * Runs `fn` in one transaction on a connection of its own: commit when it returns, rollback when
 * it throws. The one place that writes BEGIN/COMMIT; `withTenant` (db/tenant.ts) builds on it for
 * tenant work, and the few cross-tenant or global transactions (a Discord user's accounts, a
 * guild link, the relay's claim) call it directly. It costs no round trip beyond the hand-written
 * blocks it replaced: `begin` (or the caller's opening statement), `fn`'s queries, `commit`.
 *
 * A connection whose rollback fails is discarded rather than returned to the pool, where the next
 * borrower would find it mid-transaction. Failing to connect is a mapped database error; `fn`'s
 * own errors pass through untouched, for the caller to map or not.
 */
export async function withTransaction<T>(
  pool: Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  opts: TransactionOptions = {},
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw mapDbError(err);
  }
  let broken = false;
  try {
    await client.query(opts.begin ?? 'begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => {
      broken = true;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}
