import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { buildApp } from '../../api/app.js';
import type { Pool } from '../../db/pool.js';
import { randomSecretKey } from '../../lib/secret-key.js';
import { LocalStorage } from '../../lib/storage/index.js';

/** No limit that bites: the benchmarks measure the stack, not the limiter's refusals. */
const UNLIMITED = { burst: 1e9, perMinute: 1e12 };

/**
 * The whole API (every plugin, hook and route) on `pool` and the Redis at `redisUrl`, listening on
 * a free loopback port, as the API and fault benchmarks run it. `filesPrefix` names its attachment
 * folder under the temporary directory (with the process id); `quietRedis` swallows the Redis
 * clients' connection errors, for a benchmark that stops Redis on purpose. Close `app`, then
 * disconnect `redis`.
 */
export async function startBenchApi(opts: {
  pool: Pool;
  redisUrl: string;
  logger: Logger;
  filesPrefix: string;
  quietRedis?: boolean;
}): Promise<{ app: FastifyInstance; redis: Redis; port: number }> {
  const connect = (options: { maxRetriesPerRequest: number | null; enableOfflineQueue?: boolean }) => {
    const r = new Redis(opts.redisUrl, options);
    if (opts.quietRedis) r.on('error', () => {});
    return r;
  };
  const redis = connect({ maxRetriesPerRequest: 1, enableOfflineQueue: true });
  const app = await buildApp({
    pool: opts.pool,
    redis,
    subscriber: () => connect({ maxRetriesPerRequest: null }),
    logger: opts.logger,
    storage: new LocalStorage(join(tmpdir(), `${opts.filesPrefix}-${process.pid}`)),
    settings: { secretKey: randomSecretKey() },
    rateLimits: { default: UNLIMITED, auth: UNLIMITED, oauth: UNLIMITED },
    sdkRateLimits: { key: UNLIMITED, player: UNLIMITED, address: UNLIMITED },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  return { app, redis, port: typeof addr === 'object' && addr ? addr.port : 0 };
}
