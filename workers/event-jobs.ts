import { CATEGORY_CHANGED } from '../db/categories.js';
import { DM_RECEIVED } from '../db/discord-dm.js';
import {
  MIRROR_BACKFILL_DELAY_MS,
  MIRROR_BACKFILL_REQUESTED,
  MIRROR_CREATED,
} from '../db/discord-mirrors.js';
import { ATTACHMENTS_ADDED } from '../db/discord-sync.js';
import { notifies } from '../db/notifications.js';
import type { OrgFeatures, OutboxRow } from '../db/outbox.js';
import { RETENTION_REMOVED } from '../db/retention-apply.js';
import { ruleEventOf } from '../db/rule-runs.js';
import { SLA_SETTINGS_CHANGED } from '../db/sla-policies.js';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_TEST_EVENT } from '../db/webhooks.js';
import { jobIds } from './jobs.js';
import type { PlannedJob } from './queues.js';

/**
 * What jobs an outbox event implies: the relay's rules, kept apart from its transaction and Redis
 * handling because they change with every feature that reacts to an event, and because tests,
 * benchmarks and the relay's look-back after a Redis outage all need the same answer. Pure: reads
 * the row only (and the clock, for a close request's delay).
 */

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

const ALERTS = new Set(['ticket.sla_warning', 'ticket.sla_breached', 'webhook.disabled', 'anomaly.detected']);

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const rec = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' ? (v as Record<string, unknown>) : {};

/** Every feature on: what callers that know nothing of the org (tests, the look-back) assume. */
export const ALL_FEATURES: OrgFeatures = { webhooks: true, sla: true, rules: true };

/**
 * The jobs an event implies. Pure, so tests and the look-back use the same rules. `features`
 * leaves out the fan-out for an org without webhook subscriptions, the SLA recompute for one
 * without SLA policies and the rules run for one without enabled rules (jobs that would find
 * nothing to do).
 */
export function impliedJobs(row: OutboxRow, features: OrgFeatures = ALL_FEATURES): PlannedJob[] {
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
  // Staff notifications: the job works out whom the event concerns (workers/notifications.ts).
  if (notifies(row)) {
    jobs.push({
      name: 'notify.fanout',
      payload: { orgId, outboxId: id },
      opts: { jobId: jobIds.notify(id) },
    });
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
  // Retention removed tickets or messages: the live backlogs replaying them go (live-backlog.ts).
  if (type === RETENTION_REMOVED && Array.isArray(payload.ticketIds)) {
    jobs.push({
      name: 'live.forget',
      payload: { orgId, ticketIds: payload.ticketIds.filter((t): t is string => typeof t === 'string') },
      opts: { jobId: jobIds.liveForget(id) },
    });
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
  // Staff (and system) messages on a ticket with an email thread go back by email; the player's
  // own mail never does. Not only tickets that came by email: one an email ticket was merged into
  // took its thread. The event's summary says which (db/ticket-rows.ts `messageSummary`), so a
  // Discord, game or API ticket costs no job. An event written before it said so (an older
  // process in a rolling deploy, the look-back) still queues the job, which looks for itself.
  if (type === 'message.created' && row.aggregateType === 'ticket' && ticket.emailThread !== false) {
    const message = rec(payload.message);
    const messageId = str(message.id);
    const staff =
      message.authorType === 'user' || message.authorType === 'system' || message.authorType === 'bot';
    if (messageId && message.origin !== 'email' && staff) {
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
  // A player's erasure anonymised the tickets that named them (theirs, and the reports about
  // them): their threads and channels take the new subject as name (workers/ticket-sync.ts). The
  // event names no channels, so each ticket gets a job; one without a Discord side ends at once.
  if (type === 'player.erased' && Array.isArray(payload.ticketIds)) {
    for (const ticketId of payload.ticketIds) {
      if (typeof ticketId !== 'string') continue;
      jobs.push({
        name: 'discord.ticket_sync',
        payload: { orgId, ticketId, outboxId: id },
        opts: { jobId: jobIds.ticketSyncOf(id, ticketId) },
      });
    }
  }
  // The player's rating sign-in sessions hold their Discord id until the idle timeout: they end
  // now, after the commit (workers/rating-sessions.ts).
  if (type === 'player.erased' && str(payload.playerId)) {
    jobs.push({
      name: 'rating.sessions_end',
      payload: { orgId, playerId: str(payload.playerId) as string },
      opts: { jobId: jobIds.ratingSessionsEnd(id) },
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
  // A new mirror's backfill waits until every bot process has seen the mirror (its look-up cache
  // lasts less), so whatever the bot let pass before is among the last 100 messages it copies.
  if ((type === MIRROR_CREATED || type === MIRROR_BACKFILL_REQUESTED) && str(payload.mirrorId)) {
    jobs.push({
      name: 'discord.mirror_backfill',
      payload: { orgId, mirrorId: str(payload.mirrorId) as string },
      // Asked again, the bot has long known the mirror: no need to wait for its cache.
      opts: {
        jobId: jobIds.mirrorBackfill(id),
        delay: type === MIRROR_CREATED ? MIRROR_BACKFILL_DELAY_MS : 0,
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
