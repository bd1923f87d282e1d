import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { startPostgres } from './postgres.js';
import { startRedis } from './redis.js';

export { APP_ROLE, OWNER_ROLE, type PostgresHandle, startPostgres } from './postgres.js';
export { type RedisHandle, startRedis } from './redis.js';

export interface Stack {
  /** App-role connection string. */
  databaseUrl: string;
  /** Owner connection string for migrations, when this process may migrate. */
  migrationUrl: string | undefined;
  redisUrl: string;
  /** Stops what this process started (nothing when everything was external). */
  stop(): Promise<void>;
}

/**
 * Resolves the services the roles need: the configured ones, or a private PostgreSQL and Redis
 * under DATA_DIR when DATABASE_URL / REDIS_URL are unset.
 */
export async function ensureLocalStack(config: Config, logger: Logger): Promise<Stack> {
  const log = (msg: string) => logger.info({ component: 'local-stack' }, msg);
  const stops: Array<() => Promise<void>> = [];
  let databaseUrl = config.database.url;
  let migrationUrl = config.database.migrationUrl;
  let redisUrl = config.redis.url;
  try {
    if (!databaseUrl) {
      const pg = await startPostgres({
        dir: join(config.embedded.dataDir, 'postgres'),
        port: config.embedded.pgPort,
        database: 'gamemod',
        install: config.embedded.install,
        durable: true,
        log,
      });
      log(`PostgreSQL ${pg.reused ? 'already running' : 'started'} on 127.0.0.1:${pg.port}`);
      databaseUrl = pg.appUrl;
      migrationUrl = pg.ownerUrl;
      // A server another process started (a running `npm start`) is left for that process to stop.
      if (!pg.reused) stops.push(() => pg.stop());
    }
    if (!redisUrl) {
      const redis = await startRedis({
        dir: join(config.embedded.dataDir, 'redis'),
        port: config.embedded.redisPort,
        install: config.embedded.install,
        durable: true,
        log,
      });
      log(`Redis ${redis.reused ? 'already running' : 'started'} on 127.0.0.1:${redis.port}`);
      redisUrl = redis.url;
      if (!redis.reused) stops.push(() => redis.stop());
    }
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    throw err;
  }
  return {
    databaseUrl,
    migrationUrl,
    redisUrl,
    async stop() {
      for (const stop of stops.reverse())
        await stop().catch((err) => logger.warn({ err }, 'stopping a local service'));
    },
  };
}
