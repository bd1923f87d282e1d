import { createPool } from '../db/pool.js';
import type { Config } from '../lib/config.js';
import { createRedis } from '../lib/redis.js';
import type { RoleContext, RunningRole } from '../lib/role.js';
import { createStorage } from '../lib/storage/index.js';
import { buildApp } from './app.js';
import { metricsOnPublicPort } from './metrics-server.js';
import { demoSignInAllowed } from './routes/demo-signin.js';

/** The api role: builds the app and listens; closing stops accepting and drains requests. */
export async function startApi(config: Config, ctx: RoleContext): Promise<RunningRole> {
  const redis = createRedis(ctx.redisUrl, 'producer', 'gamemod-api');
  await redis.connect();
  // Analytics reads may go to a replica; the rest of the API reads what it has just written.
  const analyticsPool = config.database.analyticsUrl
    ? createPool({
        url: config.database.analyticsUrl,
        max: config.database.poolMax,
        statementTimeoutMs: config.database.statementTimeoutMs,
        connectTimeoutMs: config.database.connectTimeoutMs,
        applicationName: 'gamemod-api-analytics',
      })
    : undefined;
  const app = await buildApp({
    pool: ctx.pool,
    ...(analyticsPool ? { analyticsPool } : {}),
    redis,
    subscriber: () => createRedis(ctx.redisUrl, 'worker', 'gamemod-api-live'),
    logger: ctx.logger.child({ role: 'api' }),
    storage: createStorage(config.storage),
    timeouts: config.http.timeouts,
    publicMetrics: metricsOnPublicPort(config),
    settings: {
      publicUrl: config.http.publicUrl,
      discord: {
        apiUrl: config.discord.apiUrl,
        clientId: config.discord.applicationId,
        clientSecret: config.discord.clientSecret,
      },
      sessionIdleSeconds: config.api.sessionIdleSeconds,
      sessionAbsoluteSeconds: config.api.sessionAbsoluteSeconds,
      oauth: config.api.oauth,
      cookieSecure: config.api.cookieSecure,
      trustProxy: config.api.trustProxy,
      demoSignIn: demoSignInAllowed(config),
      metricsToken: config.api.metricsToken,
      webhookTargets: {
        allowLoopback: config.workers.webhookAllowLoopback,
        allowPrivate: config.workers.webhookAllowPrivate,
      },
      secretKey: ctx.secretKey,
      downloadLinkMaxSeconds: config.downloadLinkMaxSeconds,
      webPushVapid: config.webPush.vapid,
    },
  });
  await app.listen({ host: config.http.host, port: config.http.port });
  ctx.logger.info(`GameMod is up: ${config.http.publicUrl} (API docs at /docs, health at /health)`);
  return {
    name: 'api',
    async stop() {
      await app.close();
      await analyticsPool?.end().catch(() => {});
      redis.disconnect();
    },
  };
}
