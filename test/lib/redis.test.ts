import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { assertNoEviction, createRedis } from '../../lib/redis.js';

const redis = new Redis(inject('services').redisUrl, { maxRetriesPerRequest: 1 });
afterAll(() => redis.quit());

/** A connection on which CONFIG is refused, as managed Redis services do. */
function withoutConfig(r: Redis): Redis {
  return new Proxy(r, {
    get(target, prop, receiver) {
      if (prop === 'config') return () => Promise.reject(new Error("ERR unknown command 'CONFIG'"));
      return Reflect.get(target, prop, receiver);
    },
  });
}

describe('the noeviction check', () => {
  it('passes on a noeviction Redis even where CONFIG is refused (managed Redis)', async () => {
    await expect(assertNoEviction(withoutConfig(redis))).resolves.toBeUndefined();
  });

  it('refuses another policy, naming it', async () => {
    // The shared test Redis must stay noeviction, so its INFO answer is rewritten instead.
    const lru = new Proxy(redis, {
      get(target, prop, receiver) {
        if (prop === 'info') {
          return async () =>
            (await target.info('memory')).replace(/maxmemory_policy:\S+/, 'maxmemory_policy:allkeys-lru');
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    await expect(assertNoEviction(lru)).rejects.toThrow(/"allkeys-lru".*noeviction/);
  });
});

describe('reconnecting', () => {
  it('tries again at most half a second apart however long Redis was away, and every 250 ms while it loads', () => {
    // ioredis' default waits up to 2 s between attempts, and a second or more while Redis loads
    // its AOF: after a restart, up to 3 s of relaying and job processing lost for nothing.
    for (const kind of ['worker', 'producer'] as const) {
      const r = createRedis(inject('services').redisUrl, kind);
      const delay = r.options.retryStrategy as (times: number) => number;
      expect(delay(1)).toBe(50);
      for (const times of [10, 40, 100, 10_000]) expect(delay(times), kind).toBeLessThanOrEqual(500);
      expect(r.options.maxLoadingRetryTime, kind).toBe(250);
      r.disconnect();
    }
  });
});
