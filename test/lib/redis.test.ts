import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { assertNoEviction } from '../../lib/redis.js';

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
