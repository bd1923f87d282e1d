import { setMaxListeners } from 'node:events';
import { REST } from '@discordjs/rest';
import type { Redis } from 'ioredis';
import { createSiblingPool, type Pool } from '../db/pool.js';
import { configDefaults } from '../lib/config.js';
import { isLongChannelEditWait } from '../lib/discord/rest.js';
import type { Logger } from '../lib/logger.js';
import { createRedis } from '../lib/redis.js';
import { stopStep } from '../lib/role.js';
import type { SecretBox } from '../lib/secret-box.js';
import type { TargetPolicy } from '../lib/ssrf.js';
import type { Storage } from '../lib/storage/index.js';
import type { TicketPages } from '../lib/ticket-links.js';
import { ANALYTICS_FOLD_EVERY_MS } from './analytics.js';
import { discordFileHosts } from './attachments.js';
import { type Clock, systemClock } from './clock.js';
import type { WorkerDeps } from './deps.js';
import { createMailer, type Mailer } from './email-outbound.js';
import { handlersFor } from './handlers.js';
import { DIGEST_SWEEP_EVERY_MS } from './notification-digest.js';
import type { WebPushSettings } from './notification-push.js';
import { OutboxRelay } from './outbox-relay.js';
import { PRIVACY_SWEEP_EVERY_MS } from './privacy.js';
import { createQueues, type Queues, startProcessors } from './queues.js';
import { type RelayThread, startRelayThread } from './relay-thread.js';
import { REPORT_FOLD_EVERY_MS } from './report-fold.js';
import { RETENTION_EVERY_MS } from './retention.js';
import { SLA_SWEEP_EVERY_MS } from './sla.js';
import { webhookSlotsPerOrg } from './webhook-slots.js';

/** Attachment copies one workers process runs at once (each a download and a storage write). */
export const FILE_COPIES_AT_ONCE = 10;

export interface RuntimeOptions {
  pool: Pool;
  redisUrl: string;
  logger: Logger;
  box: SecretBox;
  webhookTargets: TargetPolicy;
  /** BullMQ key prefix; tests use one per file so files never see each other's jobs. */
  prefix?: string;
  clock?: Clock;
  random?: () => number;
  webhookTimeoutMs?: number;
  discord?: { token: string; apiUrl: string } | undefined;
  /** Where Discord attachments are copied (skipped without it). */
  storage?: Storage;
  /** Links to a ticket's web pages (`PUBLIC_URL/rate/...`, transcripts) for Discord messages. */
  ticketPages?: TicketPages;
  /** DISCORD_API_URL: its host may serve attachment links too (a proxy, or a test's fake). */
  discordApiUrl?: string;
  /** SMTP_OUTBOUND_URL: where email replies go out (unset: not sent). */
  emailOutboundUrl?: string | undefined;
  /** A transport of the caller's own instead (tests). */
  mailer?: Mailer;
  /** Web Push's VAPID subject and configured keys (WEB_PUSH_*); absent, push is skipped. */
  webPush?: WebPushSettings;
  /** PUBLIC_URL: the panel's address, for links in digest mails. */
  panelUrl?: string;
  /** Jobs run at once per queue; WORKER_CONCURRENCY's default when omitted. */
  concurrency?: number;
  /**
   * The share of `concurrency` one organization's webhook jobs may hold at once (across all
   * worker processes); WEBHOOK_ORG_SHARE's default when omitted.
   */
  webhookOrgShare?: number;
  relay?: {
    enabled?: boolean;
    pollMs?: number;
    batchSize?: number;
    lookbackMs?: number;
    /** The relay's pool (default: one of its own with `pool`'s settings, 2 connections: LISTEN, a batch). */
    pool?: Pool;
    /**
     * In a thread of its own (workers/relay-thread.ts), off the processors' event loop: what the
     * workers role does. Not with `pool` (a thread makes its own). Off by default, so a test that
     * reads the relay's state in this thread keeps it here.
     */
    thread?: boolean;
  };
  /** Repeating jobs (auto-close sweep, outbox pruning); off in tests that drive them by hand. */
  schedulers?:
    | {
        autoCloseEveryMs?: number;
        pruneEveryMs?: number;
        outboxRetentionDays?: number;
        analyticsEveryMs?: number;
        retentionEveryMs?: number;
        privacyEveryMs?: number;
      }
    | false;
  /** Run the job processors (off for a relay-only process or a test that inspects queued jobs). */
  processors?: boolean;
  /**
   * On stop, how long in-flight jobs may run before outgoing webhook requests are interrupted and
   * their jobs put back for a retry (5 s: well inside SHUTDOWN_TIMEOUT_MS, which is shorter than
   * the 15 s a webhook may take).
   */
  stopGraceMs?: number;
  /** Job lock and stalled-job check timings (tests that kill a worker shorten them). */
  stalled?: { lockDurationMs: number; checkEveryMs: number };
}

