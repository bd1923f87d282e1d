import { Redis } from 'ioredis';

/**
 * A Redis database index of the test run's server held by one test alone, for a process that
 * runs the workers under the default queue prefix (`main.ts` with ROLES=workers, say). Two such
 * processes on one index share their queues and job schedulers: one process's `reports.fold` or
 * webhook job would run in the other's, against another test file's database, and never be seen
 * where it was expected. Index 0 stays with the tests that name their own prefixes.
 *
 * The claim is a key in index 0 set only if absent, so two test files running at once never take
 * the same index; it lapses after `ttlMs` should a test die without releasing it. The index is
 * emptied when taken: schedulers and delayed jobs a previous holder left do not run again.
 */
export interface RedisDb {
  url: string;
  release(): Promise<void>;
}

const INDEXES = Array.from({ length: 15 }, (_, i) => i + 1);

export async function claimRedisDb(base: string, ttlMs = 10 * 60_000): Promise<RedisDb> {
  const root = base.replace(/\/\d*$/, '');
  const redis = new Redis(`${root}/0`, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  try {
    const token = `${process.pid}-${Math.random().toString(36).slice(2)}`;
    for (const i of INDEXES) {
      const key = `gm:test:redis-db:${i}`;
      if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') continue;
      const db = new Redis(`${root}/${i}`, { lazyConnect: true, maxRetriesPerRequest: 2 });
      await db.connect();
      await db.flushdb();
      db.disconnect();
      return {
        url: `${root}/${i}`,
        async release() {
          const r = new Redis(`${root}/0`, { lazyConnect: true, maxRetriesPerRequest: 2 });
          await r.connect();
          // Only our own claim: one that lapsed and was taken by another test stays theirs.
          if ((await r.get(key)) === token) await r.del(key);
          r.disconnect();
        },
      };
    }
    throw new Error('every Redis database index 1-15 is claimed by another test');
  } finally {
    redis.disconnect();
  }
}
