import { type MetricsServer, poolGauge, startMetricsServer } from './api/metrics-server.js';
import { demoSignInAllowed } from './api/routes/demo-signin.js';
import { assertMigrationsCurrent, migrate } from './db/migrate.js';
import { createPool, type Pool } from './db/pool.js';
import { assertRuntimeRoleIsSafe } from './db/safety.js';
import { seedDemoIfEmpty } from './db/seed.js';
import { demoUserId } from './db/seed-users.js';
import type { Config } from './lib/config.js';
import { AppError } from './lib/errors.js';
import { ensureLocalStack } from './lib/local-stack/index.js';
import type { Logger } from './lib/logger.js';
import { type RunningRole, stopStep } from './lib/role.js';
import { devSecretKeyPath, loadOrCreateDevSecretKey } from './lib/secret-key.js';
import { ROLE_STARTERS } from './roles.js';

export interface RunningSystem {
  roles: readonly RunningRole[];
  databaseUrl: string;
  redisUrl: string;
  stop(): Promise<void>;
}

/**
 * Brings the configured roles up: the secret key, services (embedded when not configured),
 * migrations, the row-level security check, the demo seed on an empty database, then each role.
 * Anything that fails on the way stops what had started.
 */
export async function startSystem(config: Config, logger: Logger): Promise<RunningSystem> {
  const secretKey = await resolveSecretKey(config, logger);
  const stack = await ensureLocalStack(config, logger);
  const roles: RunningRole[] = [];
  const pool = createPool({
    url: stack.databaseUrl,
    max: config.database.poolMax,
    statementTimeoutMs: config.database.statementTimeoutMs,
    connectTimeoutMs: config.database.connectTimeoutMs,
    applicationName: `gamemod-${config.roles.join('-')}`,
  });
  let metrics: MetricsServer | undefined;
  const stop = async () => {
    await stopStep(logger, 'metrics listener', async () => metrics?.close());
    for (const role of [...roles].reverse()) {
      await stopStep(logger, `${role.name} role`, () => role.stop()).catch((err: unknown) =>
        logger.error({ err, role: role.name }, 'role did not stop cleanly'),
      );
    }
    await stopStep(logger, 'database pool', () => pool.end().catch(() => {}));
    await stopStep(logger, 'embedded services', () => stack.stop());
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
      roles.push(await ROLE_STARTERS[name](config, { pool, redisUrl: stack.redisUrl, logger, secretKey }));
    }
    if (config.metrics.port !== undefined) {
      // Its own listener, for whichever roles run here (api/metrics-server.ts).
      metrics = await startMetricsServer({
        host: config.metrics.host,
        port: config.metrics.port,
        token: config.api.metricsToken,
        beforeCollect: poolGauge(pool),
      });
      logger.info(`metrics at ${metrics.url}`);
    }
    await logDemoSignIn(config, pool, logger);
  } catch (err) {
    await stop();
    throw err;
  }
  return { roles, databaseUrl: stack.databaseUrl, redisUrl: stack.redisUrl, stop };
}

/**
 * SECRET_KEY as configured, or outside production the random key kept under the data folder.
 * (loadConfig already refused a production start without one; this is the second lock.)
 */
async function resolveSecretKey(config: Config, logger: Logger): Promise<string> {
  if (config.secretKey) return config.secretKey;
  if (config.env === 'production') {
    throw new AppError('config_invalid', 'SECRET_KEY is required in production');
  }
  const { key, created } = await loadOrCreateDevSecretKey(config.embedded.dataDir);
  const path = devSecretKeyPath(config.embedded.dataDir);
  if (created) logger.info({ path }, 'generated a development SECRET_KEY; set SECRET_KEY in production');
  else logger.debug({ path }, 'using the development SECRET_KEY from the data folder');
  return key;
}

/** The way in for a newcomer without a Discord application (development, this machine only). */
async function logDemoSignIn(config: Config, pool: Pool, logger: Logger): Promise<void> {
  if (!config.roles.includes('api') || !demoSignInAllowed(config)) return;
  if (!(await demoUserId(pool, 'admin'))) return;
  logger.info(
    `demo sign-in, from this machine: ${config.http.publicUrl}/auth/demo?as=admin (or as=owner, moderator, agent, viewer)`,
  );
}
