import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { alive, readPid, withStartLock } from './lock.js';
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
 *
 * DATA_DIR/owner.pid names the process that stops the embedded servers. A process that finds
 * them running leaves them to that owner while it lives (`npm start -- bot` next to
 * `npm start -- api`, `npm run migrate` next to `npm start`), and takes them over when the owner
 * is gone (a crashed or killed run), so they are not left running for good.
 */
export async function ensureLocalStack(config: Config, logger: Logger): Promise<Stack> {
  if (config.database.url && config.redis.url)
    return {
      databaseUrl: config.database.url,
      migrationUrl: config.database.migrationUrl,
      redisUrl: config.redis.url,
      async stop() {},
    };
  const dataDir = config.embedded.dataDir;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Starting, choosing the owner and stopping take turns, so a run starting while another stops
  // does not reuse a server that is going away.
  const lock = join(dataDir, 'launch.lock');
  const ownerFile = join(dataDir, 'owner.pid');
  const stack = await withStartLock(lock, () => startServices(config, logger, ownerFile));
  return {
    ...stack,
    stop: () =>
      withStartLock(lock, async () => {
        await stack.stop();
        if (readPid(ownerFile) === process.pid) rmSync(ownerFile, { force: true });
      }),
  };
}

async function startServices(config: Config, logger: Logger, ownerFile: string): Promise<Stack> {
  const log = (msg: string) => logger.info({ component: 'local-stack' }, msg);
  const stops: Array<() => Promise<void>> = [];
  const reusedStops: Array<() => Promise<void>> = [];
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
      (pg.reused ? reusedStops : stops).push(() => pg.stop());
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
      (redis.reused ? reusedStops : stops).push(() => redis.stop());
    }
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    throw err;
  }
  const owner = readPid(ownerFile);
  if (reusedStops.length && !alive(owner)) {
    log(`taking over the embedded servers${owner ? ` of process ${owner}, which has ended` : ''}`);
    stops.push(...reusedStops);
  }
  if (stops.length && !alive(owner)) writeFileSync(ownerFile, String(process.pid), { mode: 0o600 });
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
