import type { Redis } from 'ioredis';
import type pg from 'pg';
import { CATEGORY_CHANGED } from '../db/categories.js';
import { DM_RECEIVED } from '../db/discord-dm.js';
import { ATTACHMENTS_ADDED } from '../db/discord-sync.js';
import {
  blockedByEarlier,
  claimOutbox,
  markRelayed,
  type OrgFeatures,
  type OutboxRow,
  orgFeatures,
  readOutbox,
  relayedBetween,
} from '../db/outbox.js';
import type { Pool } from '../db/pool.js';
import { ruleEventOf } from '../db/rule-runs.js';
import { SLA_SETTINGS_CHANGED } from '../db/sla-policies.js';
import { withTransaction } from '../db/transaction.js';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_TEST_EVENT } from '../db/webhooks.js';
import { type LiveEvent, publishLive } from '../lib/live.js';
import type { Logger } from '../lib/logger.js';
import { counter, gauge, histogram } from '../lib/metrics.js';
import { jobIds } from './jobs.js';
import type { PlannedJob, Queues } from './queues.js';

/**
 * The outbox relay: the only bridge from committed changes to Redis. In one transaction it
 * claims a batch of unrelayed rows (FOR UPDATE SKIP LOCKED, so several relays share the work),
 * publishes each as a live update, enqueues the jobs each implies (ids derived from the outbox
 * id, so a re-enqueue is a no-op), and marks the rows relayed. If Redis fails midway, the
 * transaction rolls back and the rows wait; publishing is deduped on the event id, so the retry
 * publishes nothing twice.
 *
 * Woken by LISTEN gm_outbox (one notification per committing transaction), with polling as the
 * fallback for a lost notification or a dropped LISTEN connection.
 */

export interface RelayOptions {
  pool: Pool;
  /** Publishes and enqueues; should fail fast while Redis is away (a producer connection). */
  redis: Redis;
  queues: Queues;
  logger: Logger;
  batchSize?: number;
  pollMs?: number;
  /**
   * After Redis comes back, re-enqueue the jobs of rows relayed this long before it went away: a
   * Redis killed hard with AOF fsync every second can lose writes it had acknowledged.
   */
  lookbackMs?: number;
  /**
   * Of those, the live events re-published: only the last few seconds (an AOF tail holds about a
   * second), since a topic dedupes publishes only within its backlog window and republishing
   * further back would send clients events they already had.
   */
  liveLookbackMs?: number;
}

const relayed = counter('gamemod_outbox_relayed_total', 'Outbox rows relayed');
const relayErrors = counter(
  'gamemod_outbox_relay_errors_total',
  'Relay batches that failed and were retried',
);
const relayLag = histogram(
  'gamemod_outbox_relay_lag_seconds',
  'Time from an outbox row being written to it being published',
  [],
  [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120],
);
const pending = gauge('gamemod_outbox_unrelayed', 'Unrelayed outbox rows seen in the last claim');

/** SLA clocks move on these (ticket) events; the SLA's own events are left out to avoid loops. */
const SLA_TRIGGERS = new Set([
  'ticket.created',
  'message.created',
  'ticket.status_changed',
  'ticket.closed',
  'ticket.reopened',
  'ticket.priority_changed',
  'ticket.assigned',
  'ticket.updated',
]);

/**
 * Ticket changes whose Discord side (summary, lock, transcript, rating, notices) may differ
 * afterwards: each asks `discord.ticket_sync` to bring it to the ticket's state (tickets that
 * have a Discord channel only). Merges close the
 * source with `ticket.closed`; SLA escalation changes priority or team with its own events.
 */
const DISCORD_SYNC_TRIGGERS = new Set([
  'ticket.closed',
  'ticket.reopened',
  'ticket.status_changed',
  'ticket.assigned',
  'ticket.priority_changed',
  'ticket.updated',
  'ticket.sla_breached',
  // The close request's message, its outcome, and the notice to staff of a decline.
  'ticket.close_requested',
  'ticket.close_request_declined',
  'ticket.close_request_cancelled',
]);

/** How long after a Discord ticket is opened the workers look for what the bot left undone. */
const OPENING_CHECK_DELAY_MS = 2_000;

/** How long one batch may take to publish and enqueue before it is rolled back and retried. */
const PUSH_TIMEOUT_MS = 5_000;

const ALERTS = new Set(['ticket.sla_warning', 'ticket.sla_breached', 'webhook.disabled', 'anomaly.detected']);

