import { startApi } from './api/server.js';
import { startBot } from './bot/index.js';
import type { Pool } from './db/pool.js';
import type { Config, RoleName } from './lib/config.js';
import type { Logger } from './lib/logger.js';
import { startWorkers } from './workers/index.js';

/** What every role gets from the entry point. */
export interface RoleContext {
  pool: Pool;
  redisUrl: string;
  logger: Logger;
}

export interface RunningRole {
  name: RoleName;
  stop(): Promise<void>;
}

export const ROLE_STARTERS: Record<RoleName, (config: Config, ctx: RoleContext) => Promise<RunningRole>> = {
  api: startApi,
  bot: startBot,
  workers: startWorkers,
};