export interface WorkerRuntime {
  deps: WorkerDeps;
  queues: Queues;
  relay: OutboxRelay | undefined;
  /** The Redis connection that publishes and enqueues (fails fast while Redis is away). */
  producer: Redis;
  /** What it runs with once defaults are filled in (from lib/config.ts). */
  settings: { concurrency: number; outboxRetentionDays: number };
  stop(): Promise<void>;
}

/**
 * Everything the workers role runs: the relay, the processors and the schedulers, on two Redis
 * connections (a worker one that waits through outages for BullMQ's workers, a producer one that
 * fails fast for the relay, so its transaction rolls back instead of hanging with rows locked).
 */
export async function startWorkerRuntime(opts: RuntimeOptions): Promise<WorkerRuntime> {
  const prefix = opts.prefix ?? 'gm';
  const producer = createRedis(opts.redisUrl, 'producer', 'gamemod-relay');
  const workerConn = createRedis(opts.redisUrl, 'worker', 'gamemod-workers');
  for (const c of [producer, workerConn]) {
    c.on('error', (err) => opts.logger.debug({ err: err.message }, 'redis connection error'));
  }
  await Promise.all([producer.connect(), workerConn.connect()]);
  const queues = createQueues(workerConn, prefix);
  const relayQueues = createQueues(producer, prefix);
  const shutdown = new AbortController();
  // Defaults come from lib/config.ts only (WORKER_CONCURRENCY, WEBHOOK_ORG_SHARE).
  const concurrency = opts.concurrency ?? configDefaults().workers.concurrency;
  const orgShare = opts.webhookOrgShare ?? configDefaults().workers.webhookOrgShare;
  // Every in-flight webhook request listens on it: as many as the webhook concurrency.
  setMaxListeners(0, shutdown.signal);
  const deps: WorkerDeps = {
    shutdown: shutdown.signal,
    pool: opts.pool,
    queues,
    logger: opts.logger,
    clock: opts.clock ?? systemClock,
    box: opts.box,
    webhookTargets: opts.webhookTargets,
    webhookTimeoutMs: opts.webhookTimeoutMs ?? 15_000,
    random: opts.random ?? Math.random,
    webhookSlots: { redis: workerConn, perOrg: webhookSlotsPerOrg(concurrency, orgShare) },
    sessionMarks: { redis: workerConn },
    presence: { redis: workerConn },
    live: { redis: workerConn },
    ratingSessions: { redis: workerConn },
    discord: opts.discord
      ? new REST({
          api: opts.discord.apiUrl,
          retries: 2,
          timeout: 15_000,
          rejectOnRateLimit: isLongChannelEditWait,
        }).setToken(opts.discord.token)
      : null,
    storage: opts.storage ?? null,
    ticketPages: opts.ticketPages ?? null,
    mailer: opts.mailer ?? createMailer(opts.emailOutboundUrl),
    ...(opts.webPush ? { webPush: opts.webPush } : {}),
    ...(opts.panelUrl ? { panelUrl: opts.panelUrl } : {}),
    discordFileHosts: discordFileHosts(
      opts.discordApiUrl ?? opts.discord?.apiUrl ?? configDefaults().discord.apiUrl,
    ),
  };
  const schedulers = opts.schedulers === false ? undefined : (opts.schedulers ?? {});
  // Defaults come from lib/config.ts only (OUTBOX_RETENTION_DAYS).
  const retentionDays = schedulers?.outboxRetentionDays ?? configDefaults().workers.outboxRetentionDays;
  const processors =
    opts.processors === false
      ? undefined
      : startProcessors({
          connection: workerConn,
          prefix,
          handlers: handlersFor(deps, retentionDays),
          concurrency: {
            webhooks: concurrency,
            discord: 5,
            files: FILE_COPIES_AT_ONCE,
            timers: 10,
            maintenance: 1,
            email: 5,
          },
          logger: opts.logger,
          ...(opts.stalled ? { stalled: opts.stalled } : {}),
        });
  if (schedulers) {
    const maint = queues.get('maintenance');
    await maint.upsertJobScheduler(
      'retention-apply',
      { every: schedulers.retentionEveryMs ?? RETENTION_EVERY_MS },
      { name: 'retention.apply', data: {} },
    );
    await maint.upsertJobScheduler(
      'privacy-sweep',
      { every: schedulers.privacyEveryMs ?? PRIVACY_SWEEP_EVERY_MS },
      { name: 'privacy.sweep', data: {} },
    );
    await maint.upsertJobScheduler(
      'autoclose-sweep',
      { every: schedulers.autoCloseEveryMs ?? 60_000 },
      { name: 'autoclose.sweep', data: {} },
    );
    await maint.upsertJobScheduler('rule-timers', { every: 60_000 }, { name: 'rules.sweep', data: {} });
    await maint.upsertJobScheduler(
      'reassign-offline',
      { every: 60_000 },
      { name: 'reassign.sweep', data: {} },
    );
    await maint.upsertJobScheduler(
      'sla-sweep',
      { every: SLA_SWEEP_EVERY_MS },
      { name: 'sla.sweep', data: {} },
    );
    await maint.upsertJobScheduler(
      'webhook-sweep',
      { every: 5 * 60_000 },
      { name: 'webhook.sweep', data: {} },
    );
    await maint.upsertJobScheduler(
      'discord-sweep',
      { every: 5 * 60_000 },
      { name: 'discord.sweep', data: {} },
    );
    await maint.upsertJobScheduler(
      'retry-failed',
      { every: 5 * 60_000 },
      { name: 'jobs.retry_failed', data: {} },
    );
    await queues
      .get('timers')
      .upsertJobScheduler(
        'analytics-fold',
        { every: schedulers.analyticsEveryMs ?? ANALYTICS_FOLD_EVERY_MS },
        { name: 'analytics.fold', data: {} },
      );
    await queues
      .get('timers')
      .upsertJobScheduler(
        'reports-fold',
        { every: REPORT_FOLD_EVERY_MS },
        { name: 'reports.fold', data: {} },
      );
    await maint.upsertJobScheduler(
      'outbox-prune',
      { every: schedulers.pruneEveryMs ?? 3600_000 },
      { name: 'outbox.prune', data: {} },
    );
    await maint.upsertJobScheduler(
      'notify-digest-sweep',
      { every: DIGEST_SWEEP_EVERY_MS },
      { name: 'notify.digest_sweep', data: {} },
    );
    await maint.upsertJobScheduler('oauth-prune', { every: 3600_000 }, { name: 'oauth.prune', data: {} });
  }
  // The relay on connections of its own: with the processors (WORKER_CONCURRENCY jobs at once)
  // and, in one process, the API's requests on `pool`, its batches waited in the pool's queue.
  const inThread = opts.relay?.enabled !== false && opts.relay?.thread === true;
  let relayThread: RelayThread | undefined;
  const ownRelayPool =
    opts.relay?.enabled === false || opts.relay?.pool || inThread
      ? undefined
      : createSiblingPool(opts.pool, { max: 2, applicationName: 'gamemod-relay' });
  const relayPool = opts.relay?.pool ?? ownRelayPool;
  const relay =
    opts.relay?.enabled === false || !relayPool
      ? undefined
      : new OutboxRelay({
          pool: relayPool,
          redis: producer,
          queues: relayQueues,
          logger: opts.logger,
          ...(opts.relay?.pollMs !== undefined ? { pollMs: opts.relay.pollMs } : {}),
          ...(opts.relay?.batchSize !== undefined ? { batchSize: opts.relay.batchSize } : {}),
          ...(opts.relay?.lookbackMs !== undefined ? { lookbackMs: opts.relay.lookbackMs } : {}),
        });
  relay?.start();
  const runtime: WorkerRuntime = {
    deps,
    queues,
    relay,
    producer,
    settings: { concurrency, outboxRetentionDays: retentionDays },
    async stop() {
      // The relay first (no new jobs), then the processors (in-flight jobs finish), then Redis.
      const step = <T>(what: string, run: () => Promise<T>) => stopStep(opts.logger, what, run);
      await step('outbox relay', async () => {
        await relay?.stop();
        await relayThread?.stop();
        await ownRelayPool?.end();
      });
      if (processors) {
        const closing = step('job processors', () => processors.close());
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, opts.stopGraceMs ?? 5_000);
        });
        await Promise.race([closing, grace]);
        clearTimeout(timer);
        // Whatever still waits on a receiver is interrupted; its job fails and goes back to wait.
        shutdown.abort();
        await closing;
      }
      await step('queues', async () => {
        await relayQueues.close();
        await queues.close();
      });
      await step('Redis connections', () =>
        Promise.all([producer, workerConn].map((c) => c.quit().catch(() => c.disconnect()))),
      );
      deps.mailer?.close();
    },
  };
  if (inThread) {
    try {
      relayThread = await startRelayThread({
        pool: opts.pool,
        redisUrl: opts.redisUrl,
        prefix,
        logger: opts.logger,
        ...(opts.relay?.pollMs !== undefined ? { pollMs: opts.relay.pollMs } : {}),
        ...(opts.relay?.batchSize !== undefined ? { batchSize: opts.relay.batchSize } : {}),
        ...(opts.relay?.lookbackMs !== undefined ? { lookbackMs: opts.relay.lookbackMs } : {}),
      });
    } catch (err) {
      await runtime.stop();
      throw err;
    }
  }
  return runtime;
}
