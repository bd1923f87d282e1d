import { DiscordAPIError } from '@discordjs/rest';
import { z } from 'zod';
import { senderAddress } from '../db/email-addresses.js';
import {
  inQuietHours,
  type NotificationEvent,
  type NotificationPrefs,
  prefsOf,
} from '../db/notification-prefs.js';
import {
  markDelivery,
  mentionedMembers,
  type NewNotification,
  notifies,
  type PendingDelivery,
  pendingDeliveries,
  recordNotifications,
  teamMemberIds,
  ticketReaders,
} from '../db/notifications.js';
import { getOutboxRow, type OutboxRow } from '../db/outbox.js';
import { membersWithPush } from '../db/push-subscriptions.js';
import type { Tx } from '../db/tenant.js';
import { withTenant } from '../db/tenant.js';
import { getTicket } from '../db/tickets.js';
import { openDm } from '../lib/discord/rest.js';
import { counter } from '../lib/metrics.js';
import type { WorkerDeps } from './deps.js';
import type { JobData } from './jobs.js';
import { sendPush } from './notification-push.js';

/**
 * Staff notifications (`notify.fanout`, one job per outbox event): works out which members an
 * event concerns, keeps those who may read the ticket (the API's `tickets.read`) and want to hear
 * of it, records one notification per member in one transaction with the panel's live event, then
 * sends what the outbound channels owe: a Discord DM from the bot's token, an email through
 * SMTP_OUTBOUND_URL (or held for the member's daily digest, workers/notification-digest.ts), a
 * Web Push to each of the member's devices (workers/notification-push.ts). A delivery is recorded once sent; a retried job sends only the pending ones
 * (a crash between Discord's or the SMTP relay's answer and the record sends that one again).
 * The person who caused an event is never notified of it.
 */

const sent = counter('gamemod_notifications_total', 'Staff notification deliveries', ['channel', 'outcome']);

const CANNOT_MESSAGE_USER = 50007;
const EXCERPT = 200;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const rec = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
const excerpt = (s: string) => (s.length > EXCERPT ? `${s.slice(0, EXCERPT - 1)}…` : s);

interface Planned {
  userIds: string[];
  event: NotificationEvent;
  title: string;
  body: string | null;
}

const ruleNotifyPayload = z.object({
  to: z.enum(['assignee', 'team']),
  message: z.string(),
  rule: z.object({ name: z.string() }),
});

