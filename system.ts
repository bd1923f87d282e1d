import { assertMigrationsCurrent, migrate } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { assertRuntimeRoleIsSafe } from './db/safety.js';
import { seedDemoIfEmpty } from './db/seed.js';
import type { Config } from './lib/config.js';
import { ensureLocalStack } from './lib/local-stack/index.js';
import type { Logger } from './lib/logger.js';
import { ROLE_STARTERS, type RunningRole } from './roles.js';

export interface RunningSystem {
  roles: readonly RunningRole[];
  databaseUrl: string;
  redisUrl: string;
  stop(): Promise<void>;
}

/**
 * Brings the configured roles up: services (embedded when not configured), migrations, the
 * row-level security check, the demo seed on an empty database, then each role. Anything that
 * fails on the way stops what had started.
 */
export async function startSystem(config: Config, logger: Logger): Promise<RunningSystem> {
  const stack = await ensureLocalStack(config, logger);
  const roles: RunningRole[] = [];
  const pool = createPool({
    url: stack.databaseUrl,
    max: config.database.poolMax,
    statementTimeoutMs: config.database.statementTimeoutMs,
    connectTimeoutMs: config.database.connectTimeoutMs,
    applicationName: `gamemod-${config.roles.join('-')}`,
  });
  const stop = async () => {
    for (const role of [...roles].reverse()) {
      await role
        .stop()
        .catch((err: unknown) => logger.error({ err, role: role.name }, 'role did not stop cleanly'));
    }
    await pool.end().catch(() => {});
    await stack.stop();
  };
  try {
    if (stack.migrationUrl) {
      const ran = await migrate(stack.migrationUrl, 'up', { log: (m) => logger.debug(m) });
      if (ran.length) logger.info({ ran }, 'applied database migrations');
    }
    await assertRuntimeRoleIsSafe(pool);
    await assertMigrationsCurrent(pool);
    if (config.seedDemo) await seedDemoIfEmpty(pool, logger);
    for (const name of config.roles) {
      roles.push(await ROLE_STARTERS[name](config, { pool, redisUrl: stack.redisUrl, logger }));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { roles, databaseUrl: stack.databaseUrl, redisUrl: stack.redisUrl, stop };
}
