import type { FastifyPluginAsync } from 'fastify';
import { DEFAULT_SDK_RATE_LIMITS, registerSdkGuard } from './sdk-auth.js';
import { sdkPlayerRoutes } from './sdk-players.js';
import { sdkServerRoutes } from './sdk-server.js';
import { sdkTicketRoutes } from './sdk-tickets.js';

/**
 * `/sdk/v1`, the door for games (wire contract: sdk/PROTOCOL.md). Its guard lives inside this
 * plugin, so its CORS headers and game-key check reach these routes and no others.
 */
export const sdkRoutes: FastifyPluginAsync = async (app) => {
  registerSdkGuard(app, { ...DEFAULT_SDK_RATE_LIMITS, ...app.deps.sdkRateLimits });

  // Browser games ask first; any origin may call (no cookies are involved, the key is the credential).
  app.options(
    '/sdk/v1/*',
    { config: { access: 'public', rateLimit: 'none' }, schema: { hide: true } },
    async (_req, reply) =>
      reply
        .status(204)
        .header('access-control-allow-methods', 'GET, POST, OPTIONS')
        .header('access-control-allow-headers', 'x-game-key, idempotency-key, content-type, if-none-match')
        .header('access-control-max-age', '86400')
        .send(),
  );

  await app.register(sdkTicketRoutes);
  await app.register(sdkPlayerRoutes);
  await app.register(sdkServerRoutes);
};
