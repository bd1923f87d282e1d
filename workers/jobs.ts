import { z } from 'zod';
import { SLA_METRICS, type SlaMetric } from '../db/sla-clocks.js';

/**
 * The one map of job names to payloads. Producers go through `enqueue` (workers/queues.ts),
 * which parses the payload before it reaches Redis; processors parse it again when they run,
 * since a job may have been written by an older or newer version of the code.
 *
 * Every job id is derived from what the job is about (an outbox id, a ticket and a due time),
 * never random: adding a job whose id exists is a no-op, which is what makes the relay's
 * at-least-once enqueueing and the SLA timers' re-scheduling safe.
 */

const orgId = z.uuid();
const outboxId = z.number().int().positive();

export { SLA_METRICS, type SlaMetric };

export const JOBS = {
  /**
   * Lists the org's subscriptions for one outbox event and makes the first attempt to each match
   * itself (in parallel); a failed first attempt enqueues its retry as `webhook.deliver`.
   */
  'webhook.fanout': { queue: 'webhooks', schema: z.object({ orgId, outboxId }) },
  /** One retry (attempt 2 and later) or manual replay of one event to one subscription. */
  'webhook.deliver': {
    queue: 'webhooks',
    schema: z.object({
      orgId,
      outboxId,
      subscriptionId: z.uuid(),
      attempt: z.number().int().min(1).max(100),
      /** A manual replay: one more attempt even after a success, no retries of its own. */
      replay: z.boolean().default(false),
    }),
  },
  /**
   * Modmail: relays one message between a player's DM and the ticket's staff thread, or a staff
   * reply to a linked player's DM (workers/dm-relay.ts).
   */
  'discord.dm_relay': { queue: 'discord', schema: z.object({ orgId, messageId: z.uuid() }) },
  /** Posts a message written outside Discord into the ticket's Discord thread or channel. */
  'discord.message': { queue: 'discord', schema: z.object({ orgId, messageId: z.uuid() }) },
  /**
   * Copies attachments recorded from Discord (only a CDN link, which expires) into storage. Its
   * own queue: a burst of screenshots must not hold up staff replies waiting to reach Discord.
   */
  'attachment.copy': {
    queue: 'files',
    schema: z.object({ orgId, attachmentIds: z.array(z.uuid()).min(1).max(10) }),
  },
  /** Copies the last 100 messages of a newly mirrored Discord channel into its conversation. */
  'discord.mirror_backfill': { queue: 'discord', schema: z.object({ orgId, mirrorId: z.uuid() }) },
  /**
   * Brings a ticket's Discord side (the opening's summary, team and webhook when the bot could
   * not finish them, summary, lock and archive, transcript, closing message with the rating,
   * notices) to the ticket's current state; the outbox event only says when to look.
   */
  'discord.ticket_sync': {
    queue: 'discord',
    schema: z.object({
      orgId,
      ticketId: z.uuid(),
      outboxId,
      /** From `ticket.created`: only finish what the bot left of the opening, if anything. */
      openingOnly: z.boolean().default(false),
    }),
  },
  /** Edits the org's posted panels after a category changed (workers/panels.ts). */
  'discord.panel_sync': { queue: 'discord', schema: z.object({ orgId, outboxId }) },
  /** Closes a ticket whose close request the player never answered (workers/close-requests.ts). */
  'closerequest.expire': { queue: 'timers', schema: z.object({ orgId, requestId: z.uuid() }) },
  /** Sends a staff reply on an email ticket as mail (workers/email-outbound.ts). */
  'email.reply': { queue: 'email', schema: z.object({ orgId, messageId: z.uuid() }) },
  /** Posts an alert (SLA warning/breach, urgent ticket, disabled webhook) to the alert channel. */
  'discord.alert': { queue: 'discord', schema: z.object({ orgId, outboxId }) },
  /** Recomputes a ticket's SLA clocks and (re)schedules its warning and breach timers. */
  'sla.recompute': { queue: 'timers', schema: z.object({ orgId, ticketId: z.uuid() }) },
  /** Policies or calendars changed: recompute every unfinished ticket of the org. */
  'sla.recompute_org': { queue: 'timers', schema: z.object({ orgId, outboxId }) },
  /** A warning or breach timer; re-checks the ticket's state before recording anything. */
  'sla.fire': {
    queue: 'timers',
    schema: z.object({
      orgId,
      ticketId: z.uuid(),
      metric: z.enum(SLA_METRICS),
      kind: z.enum(['warn', 'breach']),
      dueAt: z.iso.datetime(),
    }),
  },
  /** Scheduled: recomputes tickets whose SLA falls due soon, re-creating timers Redis lost. */
  'sla.sweep': { queue: 'maintenance', schema: z.object({}) },
  /** Scheduled: inactivity warnings and auto-close over every organization. */
  'autoclose.sweep': { queue: 'maintenance', schema: z.object({}) },
  /** Scheduled: re-enqueues webhook retries whose jobs were lost. */
  'webhook.sweep': { queue: 'maintenance', schema: z.object({}) },
  /** Scheduled: deletes relayed outbox rows past the retention period. */
  'outbox.prune': { queue: 'maintenance', schema: z.object({}) },
  /** Scheduled: deletes ended OAuth grants, expired access tokens and codes (db/oauth-prune.ts). */
  'oauth.prune': { queue: 'maintenance', schema: z.object({}) },
  /** Scheduled: re-enqueues messages that should have reached Discord by now and have not. */
  'discord.sweep': { queue: 'maintenance', schema: z.object({}) },
  /** Runs the org's automation rules on one outbox event, in order (workers/rules.ts). */
  'rules.run': { queue: 'timers', schema: z.object({ orgId, outboxId }) },
  /** Scheduled every minute: fires time-based rules whose wait is over (workers/rule-timers.ts). */
  'rules.sweep': { queue: 'maintenance', schema: z.object({}) },
  /** Scheduled every minute: hands on open tickets of assignees offline too long (workers/reassign.ts). */
  'reassign.sweep': { queue: 'maintenance', schema: z.object({}) },
  /**
   * Staff notifications for one outbox event: the members it concerns, each once, on the panel,
   * by Discord DM and by email (workers/notifications.ts).
   */
  'notify.fanout': { queue: 'discord', schema: z.object({ orgId, outboxId }) },
  /** Scheduled: enqueues the daily email digests whose hour has come (workers/notification-digest.ts). */
  'notify.digest_sweep': { queue: 'maintenance', schema: z.object({}) },
  /** One member's email digest for one of their local days, sent once. */
  'notify.digest': {
    queue: 'email',
    schema: z.object({ orgId, userId: z.uuid(), day: z.iso.date() }),
  },
  /** Scheduled every 2 s: folds ticket changes into the analytics rollups (workers/analytics.ts). */
  'analytics.fold': { queue: 'timers', schema: z.object({}) },
  /** Scheduled every second: files accepted player reports on moderation tickets (workers/report-fold.ts). */
  'reports.fold': { queue: 'timers', schema: z.object({}) },
  /** Scheduled: retries jobs that ran out of attempts (a long Postgres outage), unless permanent. */
  'jobs.retry_failed': { queue: 'maintenance', schema: z.object({}) },
  /** Scheduled: applies every organization's retention policies in small batches (workers/retention.ts). */
  'retention.apply': { queue: 'maintenance', schema: z.object({}) },
  /**
   * Voids the live backlogs of the tickets a retention batch removed, and of their org
   * (`retention.removed`, workers/live-backlog.ts).
   */
  'live.forget': {
    queue: 'maintenance',
    schema: z.object({ orgId, ticketIds: z.array(z.uuid()).max(1000) }),
  },
  /**
   * Ends the rating sign-in sessions of an erased player (`player.erased`), which hold their
   * Discord id until the idle timeout otherwise (workers/rating-sessions.ts).
   */
  'rating.sessions_end': { queue: 'maintenance', schema: z.object({ orgId, playerId: z.uuid() }) },
  /** Scheduled: builds requested player exports and deletes erased players' Discord posts (workers/privacy.ts). */
  'privacy.sweep': { queue: 'maintenance', schema: z.object({}) },
} as const;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.input<(typeof JOBS)[N]['schema']>;
export type JobData<N extends JobName> = z.output<(typeof JOBS)[N]['schema']>;
export const QUEUE_NAMES = ['webhooks', 'discord', 'files', 'timers', 'maintenance', 'email'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** Job ids: no ':' (BullMQ reserves it) and never all digits. */
export const jobIds = {
  fanout: (outboxId: number) => `wf-${outboxId}`,
  deliver: (outboxId: number, subscriptionId: string, attempt: number) =>
    `wd-${outboxId}-${subscriptionId}-${attempt}`,
  replay: (replayOutboxId: number) => `wr-${replayOutboxId}`,
  test: (testOutboxId: number) => `wt-${testOutboxId}`,
  discordMessage: (outboxId: number) => `dm-${outboxId}`,
  /** Per message, not per event: a DM ticket's first message has its own event besides message.created. */
  dmRelay: (messageId: string) => `dr-${messageId}`,
  discordSweep: (messageId: string) => `dms-${messageId}`,
  alert: (outboxId: number) => `da-${outboxId}`,
  ticketSync: (outboxId: number) => `ts-${outboxId}`,
  /** One event naming many tickets (a player's erasure): one sync per ticket. */
  ticketSyncOf: (outboxId: number, ticketId: string) => `ts-${outboxId}-${ticketId}`,
  emailReply: (outboxId: number) => `er-${outboxId}`,
  liveForget: (outboxId: number) => `lf-${outboxId}`,
  ratingSessionsEnd: (outboxId: number) => `rse-${outboxId}`,
  panelSync: (outboxId: number) => `ps-${outboxId}`,
  closeRequestExpire: (requestId: string) => `cre-${requestId}`,
  /** One job per event: each rule's own log row makes a rule's replay a no-op. */
  rules: (outboxId: number) => `ru-${outboxId}`,
  /** One per event: the notifications' unique key per event and member dedupes a replay. */
  notify: (outboxId: number) => `nt-${outboxId}`,
  /** One per member and local day: overlapping sweeps add it once. */
  digest: (orgId: string, userId: string, day: string) => `ndg-${orgId}-${userId}-${day}`,
  /** A sync put off until a long Discord rate limit lifts; one per ticket and due second. */
  ticketSyncLater: (ticketId: string, dueAt: number) => `tsl-${ticketId}-${Math.ceil(dueAt / 1000)}`,
  attachmentCopy: (outboxId: number) => `ac-${outboxId}`,
  mirrorBackfill: (outboxId: number) => `mb-${outboxId}`,
  slaRecompute: (outboxId: number) => `sr-${outboxId}`,
  slaSweep: (ticketId: string, slot: number) => `ss-${ticketId}-${slot}`,
  slaRecomputeOrg: (outboxId: number) => `so-${outboxId}`,
  slaRecomputeOrgTicket: (outboxId: number, ticketId: string) => `so-${outboxId}-${ticketId}`,
  slaFire: (ticketId: string, metric: SlaMetric, kind: 'warn' | 'breach', dueAt: Date) =>
    `sf-${ticketId}-${metric}-${kind}-${dueAt.getTime()}`,
};
