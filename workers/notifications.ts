import { DiscordAPIError } from '@discordjs/rest';
import { z } from 'zod';
import { playerLocale } from '../db/discord-dm.js';
import { senderAddress } from '../db/email-addresses.js';
import { listGuilds } from '../db/guilds.js';
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
import { notificationMessageId } from '../lib/email/thread-text.js';
import { en } from '../lib/i18n/en.js';
import { type Locale, pickLocale } from '../lib/i18n/locales.js';
import { type MessageKey, t } from '../lib/i18n/messages.js';
import { counter } from '../lib/metrics.js';
import type { WorkerDeps } from './deps.js';
import { guildLocale } from './guild-locale.js';
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
const NO_REPLY = 'Replies to this mail are not read: answer the ticket in the panel or in Discord.';
const EXCERPT = 200;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const rec = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
const excerpt = (s: string) => (s.length > EXCERPT ? `${s.slice(0, EXCERPT - 1)}…` : s);

/** A notification's words in one language. */
type Words = (locale: Locale) => { title: string; body: string | null };

interface Planned {
  userIds: string[];
  event: NotificationEvent;
  /** English: what the panel and the mail show. */
  title: string;
  body: string | null;
  /** The same in a member's language, for the Discord DM. */
  words: Words;
}

/** A planned notification from its words: English stored, any language for the DM. */
function planned(userIds: string[], event: NotificationEvent, words: Words): Planned {
  return { userIds, event, ...words('en-US'), words };
}

/**
 * An SLA due time in a DM: as that language writes it, in UTC. English keeps the instant as the
 * event carries it, as the panel and the mail always showed it.
 */
function dueText(dueAt: string, locale: Locale): string {
  const at = new Date(dueAt);
  if (locale === 'en-US' || Number.isNaN(at.getTime())) return dueAt;
  const text = new Intl.DateTimeFormat(locale, {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'UTC',
  }).format(at);
  return `${text} UTC`;
}

/** An SLA metric's name (`first_response`), as the catalogs name the three; another as it is. */
function metricName(metric: string | undefined, locale: Locale): string {
  const key = `sla.${metric ?? ''}`;
  return key in en.messages ? t(locale, key as MessageKey) : (metric ?? 'sla').replaceAll('_', ' ');
}

const ruleNotifyPayload = z.object({
  to: z.enum(['assignee', 'team']),
  message: z.string(),
  rule: z.object({ name: z.string() }),
});

