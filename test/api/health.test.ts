import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../../db/pool.js';
import { useTestDb } from '../support/db.js';
import { startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let pool: Pool;
let api: TestApi;
let acquired = 0;

// A pool of its own, as roomy as production's, so what /ready takes from it shows and it can be
// ended to break the database for the app alone.
beforeAll(async () => {
  pool = createPool({ url: db.appUrl, max: 10, statementTimeoutMs: 5_000, connectTimeoutMs: 5_000 });
  pool.on('acquire', () => {
    acquired++;
  });
  api = await startTestApi(pool);
});
afterAll(async () => {
  await api.close();
  await pool.end().catch(() => {});
});

const ready = () => api.app.inject({ method: 'GET', url: '/ready' });

describe('GET /ready', () => {
  it('answers a flood of unauthenticated calls from one check on one connection', async () => {
    const answers = await Promise.all(Array.from({ length: 40 }, ready));
    expect(answers.map((r) => r.statusCode)).toEqual(Array(40).fill(200));
    expect(answers[0]?.json()).toEqual({
      status: 'ready',
      checks: { postgres: 'ok', migrations: 'ok', redis: 'ok' },
    });
    expect({ acquired, connections: pool.totalCount }).toEqual({ acquired: 1, connections: 1 });
    // Within the second, the answer is the one already found.
    await ready();
    expect(acquired).toBe(1);
  });

  it('checks again once the answer is a second old, and says when the database is gone', async () => {
    api.clock.advance(1_100);
    expect((await ready()).statusCode).toBe(200);
    expect(acquired).toBe(2);
    await pool.end();
    // The ready answer stands for its second...
    expect((await ready()).statusCode).toBe(200);
    api.clock.advance(1_100);
    const down = await ready();
    expect(down.statusCode).toBe(503);
    expect(down.json()).toEqual({
      status: 'not_ready',
      checks: { postgres: 'unavailable', migrations: 'unavailable', redis: 'ok' },
    });
  });
});
