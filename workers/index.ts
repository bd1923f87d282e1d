import type { Config } from '../lib/config.js';
import { assertNoEviction, createRedis } from '../lib/redis.js';
import type { RoleContext, RunningRole } from '../role.js';

/**
 * The workers role. It checks that Redis is fit for the job queue (noeviction) and holds the
 * connection the queues and the outbox relay run on.
 */
export async function startWorkers(_config: Config, ctx: RoleContext): Promise<RunningRole> {
  const redis = createRedis(ctx.redisUrl, 'worker', 'gamemod-workers');
  await redis.connect();
  await assertNoEviction(redis);
  ctx.logger.info({ role: 'workers' }, 'workers connected to Redis and Postgres');
  return {
    name: 'workers',
    async stop() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
