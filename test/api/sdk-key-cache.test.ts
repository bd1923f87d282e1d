import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../db/pool.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { newSdkGame, type SdkGame, sdkCall } from './sdk-support.js';
import { expectError } from './settings-support.js';
import { startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let game: SdkGame;
let lookups = 0;

const GENEROUS = {
  key: { burst: 10_000, perMinute: 100_000 },
  player: { burst: 10_000, perMinute: 100_000 },
  address: { burst: 10_000, perMinute: 100_000 },
};

/** The test database's pool, counting the game-key look-ups (gm_resolve_game_key) sent through it. */
function countingPool(pool: Pool): Pool {
  return new Proxy(pool, {
    get(target, prop) {
      if (prop === 'query')
        return (q: string | { text: string }, values?: unknown[]) => {
          if ((typeof q === 'string' ? q : q.text).includes('gm_resolve_game_key')) lookups++;
          return (target.query as (q: unknown, v?: unknown[]) => unknown)(q, values);
        };
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

beforeAll(async () => {
  api = await startTestApi(countingPool(db.app), { sdkRateLimits: GENEROUS });
  game = await newSdkGame(db, await makeOrg(db.app, 'Key cache'), 'arena');
});
afterAll(() => api.close());

describe('game key look-ups', () => {
  it('looks a key up once for a burst of requests that find it uncached', async () => {
    lookups = 0;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => sdkCall(api, game.clientKey, 'GET', '/announcements')),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(200));
    expect(lookups).toBe(1);
    // Then from the cache.
    expect((await sdkCall(api, game.clientKey, 'GET', '/announcements')).statusCode).toBe(200);
    expect(lookups).toBe(1);
  });

  it('refuses every request of a burst with an unknown key', async () => {
    const wrong = `${game.clientKey.slice(0, -4)}zzzz`;
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => sdkCall(api, wrong, 'GET', '/announcements')),
    );
    for (const a of answers) expectError(a, 401, 'unauthenticated');
  });
});
