import type { Redis } from 'ioredis';
import pino from 'pino';
import { assertMigrationsCurrent } from '../db/migrate.js';
import { createPool, type Pool } from '../db/pool.js';
import { isUuid } from '../db/tenant.js';
import { userIdForDiscord } from '../db/users.js';
import { loadConfig } from '../lib/config.js';
import { ensureLocalStack } from '../lib/local-stack/index.js';
import { createLogger } from '../lib/logger.js';
import { createRedis } from '../lib/redis.js';

/** Exit status of a command: 0 done, 1 failed, 2 wrong usage (bad option, unknown scope...). */
export const USAGE = 2;

/** A refusal that names what to fix; the entry point prints it and exits with `status`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly status = USAGE,
  ) {
    super(message);
  }
}

export interface Cli {
  /** Human-readable lines: stderr, so stdout carries only what a script captures. */
  say(line: string): void;
  /** The one value a script captures: stdout. */
  print(line: string): void;
}

/**
 * The database the running system uses: DATABASE_URL, or the embedded cluster under DATA_DIR. A
 * cluster a running `npm start` owns is reused, never started twice, and left running; one this
 * command had to start is stopped when it finishes (as `npm run migrate` does). With `redis`, the
 * system's Redis too (REDIS_URL, or the embedded one, found or started the same way): for the
 * commands that end sessions, which live there.
 */
export async function withDatabase<T>(
  fn: (pool: Pool, redis: Redis) => Promise<T>,
  opts: { redis?: boolean } = {},
): Promise<T> {
  const config = loadConfig();
  // Logs go to stderr: stdout is for the command's answer.
  const logger = createLogger(
    config.logLevel === 'info' ? 'warn' : config.logLevel,
    { role: 'cli' },
    pino.destination(2),
  );
  // Most commands need no Redis: a placeholder URL keeps ensureLocalStack from starting one.
  const stack = await ensureLocalStack(
    opts.redis ? config : { ...config, redis: { url: 'redis://127.0.0.1:1' } },
    logger,
  );
  const pool = createPool({
    url: stack.databaseUrl,
    max: 2,
    statementTimeoutMs: config.database.statementTimeoutMs,
    connectTimeoutMs: config.database.connectTimeoutMs,
    applicationName: 'gamemod-cli',
  });
  // Without `redis` the client is never connected (lazyConnect): nothing to reach, nothing to end.
  const redis = createRedis(stack.redisUrl, 'producer', 'gamemod-cli');
  try {
    await assertMigrationsCurrent(pool);
    if (opts.redis) await redis.connect();
    return await fn(pool, redis);
  } finally {
    redis.disconnect();
    await pool.end().catch(() => {});
    await stack.stop();
  }
}

/**
 * The account `--user` names: a user id (uuid) or the Discord user id it signs in with. Checked
 * before anything is opened, resolved once the database is (`resolve`).
 */
export function userArg(ref: string | undefined, usage: string) {
  if (!ref) throw new CliError(`--user is required\n\n${usage}`);
  if (!isUuid(ref) && !/^\d{17,20}$/.test(ref))
    throw new CliError('--user: a user id (uuid) or a Discord user id');
  return {
    async resolve(pool: Pool): Promise<string> {
      const userId = isUuid(ref) ? ref : await userIdForDiscord(pool, ref);
      if (!userId) throw new CliError(`no account signs in with the Discord user ${ref}`, 1);
      return userId;
    },
  };
}
