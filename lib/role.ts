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
