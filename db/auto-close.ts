import { pickLocale } from '../lib/i18n/locales.js';
import { t as say } from '../lib/i18n/messages.js';
import { recordChange, SYSTEM } from './changes.js';
import { hasEmailThread } from './email-messages.js';
import type { Tx } from './tenant.js';
import { messageSummary } from './ticket-rows.js';
import { getTicket, setStatus } from './tickets.js';

/**
 * Closing tickets abandoned by the player. A ticket waits on the player while it is `pending`;
 * the wait starts at the later of the move to pending and the last message. After the
 * organization's `inactivity_close_hours` it gets a warning message, and if nobody writes and it
 * is still pending a grace period later, it is closed with reason "inactive". All state is in the
 * database (the warning is a history entry), so a sweep after a restart picks up where it left.
 * Every wait is measured, and the warning dated, by the database's clock (`now()`), the one the
 * waits themselves are stamped with: a worker whose clock runs ahead would warn and close early.
 */

/** The wait between the warning and the close: a day, or the whole limit when that is shorter. */
export const graceHours = (limitHours: number) => Math.min(24, limitHours);

export interface WaitingTicket {
  id: string;
  waitingSince: Date;
  warnedAt: Date | null;
}

export async function inactivityLimitHours(tx: Tx): Promise<number | null> {
  const r = await tx.query<{ hours: number | null }>(
    'select inactivity_close_hours as hours from organizations where id = $1::uuid',
    [tx.orgId],
  );
  return r.rows[0]?.hours ?? null;
}

// When the ticket started waiting on the player, and when it was last warned: kept on the
// ticket (tickets.pending_since and inactivity_warned_at, written by a trigger as the history
// entries land), so the sweep finds due tickets through an index instead of reading history.
const WAITING = 'greatest(t.created_at, t.last_staff_message_at, t.last_player_message_at, t.pending_since)';
const WAITING_SQL = `
  select t.id, ${WAITING} as "waitingSince", t.inactivity_warned_at as "warnedAt"
  from tickets t where t.org_id = $1::uuid and t.status = 'pending'`;

/** Pending tickets that are due a warning or a close now, longest waiting first. */
export async function dueForAction(
  tx: Tx,
  limitHours: number,
  batch = 500,
): Promise<Array<WaitingTicket & { action: 'warn' | 'close' }>> {
  const warn = await tx.query<WaitingTicket>(
    `${WAITING_SQL} and ${WAITING} <= now() - make_interval(hours => $2::int)
       and (t.inactivity_warned_at is null or t.inactivity_warned_at <= ${WAITING})
     order by ${WAITING} limit $3::int`,
    [tx.orgId, limitHours, batch],
  );
  const close = await tx.query<WaitingTicket>(
    `${WAITING_SQL} and t.inactivity_warned_at <= now() - make_interval(hours => $2::int)
       and t.inactivity_warned_at > ${WAITING}
     order by t.inactivity_warned_at limit $3::int`,
    [tx.orgId, graceHours(limitHours), batch],
  );
  return [
    ...close.rows.map((t) => ({ ...t, action: 'close' as const })),
    ...warn.rows.map((t) => ({ ...t, action: 'warn' as const })),
  ];
}

/** The ticket, locked, if it still waits, with the database's time to measure its wait by. */
async function recheck(tx: Tx, ticketId: string): Promise<(WaitingTicket & { now: Date }) | undefined> {
  await tx.query('select 1 from tickets where org_id = $1::uuid and id = $2::uuid for update', [
    tx.orgId,
    ticketId,
  ]);
  const r = await tx.query<WaitingTicket & { now: Date }>(
    `${WAITING_SQL.replace('select t.id,', 'select now() as now, t.id,')} and t.id = $2::uuid`,
    [tx.orgId, ticketId],
  );
  return r.rows[0];
}

/**
 * Posts the warning (a system message, which reaches Discord and the player like any reply) if
 * the ticket still waits and was not warned in this wait. Returns whether it warned.
 */
export async function warnInactive(tx: Tx, ticketId: string, limitHours: number): Promise<boolean> {
  const t = await recheck(tx, ticketId);
  if (!t || (t.warnedAt && t.warnedAt > t.waitingSince)) return false;
  if (t.now.getTime() < t.waitingSince.getTime() + limitHours * 3600_000) return false;
  const hours = graceHours(limitHours);
  // Written for the player: in the ticket's language (the opener's), else their profile's.
  const lang = await tx.query<{ locale: string | null }>(
    `select coalesce(t.locale, p.locale) as locale from tickets t
       left join player_profiles p on p.org_id = t.org_id and p.id = t.requester_id
      where t.org_id = $1::uuid and t.id = $2::uuid`,
    [tx.orgId, ticketId],
  );
  const body = say(
    pickLocale(lang.rows[0]?.locale),
    hours === 1 ? 'autoClose.warningOne' : 'autoClose.warning',
    {
      hours,
    },
  );
  const m = await tx.query<Record<string, unknown>>(
    `insert into messages (org_id, channel_id, ticket_id, author_type, origin, body, created_at)
     select $1::uuid, c.id, $2::uuid, 'system', 'api', $3::text, clock_timestamp()
     from message_channels c where c.org_id = $1::uuid and c.ticket_id = $2::uuid
     returning id, ticket_id as "ticketId", channel_id as "channelId", author_type as "authorType",
       author_user_id as "authorUserId", author_player_id as "authorPlayerId", origin, external_id as "externalId",
       body, created_at as "createdAt"`,
    [tx.orgId, ticketId, body],
  );
  const message = m.rows[0];
  if (!message) return false;
  const ticket = await getTicket(tx, ticketId);
  await recordChange(tx, SYSTEM, {
    ticketId,
    action: 'ticket.inactivity_warning',
    data: { messageId: message.id, closesInHours: hours, warnedAt: t.now.toISOString() },
    event: {
      type: 'message.created',
      aggregateType: 'ticket',
      aggregateId: ticketId,
      payload: {
        // The whole summary, as a reply's event has it: its origin and Discord channel are how the
        // relay knows a DM ticket's player must get it by DM (workers/event-jobs.ts), and
        // `emailThread` how an email player gets it by mail.
        ticket: messageSummary(ticket, await hasEmailThread(tx, ticketId)),
        message,
      },
    },
  });
  return true;
}

/** Closes the ticket as inactive if it is still pending, warned in this wait, and the grace is over. */
export async function closeInactive(tx: Tx, ticketId: string, limitHours: number): Promise<boolean> {
  const t = await recheck(tx, ticketId);
  if (!t?.warnedAt || t.warnedAt <= t.waitingSince) return false;
  if (t.now.getTime() < t.warnedAt.getTime() + graceHours(limitHours) * 3600_000) return false;
  await setStatus(tx, { ticketId, status: 'closed', reason: 'inactive' }, SYSTEM);
  return true;
}
