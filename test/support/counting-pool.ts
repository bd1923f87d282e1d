import type pg from 'pg';
import type { Pool } from '../../db/pool.js';

/**
 * A pool on one connection of `app` that records every statement sent through it, for tests
 * that count a path's round trips and transactions. `release` gives the connection back.
 */
export async function countingPool(app: Pool): Promise<{ pool: Pool; sent: string[]; release: () => void }> {
  const client = await app.connect();
  const sent: string[] = [];
  const query = (q: string | pg.QueryConfig, values?: unknown[]) => {
    sent.push(typeof q === 'string' ? q : q.text);
    return client.query(q, values);
  };
  const pool = { query, connect: async () => ({ query, release: () => {} }) } as unknown as Pool;
  return { pool, sent, release: () => client.release() };
}