export function toLiveEvent(row: OutboxRow): LiveEvent {
  return {
    id: row.id,
    orgId: row.orgId,
    type: row.eventType,
    aggregateType: row.aggregateType,
    aggregateId: row.aggregateId,
    payload: row.payload,
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const rec = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' ? (v as Record<string, unknown>) : {};

const ALL: OrgFeatures = { webhooks: true, sla: true, rules: true };

/**
 * The jobs an event implies. Pure, so tests and the look-back use the same rules. `features`
 * leaves out the fan-out for an org without webhook subscriptions, the SLA recompute for one
 * without SLA policies and the rules run for one without enabled rules (jobs that would find
 * nothing to do).
 */
export function impliedJobs(row: OutboxRow, features: OrgFeatures = ALL): PlannedJob[] {
  const jobs: PlannedJob[] = [];
  const { id, orgId, eventType: type, payload } = row;
  if (features.webhooks && WEBHOOK_EVENT_TYPES.includes(type as never)) {
    jobs.push({
      name: 'webhook.fanout',
      payload: { orgId, outboxId: id },
      opts: { jobId: jobIds.fanout(id) },
    });
  }
  // Automation rules: an event that is a rule trigger, in an org with enabled rules.
  if (features.rules && ruleEventOf(row)) {
    jobs.push({ name: 'rules.run', payload: { orgId, outboxId: id }, opts: { jobId: jobIds.rules(id) } });
  }
  if (type === 'webhook.replay_requested') {
    const subscriptionId = str(payload.subscriptionId);
    const outboxId = payload.outboxId;
    if (subscriptionId && typeof outboxId === 'number') {
      jobs.push({
        name: 'webhook.deliver',
        payload: { orgId, outboxId, subscriptionId, attempt: 1, replay: true },
        opts: { jobId: jobIds.replay(id) },
      });
    }
  }
  if (type === WEBHOOK_TEST_EVENT) {
    const subscriptionId = str(payload.subscriptionId);
    if (subscriptionId) {
      jobs.push({
        name: 'webhook.deliver',
        payload: { orgId, outboxId: id, subscriptionId, attempt: 1, replay: true },
        opts: { jobId: jobIds.test(id) },
      });
    }
  }
  if (type === ATTACHMENTS_ADDED && Array.isArray(payload.attachmentIds) && payload.attachmentIds.length) {
    jobs.push({
      name: 'attachment.copy',
      payload: { orgId, attachmentIds: payload.attachmentIds },
      opts: { jobId: jobIds.attachmentCopy(id) },
    });
  }
  if (features.sla && row.aggregateType === 'ticket' && row.aggregateId && SLA_TRIGGERS.has(type)) {
    jobs.push({
      name: 'sla.recompute',
      payload: { orgId, ticketId: row.aggregateId },
      opts: { jobId: jobIds.slaRecompute(id) },
    });
  }
  // Not gated on the org's features: deleting the last policy must clear the clocks too.
  if (type === SLA_SETTINGS_CHANGED) {
    jobs.push({
      name: 'sla.recompute_org',
      payload: { orgId, outboxId: id },
      opts: { jobId: jobIds.slaRecomputeOrg(id) },
    });
  }
  if (type === 'message.created') {
    const message = rec(payload.message);
    const messageId = str(message.id);
    if (messageId && message.origin !== 'discord') {
      jobs.push({
        name: 'discord.message',
        payload: { orgId, messageId },
        opts: { jobId: jobIds.discordMessage(id) },
      });
    }
  }
  const ticket = rec(payload.ticket);
  // Modmail: a message on a ticket with a Discord thread may cross to or from the player's DM, and
  // a staff reply on a game, email or API ticket may go to a linked player's DM; the job reads
  // the ticket and returns at once when neither applies. The first DM of a DM ticket comes with
  // its own event (the opening writes no message.created).
  const dmMessage = rec(payload.message);
  const dmRelayed =
    (type === 'message.created' &&
      (str(ticket.discordChannelId) ||
        (str(ticket.origin) &&
          ticket.origin !== 'discord' &&
          (dmMessage.authorType === 'user' || dmMessage.authorType === 'system')))) ||
    type === DM_RECEIVED;
  const relayMessageId = type === DM_RECEIVED ? str(payload.messageId) : str(dmMessage.id);
  if (dmRelayed && relayMessageId) {
    jobs.push({
      name: 'discord.dm_relay',
      payload: { orgId, messageId: relayMessageId },
      opts: { jobId: jobIds.dmRelay(relayMessageId) },
    });
  }
  // Staff (and system) messages on a ticket that came by email go back by email; the player's
  // own mail never does.
  if (type === 'message.created' && ticket.origin === 'email') {
    const message = rec(payload.message);
    const messageId = str(message.id);
    if (messageId && message.origin !== 'email' && message.authorType !== 'player') {
      jobs.push({
        name: 'email.reply',
        payload: { orgId, messageId },
        opts: { jobId: jobIds.emailReply(id) },
      });
    }
  }
  // Only tickets with a Discord side have anything to sync: the event's ticket summary says
  // whether it has a channel, so tickets from the API, the game or email cost no job.
  const synced = row.aggregateType === 'ticket' && DISCORD_SYNC_TRIGGERS.has(type);
  if (synced && row.aggregateId && str(ticket.discordChannelId)) {
    jobs.push({
      name: 'discord.ticket_sync',
      payload: { orgId, ticketId: row.aggregateId, outboxId: id },
      opts: { jobId: jobIds.ticketSync(id) },
    });
  }
  // A ticket opened from Discord: the bot finishes its Discord side at once, holding a claim on
  // it; this job, a little later, finishes whatever the bot could not (Discord failed, the bot
  // stopped). Delayed so it usually finds the bot done instead of waiting on its claim.
  if (type === 'ticket.created' && row.aggregateId && ticket.origin === 'discord') {
    jobs.push({
      name: 'discord.ticket_sync',
      payload: { orgId, ticketId: row.aggregateId, outboxId: id, openingOnly: true },
      opts: { jobId: jobIds.ticketSync(id), delay: OPENING_CHECK_DELAY_MS },
    });
  }
  // The request's expiry waits in Redis as a delayed job keyed by the request, so a restart of
  // the workers loses nothing; the row, not the job, decides whether it still closes anything.
  const closeRequest = rec(payload.closeRequest);
  if (type === 'ticket.close_requested' && str(closeRequest.id) && str(closeRequest.dueAt)) {
    const requestId = str(closeRequest.id) as string;
    jobs.push({
      name: 'closerequest.expire',
      payload: { orgId, requestId },
      opts: {
        jobId: jobIds.closeRequestExpire(requestId),
        delay: Math.max(0, Date.parse(str(closeRequest.dueAt) as string) - Date.now()),
      },
    });
  }
  if (type === CATEGORY_CHANGED) {
    jobs.push({
      name: 'discord.panel_sync',
      payload: { orgId, outboxId: id },
      opts: { jobId: jobIds.panelSync(id) },
    });
  }
  const urgent =
    (type === 'ticket.created' && ticket.priority === 'urgent') ||
    (type === 'ticket.priority_changed' && payload.to === 'urgent');
  if (ALERTS.has(type) || urgent) {
    jobs.push({
      name: 'discord.alert',
      payload: { orgId, outboxId: id },
      opts: { jobId: jobIds.alert(id) },
    });
  }
  return jobs;
}

export class OutboxRelay {
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly lookbackMs: number;
  private readonly liveLookbackMs: number;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private woken = false;
  private listener: pg.PoolClient | undefined;
  private outageSince: number | undefined;
  private consecutiveErrors = 0;
  private everReady = false;

  constructor(private readonly opts: RelayOptions) {
    this.batchSize = opts.batchSize ?? 200;
    this.pollMs = opts.pollMs ?? 1_000;
    this.lookbackMs = opts.lookbackMs ?? 30_000;
    this.liveLookbackMs = Math.min(opts.liveLookbackMs ?? 5_000, this.lookbackMs);
    if (opts.redis.status === 'ready') this.everReady = true;
    opts.redis.on('ready', () => {
      this.everReady = true;
    });
    opts.redis.on('close', () => this.markOutage());
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the batch in progress (its transaction commits or rolls back). */
  async stop(): Promise<void> {
    this.running = false;
    this.notify();
    await this.loop;
    this.listener?.release(true);
    this.listener = undefined;
  }

  private markOutage(): void {
    if (this.everReady) this.outageSince ??= Date.now();
  }

  private notify(): void {
    this.woken = true;
    this.wake?.();
  }

  private async listen(): Promise<void> {
    if (this.listener) return;
    try {
      const client = await this.opts.pool.connect();
      client.on('notification', () => this.notify());
      client.on('error', () => {
        // The LISTEN connection died (database restart); polling carries on until it is back.
        if (this.listener === client) this.listener = undefined;
        client.release(true);
      });
      await client.query('listen gm_outbox');
      this.listener = client;
    } catch (err) {
      this.opts.logger.debug({ err: (err as Error).message }, 'relay cannot LISTEN yet; polling');
    }
  }

  private async sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wake = undefined;
    this.woken = false;
  }

  private async run(): Promise<void> {
    while (this.running) {
      await this.listen();
      let n = 0;
      try {
        if (this.opts.redis.status !== 'ready') {
          // Holding row locks while Redis is away helps nobody; the rows wait in Postgres.
          this.markOutage();
          await this.sleep(Math.min(this.pollMs, 250));
          continue;
        }
        if (this.outageSince !== undefined) await this.catchUpAfterOutage();
        n = await this.relayBatch();
        this.consecutiveErrors = 0;
      } catch (err) {
        this.consecutiveErrors++;
        relayErrors.inc();
        this.markOutage();
        this.opts.logger.warn({ err: (err as Error).message }, 'outbox relay batch failed; will retry');
        await this.sleep(Math.min(100 * 2 ** this.consecutiveErrors, 2_000));
        continue;
      }
      if (n < this.batchSize) await this.sleep(this.pollMs);
    }
  }

  /** Relays one batch; returns how many rows it claimed. */
  async relayBatch(): Promise<number> {
    // Round trips as before the helper: begin, claim, blocked, read, features, mark, commit.
    const rows = await withTransaction(this.opts.pool, async (client) => {
      const claimed = await claimOutbox(client, this.batchSize);
      pending.set(claimed.length);
      // An org's rows behind an earlier one another relay holds wait for a later batch, so each
      // org's events go out in outbox order however many relays run.
      const blocked = await blockedByEarlier(
        client,
        claimed.map((r) => r.id),
      );
      const refs = claimed.filter((r) => !blocked.has(r.id));
      if (refs.length === 0) return [];
      // The claim names rows only; their events are read with each organization's tenant set.
      const read = await readOutbox(client, refs);
      await this.push(
        read,
        await orgFeatures(
          client,
          read.map((r) => r.orgId),
        ),
      );
      await markRelayed(
        client,
        read.map((r) => r.id),
      );
      return read;
    });
    if (rows.length === 0) return 0;
    const now = Date.now();
    for (const r of rows) relayLag.observe((now - new Date(r.createdAt).getTime()) / 1000);
    relayed.inc(rows.length);
    return rows.length;
  }

  /**
   * Publishes and enqueues; commands on one connection run in order, so topics stay in id order.
   * Bounded in time: a client library waiting for a connection that died mid-batch must not keep
   * the transaction (and its row locks) open. What it sends late is deduped like any retry.
   */
  private async push(
    rows: readonly OutboxRow[],
    features: Map<string, OrgFeatures>,
    publish: readonly OutboxRow[] = rows,
  ): Promise<void> {
    const { redis, queues } = this.opts;
    const work = (async () => {
      await Promise.all(publish.map((r) => publishLive(redis, toLiveEvent(r))));
      const jobs = rows.flatMap((r) => impliedJobs(r, features.get(r.orgId) ?? ALL));
      if (jobs.length) await queues.enqueueMany(jobs);
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis did not take the batch within ${PUSH_TIMEOUT_MS} ms`)),
        PUSH_TIMEOUT_MS,
      );
    });
    work.catch(() => {});
    try {
      await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * After an outage, pushes again what was relayed shortly before it: publishes are deduped on
   * the event id, jobs on their ids, and processors are idempotent, so this only fills in what
   * Redis lost.
   */
  private async catchUpAfterOutage(): Promise<void> {
    // Only what was relayed shortly before the outage began (plus a little for clock skew between
    // this host and the database, whose time relayed_at is): the database serves at most ten
    // minutes of it across tenants.
    const began = this.outageSince ?? Date.now();
    const since = new Date(began - this.lookbackMs);
    const liveSince = began - this.liveLookbackMs;
    const until = new Date(began + 5_000);
    let after = 0;
    let total = 0;
    for (;;) {
      const rows = await relayedBetween(this.opts.pool, since, until, after, 500);
      if (!rows.length) break;
      await this.push(
        rows,
        await orgFeatures(
          this.opts.pool,
          rows.map((r) => r.orgId),
        ),
        rows.filter((r) => (r.relayedAt ? new Date(r.relayedAt).getTime() >= liveSince : false)),
      );
      total += rows.length;
      after = rows.at(-1)?.id ?? after;
      if (rows.length < 500) break;
    }
    this.outageSince = undefined;
    this.opts.logger.info({ replayed: total, since }, 'Redis is back; re-pushed recently relayed events');
  }
}