/** Who an event concerns and what they are told, before access and preferences. */
async function plan(tx: Tx, row: OutboxRow): Promise<{ ticketId: string; planned: Planned[] } | null> {
  const p = row.payload;
  const ticketId =
    row.aggregateType === 'ticket' ? row.aggregateId : (str(p.ticketId) ?? str(rec(p.ticket).id) ?? null);
  if (!ticketId) return null;
  const ticket = await getTicket(tx, ticketId).catch(() => null);
  if (!ticket) return null;
  const ref = `ticket #${ticket.number}`;
  // Who worked the ticket when the event happened (its summary in the payload), not by the time
  // the job runs: a later assignment has its own event.
  const snap = rec(p.ticket);
  const assigneeId = 'assigneeId' in snap ? (str(snap.assigneeId) ?? null) : ticket.assigneeId;
  const teamId = 'teamId' in snap ? (str(snap.teamId) ?? null) : ticket.teamId;
  const team = async () => (teamId ? teamMemberIds(tx, teamId) : []);
  const mine = assigneeId ? [assigneeId] : [];
  const planned: Planned[] = [];
  switch (row.eventType) {
    case 'ticket.created':
      if (assigneeId)
        planned.push({
          userIds: mine,
          event: 'assigned',
          title: `${cap(ref)} is yours`,
          body: ticket.subject,
        });
      planned.push({
        userIds: await team(),
        event: 'new_in_queue',
        title: `New ${ref} in your team's queue`,
        body: ticket.subject,
      });
      break;
    case 'ticket.assigned': {
      // An assignment carries the previous assignee; a transfer (same event type) the previous team.
      if ('previousAssigneeId' in p && assigneeId && assigneeId !== p.previousAssigneeId)
        planned.push({
          userIds: mine,
          event: 'assigned',
          title: `${cap(ref)} is yours`,
          body: ticket.subject,
        });
      if ('previousTeamId' in p && teamId && teamId !== p.previousTeamId)
        planned.push({
          userIds: await team(),
          event: 'new_in_queue',
          title: `${cap(ref)} moved to your team's queue`,
          body: ticket.subject,
        });
      break;
    }
    case 'note.created': {
      const text = str(rec(p.note).body) ?? '';
      planned.push({
        userIds: await mentionedMembers(tx, text),
        event: 'mentioned',
        title: `You were mentioned on ${ref}`,
        body: excerpt(text),
      });
      break;
    }
    case 'message.created':
      if (rec(p.message).authorType === 'player')
        planned.push({
          userIds: mine,
          event: 'player_replied',
          title: `The player replied on ${ref}`,
          body: excerpt(str(rec(p.message).body) ?? ''),
        });
      break;
    case 'ticket.sla_warning':
    case 'ticket.sla_breached': {
      const breach = row.eventType === 'ticket.sla_breached';
      const metric = (str(p.metric) ?? 'sla').replaceAll('_', ' ');
      planned.push({
        userIds: [...mine, ...(await team())],
        event: breach ? 'sla_breached' : 'sla_warning',
        title: `${breach ? 'SLA breached' : 'SLA warning'} on ${ref}`,
        body: `${metric}${breach ? ' is overdue' : ` due ${str(p.dueAt) ?? 'soon'}`}: ${ticket.subject}`,
      });
      break;
    }
    case 'rule.notify': {
      const r = ruleNotifyPayload.safeParse(p);
      if (!r.success) break;
      planned.push({
        userIds: r.data.to === 'assignee' ? mine : await team(),
        event: 'rule',
        title: `Rule "${r.data.rule.name}" on ${ref}`,
        body: excerpt(r.data.message),
      });
      break;
    }
  }
  return { ticketId, planned };
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * What each concerned member gets: the first planned event that names them (an event names a
 * member once), filtered by access and by their preferences; quiet hours leave the outbound
 * channels out (the panel keeps it), a digest holds email back. Push is planned only for members
 * with a device (`pushers`), so a member who never turned it on gets no row for it.
 */
export function decide(
  ticketId: string,
  planned: Planned[],
  readers: Set<string>,
  prefs: Map<string, NotificationPrefs>,
  actorId: string | null,
  now: Date,
  pushers: Set<string> = new Set(),
): NewNotification[] {
  const out = new Map<string, NewNotification>();
  for (const p of planned) {
    for (const userId of p.userIds) {
      if (out.has(userId) || userId === actorId || !readers.has(userId)) continue;
      const pr = prefs.get(userId);
      if (!pr) continue;
      const want = pr.events[p.event];
      const quiet = inQuietHours(pr, now);
      const deliveries: NewNotification['deliveries'] = [];
      if (want.discord)
        deliveries.push(
          quiet
            ? { channel: 'discord', status: 'skipped', reason: 'quiet hours' }
            : { channel: 'discord', status: 'pending' },
        );
      // The digest goes out at the member's chosen hour, not now: quiet hours do not apply to it.
      if (want.email)
        deliveries.push(
          pr.emailDigest
            ? { channel: 'email', status: 'digest' }
            : quiet
              ? { channel: 'email', status: 'skipped', reason: 'quiet hours' }
              : { channel: 'email', status: 'pending' },
        );
      if (want.push && pushers.has(userId))
        deliveries.push(
          quiet
            ? { channel: 'push', status: 'skipped', reason: 'quiet hours' }
            : { channel: 'push', status: 'pending' },
        );
      if (!want.panel && !deliveries.length) continue;
      out.set(userId, {
        userId,
        event: p.event,
        ticketId,
        title: p.title,
        body: p.body,
        inPanel: want.panel,
        deliveries,
      });
    }
  }
  return [...out.values()];
}

export async function notifyForEvent(deps: WorkerDeps, data: JobData<'notify.fanout'>): Promise<number> {
  const now = deps.clock.now();
  const { pending, from } = await withTenant(deps.pool, data.orgId, async (tx) => {
    const row = await getOutboxRow(tx, data.outboxId);
    const planned = row && notifies(row) ? await plan(tx, row) : null;
    if (planned) {
      const concerned = [...new Set(planned.planned.flatMap((x) => x.userIds))];
      const readers = await ticketReaders(tx, concerned);
      const prefs = await prefsOf(tx, concerned);
      const pushers = await membersWithPush(tx, concerned);
      const actor = rec(row?.payload.actor);
      const actorId = actor.type === 'user' ? (str(actor.id) ?? null) : null;
      await recordNotifications(
        tx,
        data.outboxId,
        decide(planned.ticketId, planned.planned, readers, prefs, actorId, now, pushers),
      );
    }
    const pending = await pendingDeliveries(tx, data.outboxId);
    const from = pending.some((d) => d.channel === 'email') ? await senderAddress(tx) : null;
    return { pending, from };
  });
  let failure: unknown = null;
  for (const d of pending) {
    const outcome = await deliver(deps, data.orgId, d, from).catch((err: unknown) => {
      failure ??= err;
      deps.logger.warn(
        { err, notificationId: d.notificationId, channel: d.channel },
        'notification not sent',
      );
      return null;
    });
    if (!outcome) continue;
    await withTenant(deps.pool, data.orgId, (tx) =>
      markDelivery(tx, d.notificationId, d.channel, outcome.status, outcome.reason),
    );
    sent.inc({ channel: d.channel, outcome: outcome.status });
  }
  // The others were sent and recorded; a retry sends the ones that failed.
  if (failure) throw failure;
  return pending.length;
}

type Outcome = { status: 'sent' | 'skipped' | 'failed'; reason?: string };

async function deliver(
  deps: WorkerDeps,
  orgId: string,
  d: PendingDelivery,
  from: { address: string; senderName: string | null } | null,
): Promise<Outcome> {
  if (d.channel === 'push') return sendPush(deps, orgId, d);
  const text = d.body ? `${d.title}\n${d.body}` : d.title;
  if (d.channel === 'discord') {
    if (!deps.discord) return { status: 'skipped', reason: 'no Discord bot token' };
    if (!d.discordUserId) return { status: 'skipped', reason: 'no linked Discord account' };
    const x = deps.shutdown ? { signal: deps.shutdown } : {};
    try {
      const dm = await openDm(deps.discord, d.discordUserId, x);
      await deps.discord.post(`/channels/${dm.id}/messages`, {
        body: {
          content: `🔔 **${d.title}**${d.body ? `\n${d.body}` : ''}`.slice(0, 2000),
          allowed_mentions: { parse: [] },
        },
        ...x,
      });
    } catch (err) {
      if (err instanceof DiscordAPIError && Number(err.code) === CANNOT_MESSAGE_USER)
        return { status: 'skipped', reason: 'the member takes no DMs from the bot' };
      throw err;
    }
    return { status: 'sent' };
  }
  if (!deps.mailer) return { status: 'skipped', reason: 'SMTP_OUTBOUND_URL is not set' };
  if (!d.email) return { status: 'skipped', reason: 'no email address' };
  if (!from) return { status: 'skipped', reason: 'the organization has no address to send from' };
  await deps.mailer.sendMail({
    from: { name: from.senderName ?? 'GameMod', address: from.address },
    to: d.email,
    subject: d.title,
    text: `${text}\n`,
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
  });
  return { status: 'sent' };
}
