import type { Pool } from 'pg';
import type { Config, RoleName } from './config.js';
import type { Logger } from './logger.js';

/**
 * The one shape every role (api, bot, workers) shares: what the entry point (system.ts) hands
 * each role's starter, and what a starter hands back. Each role builds everything else it needs
 * from the config and this context in its own starter (api/server.ts, bot/index.ts,
 * workers/index.ts), the one place its dependencies are made.
 */
export interface RoleContext {
  pool: Pool;
  redisUrl: string;
  logger: Logger;
  /** SECRET_KEY, or the development key the entry point generated (lib/secret-key.ts). */
  secretKey: string;
}

/** A started role; `stop` finishes or hands back in-flight work and closes its connections. */
export interface RunningRole {
  name: RoleName;
  stop(): Promise<void>;
}

/** A role's starter: builds the role's dependencies from the config and the context, then starts it. */
export type RoleStarter = (config: Config, ctx: RoleContext) => Promise<RunningRole>;

/** How long one step of a stop may take before it is named in the log. */
const SLOW_STOP_MS = 2_000;

/**
 * Runs one step of a stop, and names it in the log while it is still running after
 * SLOW_STOP_MS: when a process is cut off for taking too long to stop, its log says on what.
 */
export async function stopStep<T>(
  logger: Logger,
  step: string,
  run: () => Promise<T>,
  slowMs = SLOW_STOP_MS,
): Promise<T> {
  const slow = setTimeout(() => logger.warn({ step }, 'still stopping'), slowMs);
  slow.unref();
  try {
    return await run();
  } finally {
    clearTimeout(slow);
  }
}