/** Who an event concerns and what they are told, before access and preferences. */
async function plan(
  tx: Tx,
  row: OutboxRow,
): Promise<{ ticketId: string; guildId: string | null; planned: Planned[] } | null> {
  const p = row.payload;
  const ticketId =
    row.aggregateType === 'ticket' ? row.aggregateId : (str(p.ticketId) ?? str(rec(p.ticket).id) ?? null);
  if (!ticketId) return null;
  const ticket = await getTicket(tx, ticketId).catch(() => null);
  if (!ticket) return null;
  const number = ticket.number;
  const subject = ticket.subject;
  // Who worked the ticket when the event happened (its summary in the payload), not by the time
  // the job runs: a later assignment has its own event.
  const snap = rec(p.ticket);
  const assigneeId = 'assigneeId' in snap ? (str(snap.assigneeId) ?? null) : ticket.assigneeId;
  const teamId = 'teamId' in snap ? (str(snap.teamId) ?? null) : ticket.teamId;
  const team = async () => (teamId ? teamMemberIds(tx, teamId) : []);
  const mine = assigneeId ? [assigneeId] : [];
  const plans: Planned[] = [];
  switch (row.eventType) {
    case 'ticket.created':
      if (assigneeId)
        plans.push(
          planned(mine, 'assigned', (l) => ({ title: t(l, 'notify.assigned', { number }), body: subject })),
        );
      plans.push(
        planned(await team(), 'new_in_queue', (l) => ({
          title: t(l, 'notify.newInQueue', { number }),
          body: subject,
        })),
      );
      break;
    case 'ticket.assigned': {
      // An assignment carries the previous assignee; a transfer (same event type) the previous team.
      if ('previousAssigneeId' in p && assigneeId && assigneeId !== p.previousAssigneeId)
        plans.push(
          planned(mine, 'assigned', (l) => ({ title: t(l, 'notify.assigned', { number }), body: subject })),
        );
      if ('previousTeamId' in p && teamId && teamId !== p.previousTeamId)
        plans.push(
          planned(await team(), 'new_in_queue', (l) => ({
            title: t(l, 'notify.movedToQueue', { number }),
            body: subject,
          })),
        );
      break;
    }
    case 'note.created': {
      const text = str(rec(p.note).body) ?? '';
      plans.push(
        planned(await mentionedMembers(tx, text), 'mentioned', (l) => ({
          title: t(l, 'notify.mentioned', { number }),
          body: excerpt(text),
        })),
      );
      break;
    }
    case 'message.created':
      // A participant (someone else writing in a public forum post) is not the ticket's player.
      if (rec(p.message).authorType === 'player' && p.participant !== true)
        plans.push(
          planned(mine, 'player_replied', (l) => ({
            title: t(l, 'notify.playerReplied', { number }),
            body: excerpt(str(rec(p.message).body) ?? ''),
          })),
        );
      break;
    case 'ticket.sla_warning':
    case 'ticket.sla_breached': {
      const breach = row.eventType === 'ticket.sla_breached';
      const dueAt = str(p.dueAt);
      plans.push(
        planned([...mine, ...(await team())], breach ? 'sla_breached' : 'sla_warning', (l) => {
          const metric = metricName(str(p.metric), l);
          return {
            title: t(l, breach ? 'notify.slaBreached' : 'notify.slaWarning', { number }),
            body: breach
              ? t(l, 'notify.slaOverdue', { metric, subject })
              : dueAt
                ? t(l, 'notify.slaDue', { metric, when: dueText(dueAt, l), subject })
                : t(l, 'notify.slaDueSoon', { metric, subject }),
          };
        }),
      );
      break;
    }
    case 'rule.notify': {
      const r = ruleNotifyPayload.safeParse(p);
      if (!r.success) break;
      const rule = r.data;
      plans.push(
        planned(rule.to === 'assignee' ? mine : await team(), 'rule', (l) => ({
          title: t(l, 'notify.rule', { name: rule.rule.name, number }),
          body: excerpt(rule.message),
        })),
      );
      break;
    }
  }
  return { ticketId, guildId: ticket.discordGuildId, planned: plans };
}

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
  const { pending, from, planned, seen, guildId } = await withTenant(deps.pool, data.orgId, async (tx) => {
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
    const pending = await pendingDeliveries(tx, data.outboxId, now);
    const from = pending.some((d) => d.channel === 'email') ? await senderAddress(tx) : null;
    // A DM is in the member's language: the one last seen for their Discord account here, else
    // the server's (the ticket's, else the organization's first linked one).
    const dms = pending.filter((d) => d.channel === 'discord' && d.discordUserId);
    const seen = new Map<string, string | null>();
    for (const d of dms) {
      const id = d.discordUserId as string;
      if (!seen.has(id)) seen.set(id, await playerLocale(tx, id));
    }
    const guildId =
      dms.length && deps.discord ? (planned?.guildId ?? (await listGuilds(tx))[0]?.guildId ?? null) : null;
    return { pending, from, planned, seen, guildId };
  });
  // Asked of Discord once per job (and kept a while per process by guildLocale).
  let server: Promise<Locale> | undefined;
  const dmText = async (d: PendingDelivery): Promise<string> => {
    const own = d.discordUserId ? seen.get(d.discordUserId) : null;
    server ??= deps.discord
      ? guildLocale(deps.discord, guildId, shutdownExtras(deps))
      : Promise.resolve('en-US');
    // Their own language when GameMod has one for it, else the server's.
    const locale = pickLocale(own, await server);
    // The words of the event that notified this member (the same one decide() recorded); a
    // retry whose plan no longer names them sends what was stored.
    const p = planned?.planned.find((x) => x.event === d.event && x.userIds.includes(d.userId));
    const { title, body } = p ? p.words(locale) : { title: d.title, body: d.body };
    return `🔔 **${title}**${body ? `\n${body}` : ''}`.slice(0, 2000);
  };
  let failure: unknown = null;
  for (const d of pending) {
    const outcome = await deliver(deps, data.orgId, d, from, dmText).catch((err: unknown) => {
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

const shutdownExtras = (deps: WorkerDeps) => (deps.shutdown ? { signal: deps.shutdown } : {});

type Outcome = { status: 'sent' | 'skipped' | 'failed'; reason?: string };

async function deliver(
  deps: WorkerDeps,
  orgId: string,
  d: PendingDelivery,
  from: { address: string; senderName: string | null } | null,
  dmText: (d: PendingDelivery) => Promise<string>,
): Promise<Outcome> {
  if (d.channel === 'push') return sendPush(deps, orgId, d);
  const text = d.body ? `${d.title}\n${d.body}` : d.title;
  if (d.channel === 'discord') {
    if (!deps.discord) return { status: 'skipped', reason: 'no Discord bot token' };
    if (!d.discordUserId) return { status: 'skipped', reason: 'no linked Discord account' };
    const x = shutdownExtras(deps);
    try {
      const content = await dmText(d);
      const dm = await openDm(deps.discord, d.discordUserId, x);
      await deps.discord.post(`/channels/${dm.id}/messages`, {
        body: {
          content,
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
  const link =
    deps.panelUrl && d.ticketId ? `${deps.panelUrl.replace(/\/$/, '')}/o/${orgId}/t/${d.ticketId}` : null;
  await deps.mailer.sendMail({
    // The same on every attempt (a resend folds into one), and how the intake knows a member's
    // reply to it: it reaches no one, so the mail says where to answer instead.
    messageId: `<${notificationMessageId(d.notificationId, from.address.slice(from.address.lastIndexOf('@') + 1))}>`,
    from: { name: from.senderName ?? 'GameMod', address: from.address },
    to: d.email,
    subject: d.title,
    text: `${text}\n${link ? `\n${link}\n` : ''}\n${NO_REPLY}\n`,
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
  });
  return { status: 'sent' };
}
