import type { Config } from '../lib/config.js';
import { lowerMainThreadPriority } from '../lib/priority.js';
import { assertNoEviction, createRedis } from '../lib/redis.js';
import type { RoleContext, RunningRole } from '../lib/role.js';
import { createSecretBox } from '../lib/secret-box.js';
import { createStorage } from '../lib/storage/index.js';
import { createTicketPages } from '../lib/ticket-links.js';
import { type SmtpIntake, startSmtpIntake } from './email-smtp.js';
import { startWorkerRuntime } from './runtime.js';

/**
 * The workers role: the outbox relay, the job processors (webhooks, Discord delivery, SLA
 * timers) and the schedulers (auto-close sweep, outbox pruning). Refuses to start unless Redis
 * evicts nothing (BullMQ's requirement). Every part is safe to run in several processes at once.
 */
export async function startWorkers(config: Config, ctx: RoleContext): Promise<RunningRole> {
  const check = createRedis(ctx.redisUrl, 'producer', 'gamemod-workers-check');
  try {
    await check.connect();
    await assertNoEviction(check);
  } finally {
    check.disconnect();
  }
  const box = createSecretBox(ctx.secretKey);
  const storage = createStorage(config.storage);
  const logger = ctx.logger.child({ role: 'workers' });
  const runtime = await startWorkerRuntime({
    pool: ctx.pool,
    redisUrl: ctx.redisUrl,
    logger,
    box,
    webhookTargets: {
      allowLoopback: config.workers.webhookAllowLoopback,
      allowPrivate: config.workers.webhookAllowPrivate,
    },
    discord: config.discord.token
      ? { token: config.discord.token, apiUrl: config.discord.apiUrl }
      : undefined,
    storage,
    ticketPages: createTicketPages(ctx.secretKey, config.http.publicUrl),
    discordApiUrl: config.discord.apiUrl,
    concurrency: config.workers.concurrency,
    webhookOrgShare: config.workers.webhookOrgShare,
    schedulers: { outboxRetentionDays: config.workers.outboxRetentionDays },
    emailOutboundUrl: config.email.outboundUrl,
    webPush: { subject: config.webPush.subject, vapid: config.webPush.vapid },
    panelUrl: config.http.publicUrl,
    // Off the processors' event loop (workers/relay-thread.ts says why).
    relay: { thread: true },
  });
  if (config.roles.length === 1)
    lowerMainThreadPriority(
      config.workers.processorsNice,
      logger,
      'job processors run below the outbox relay (nice)',
    );
  let smtp: SmtpIntake | undefined;
  if (config.email.smtpPort !== undefined) {
    try {
      smtp = await startSmtpIntake(
        { pool: ctx.pool, storage, logger },
        { host: config.email.smtpHost, port: config.email.smtpPort, maxBytes: config.email.maxBytes },
      );
    } catch (err) {
      await runtime.stop();
      throw err;
    }
    logger.info(`SMTP intake listening on ${smtp.host}:${smtp.port}`);
  }
  if (!config.email.outboundUrl) {
    logger.info('no SMTP_OUTBOUND_URL: staff replies to email tickets are not sent by email');
  }
  if (!config.discord.token) {
    ctx.logger.info({ role: 'workers' }, 'no DISCORD_TOKEN: replies and alerts are not posted to Discord');
  }
  ctx.logger.info(
    { role: 'workers' },
    'workers running: outbox relay, webhooks, Discord delivery, SLA timers',
  );
  return {
    name: 'workers',
    stop: async () => {
      // The listener first: mail still arriving is refused (the sender retries) instead of cut off.
      await smtp?.close();
      await runtime.stop();
    },
  };
}
