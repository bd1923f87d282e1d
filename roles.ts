import { startApi } from './api/server.js';
import { startBot } from './bot/index.js';
import type { RoleName } from './lib/config.js';
import type { RoleStarter } from './lib/role.js';
import { startWorkers } from './workers/index.js';

/** Each role's starter, by the name ROLES uses (lib/role.ts has the shape they share). */
export const ROLE_STARTERS: Record<RoleName, RoleStarter> = {
  api: startApi,
  bot: startBot,
  workers: startWorkers,
};
