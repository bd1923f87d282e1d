import { startApi } from './api/server.js';
import { startBot } from './bot/index.js';
import type { Config, RoleName } from './lib/config.js';
import type { RoleContext, RunningRole } from './role.js';
import { startWorkers } from './workers/index.js';

export type { RoleContext, RunningRole };

export const ROLE_STARTERS: Record<RoleName, (config: Config, ctx: RoleContext) => Promise<RunningRole>> = {
  api: startApi,
  bot: startBot,
  workers: startWorkers,
};
