import type { RoleName } from './lib/config.js';
import type { RoleStarter } from './lib/role.js';

/**
 * Each role's starter, by the name ROLES uses (lib/role.ts has the shape they share). A role's
 * modules are imported only when it starts: a process that runs one role (a scaled-out API,
 * workers or shard process) does not load the others' (discord.js, BullMQ, Fastify and their
 * dependencies), which is about a third of its start-up CPU.
 */
export const ROLE_STARTERS: Record<RoleName, RoleStarter> = {
  api: async (config, ctx) => (await import('./api/server.js')).startApi(config, ctx),
  bot: async (config, ctx) => (await import('./bot/index.js')).startBot(config, ctx),
  workers: async (config, ctx) => (await import('./workers/index.js')).startWorkers(config, ctx),
};
