import type pg from 'pg';
import { mapDbError } from './errors.js';
import type { Pool } from './pool.js';

export interface TransactionOptions {
  /**
   * The statement that opens the transaction. `withTenant` passes `begin; select set_config(...)`
   * so opening and setting the tenant stay one round trip; what it returns is `fn`'s second
   * argument.
   */
  begin?: string;
}

/**
 * Runs `fn` in one transaction on a connection of its own: commit when it returns, rollback when
 * it throws. `withTenant` (db/tenant.ts) builds on it for tenant work, and the few cross-tenant
 * or global transactions (a Discord user's accounts, a guild link) call it directly; the only
 * other BEGIN/COMMIT is the relay's (`RelayTransactions` in db/outbox.ts), whose commit rides
 * with the next batch's claim. It costs no round trip beyond the hand-written
 * blocks it replaced: `begin` (or the caller's opening statement), `fn`'s queries, `commit`.
 *
 * A connection whose rollback fails is discarded rather than returned to the pool, where the next
 * borrower would find it mid-transaction. Failing to connect is a mapped database error; `fn`'s
 * own errors pass through untouched, for the caller to map or not.
 */
export async function withTransaction<T>(
  pool: Pool,
  fn: (client: pg.PoolClient, opened: pg.QueryResult | pg.QueryResult[]) => Promise<T>,
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
    const opened = (await client.query(opts.begin ?? 'begin')) as pg.QueryResult | pg.QueryResult[];
    const result = await fn(client, opened);
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
