import type pg from 'pg';
import { mapDbError } from './errors.js';
import type { Pool } from './pool.js';

export interface TransactionOptions<T = unknown> {
  /**
   * The statement that opens the transaction. `withTenant` passes `begin; select set_config(...)`
   * so opening and setting the tenant stay one round trip; what it returns is `fn`'s second
   * argument (the relay's claim rides on it).
   */
  begin?: string;
  /**
   * Statements sent with COMMIT, in the same round trip, built from what `fn` returned (the
   * relay's mark). Values are inlined, so only checked numbers and uuids; if they fail, nothing
   * commits and the call rejects like a failed `fn`.
   */
  beforeCommit?: (result: T) => string | undefined;
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
  fn: (client: pg.PoolClient, opened: pg.QueryResult | pg.QueryResult[]) => Promise<T>,
  opts: TransactionOptions<T> = {},
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw mapDbError(err);
  }
  let broken = false;
  try {
    const opened = (await client.query(opts.begin ?? 'begin')) as pg.QueryResult | pg.QueryResult[];
    const result = await fn(client, opened);
    const last = opts.beforeCommit?.(result);
    await client.query(last ? `${last}; commit` : 'commit');
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
