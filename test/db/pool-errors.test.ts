import { describe, expect, it } from 'vitest';
import { createPool } from '../../db/pool.js';
import { withTransaction } from '../../db/transaction.js';
import { useTestDb } from '../support/db.js';

const db = useTestDb();

// A Postgres restart (pg_ctl stop -m fast) or pg_terminate_backend ends every backend, also one
// whose client is checked out and between two statements. pg then emits 'error' on that client;
// with no listener on it, the whole process (API, workers or bot) crashed: the fault suite's
// Postgres restart (bench/faults.ts) brought it down with "Connection terminated unexpectedly".
describe('a checked-out connection that the server ends', () => {
  it('fails its transaction, not the process, and the pool carries on', async () => {
    const pool = createPool({ url: db.appUrl, max: 2, statementTimeoutMs: 5_000, connectTimeoutMs: 5_000 });
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.prependListener('uncaughtException', onUncaught);
    try {
      const failed = withTransaction(pool, async (client) => {
        const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
        await db.app.query('select pg_terminate_backend($1::int)', [rows[0]?.pid]);
        // Between statements, as a handler awaiting other work would be, when the end arrives.
        await new Promise((r) => setTimeout(r, 300));
        await client.query('select 1');
      });
      await expect(failed).rejects.toThrow();
      expect(uncaught).toEqual([]);
      const { rows } = await pool.query<{ one: number }>('select 1 as one');
      expect(rows[0]?.one).toBe(1);
    } finally {
      process.off('uncaughtException', onUncaught);
      await pool.end();
    }
  });
});
