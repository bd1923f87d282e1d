import type { Config } from '../lib/config.js';
import { createRedis } from '../lib/redis.js';
import type { RoleContext, RunningRole } from '../role.js';
import { buildApp } from './app.js';

/** The api role: builds the app and listens; closing stops accepting and drains requests. */
export async function startApi(config: Config, ctx: RoleContext): Promise<RunningRole> {
  const redis = createRedis(ctx.redisUrl, 'producer', 'gamemod-api');
  await redis.connect();
  const app = await buildApp({ pool: ctx.pool, redis, logger: ctx.logger.child({ role: 'api' }) });
  await app.listen({ host: config.http.host, port: config.http.port });
  ctx.logger.info(`GameMod is up: ${config.http.publicUrl} (health at /health, readiness at /ready)`);
  return {
    name: 'api',
    async stop() {
      await app.close();
      redis.disconnect();
    },
  };
}
