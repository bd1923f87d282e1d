import { z } from 'zod';
import { refuse } from '../lib/i18n/refusal.js';
import { type Actor, recordChange, SYSTEM } from './changes.js';
import { DEFAULT_CLOSE_REQUEST_MINUTES, type GuildSettings } from './guilds.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { lockTicket, requireStaff, requireWorkable, type Ticket, ticketChange } from './ticket-rows.js';
import { close } from './ticket-status.js';
import { parseInput } from './validate.js';

/**
 * Close requests: staff ask the player to close their ticket; the player confirms (the ticket
 * closes as theirs) or declines (staff are told); without an answer by `due_at` the workers
 * close it. A player's reply, a reopen or a close made otherwise cancels a pending request. Each
 * step writes its history (and, for staff, audit) through `recordChange`; the Discord message
 * with the buttons and its outcome are the workers' `discord.ticket_sync`, fed by the events.
 */

export type CloseRequestStatus = 'pending' | 'confirmed' | 'declined' | 'timed_out' | 'cancelled';
export type CancelReason = 'player_replied' | 'reopened' | 'closed';

export interface CloseRequest {
  id: string;
  ticketId: string;
  requestedBy: string | null;
  reason: string | null;
  dueAt: Date;
  status: CloseRequestStatus;
  cancelReason: CancelReason | null;
  discordMessageId: string | null;
  /** The request sent to a modmail player's DM, with its buttons (null: none sent there). */
  dmChannelId: string | null;
  dmMessageId: string | null;
  settledMessage: boolean;
  createdAt: Date;
}

const COLUMNS = `id, ticket_id as "ticketId", requested_by as "requestedBy", reason, due_at as "dueAt", status,
  cancel_reason as "cancelReason", discord_message_id as "discordMessageId", dm_channel_id as "dmChannelId",
  dm_message_id as "dmMessageId", settled_message as "settledMessage", created_at as "createdAt"`;

export const requestCloseInput = z.object({
  ticketId: id,
  reason: z.string().trim().min(1).max(500).optional(),
  /** Minutes to wait for the player; the guild's or category's `closeRequestMinutes` when absent. */
  afterMinutes: z.number().int().min(1).max(43_200).optional(),
});

/** What the outbox carries: enough for the relay to schedule the expiry without a read. */
const payloadOf = (r: CloseRequest) => ({
  closeRequest: { id: r.id, dueAt: new Date(r.dueAt).toISOString(), reason: r.reason, status: r.status },
});

/** The wait configured for a ticket: its category's setting, else its guild's, else a day. */
async function configuredMinutes(tx: Tx, ticket: Ticket): Promise<number> {
  if (!ticket.discordGuildId) return DEFAULT_CLOSE_REQUEST_MINUTES;
  const r = await tx.query<{ settings: GuildSettings }>(
    'select settings from discord_guilds where org_id = $1::uuid and guild_id = $2::text',
    [tx.orgId, ticket.discordGuildId],
  );
  const s = r.rows[0]?.settings;
  const perCategory = ticket.categoryId ? s?.categories?.[ticket.categoryId]?.closeRequestMinutes : undefined;
  return perCategory ?? s?.closeRequestMinutes ?? DEFAULT_CLOSE_REQUEST_MINUTES;
}

/** Staff ask the player to close the ticket. One pending request per ticket. */
export async function requestClose(
  tx: Tx,
  raw: z.input<typeof requestCloseInput>,
  actor: Actor,
): Promise<CloseRequest> {
  const input = parseInput(requestCloseInput, raw);
  requireStaff(actor);
  const ticket = await lockTicket(tx, input.ticketId);
  requireWorkable(ticket);
  if (ticket.status === 'closed')
    throw refuse('invalid_transition', 'refuse.alreadyClosed', { number: ticket.number });
  if (!ticket.requesterId)
    throw refuse('invalid_transition', 'deny.closeRequestNoPlayer', { number: ticket.number });
  // A modmail player, who never sees the ticket's thread, is asked by DM (workers/close-requests.ts).
  const minutes = input.afterMinutes ?? (await configuredMinutes(tx, ticket));
  const r = await tx.query<CloseRequest>(
    `insert into close_requests (org_id, ticket_id, requested_by, reason, due_at)
     select $1::uuid, $2::uuid, $3::uuid, $4::text, now() + make_interval(mins => $5::int)
     where not exists (select 1 from close_requests where org_id = $1::uuid and ticket_id = $2::uuid and status = 'pending')
     returning ${COLUMNS}`,
    [tx.orgId, ticket.id, actor.type === 'user' ? actor.id : null, input.reason ?? null, minutes],
  );
  const request = r.rows[0];
  if (!request) throw refuse('conflict', 'deny.closeRequestPending', { number: ticket.number });
  await recordChange(
    tx,
    actor,
    ticketChange(
      ticket,
      'ticket.close_requested',
      { closeRequestId: request.id, reason: request.reason, dueAt: request.dueAt, minutes },
      payloadOf(request),
    ),
  );
  return request;
}

async function lockRequest(tx: Tx, requestId: string): Promise<CloseRequest> {
  const r = await tx.query<CloseRequest>(
    `select ${COLUMNS} from close_requests where org_id = $1::uuid and id = $2::uuid for update`,
    [tx.orgId, parseInput(id, requestId)],
  );
  if (!r.rows[0]) throw refuse('not_found', 'deny.closeRequestGone');
  return r.rows[0];
}

async function settle(
  tx: Tx,
  requestId: string,
  status: Exclude<CloseRequestStatus, 'pending'>,
  cancelReason: CancelReason | null = null,
): Promise<CloseRequest> {
  const r = await tx.query<CloseRequest>(
    `update close_requests set status = $3::text, cancel_reason = $4::text, settled_at = now()
     where org_id = $1::uuid and id = $2::uuid returning ${COLUMNS}`,
    [tx.orgId, requestId, status, cancelReason],
  );
  return r.rows[0] as CloseRequest;
}

const ANSWERED = {
  confirmed: 'deny.closeRequestConfirmed',
  declined: 'deny.closeRequestDeclined',
  timed_out: 'deny.closeRequestTimedOut',
  cancelled: 'deny.closeRequestCancelled',
} as const satisfies Record<Exclude<CloseRequestStatus, 'pending'>, string>;

/**
 * The player's answer (a player actor: the ticket's requester only). Confirming closes the ticket
 * as the player's own close; declining is recorded and announced to staff by the workers.
 */
export async function answerCloseRequest(
  tx: Tx,
  input: { requestId: string; confirm: boolean },
  actor: Actor,
): Promise<{ request: CloseRequest; ticket: Ticket }> {
  const before = await lockRequest(tx, input.requestId);
  const ticket = await lockTicket(tx, before.ticketId);
  if (actor.type !== 'player' || ticket.requesterId !== actor.id)
    throw refuse('forbidden', 'deny.closeRequestOnlyPlayer', { number: ticket.number });
  if (before.status !== 'pending') throw refuse('invalid_transition', ANSWERED[before.status]);
  if (input.confirm) {
    const request = await settle(tx, before.id, 'confirmed');
    await recordChange(tx, actor, {
      ticketId: ticket.id,
      action: 'ticket.close_request_confirmed',
      data: { closeRequestId: request.id },
    });
    const closed = await close(
      tx,
      { ticketId: ticket.id, reason: request.reason ?? 'Confirmed by the player' },
      actor,
    );
    return { request, ticket: closed };
  }
  const request = await settle(tx, before.id, 'declined');
  await recordChange(
    tx,
    actor,
    ticketChange(ticket, 'ticket.close_request_declined', { closeRequestId: request.id }, payloadOf(request)),
  );
  return { request, ticket };
}

/**
 * The expiry: a request still pending at its due time closes the ticket (by the system). Anything
 * else (answered, cancelled, not due yet) is left alone, so a repeated or early job does nothing.
 * Due is judged by the database's clock, the one `due_at` was set by: a worker whose clock runs
 * ahead would otherwise close the ticket while the player still has time to answer. `leftMs` is
 * what remains of the wait on that clock, for a job that came early.
 */
export async function expireCloseRequest(
  tx: Tx,
  requestId: string,
): Promise<{ outcome: 'closed' | 'not_due' | 'settled'; dueAt: Date; leftMs: number }> {
  const before = await lockRequest(tx, requestId);
  const dueAt = new Date(before.dueAt);
  if (before.status !== 'pending') return { outcome: 'settled', dueAt, leftMs: 0 };
  const wait = await tx.query<{ leftMs: number }>(
    `select (extract(epoch from due_at - now()) * 1000)::float8 as "leftMs"
     from close_requests where org_id = $1::uuid and id = $2::uuid`,
    [tx.orgId, before.id],
  );
  const leftMs = wait.rows[0]?.leftMs ?? 0;
  if (leftMs > 0) return { outcome: 'not_due', dueAt, leftMs };
  const ticket = await lockTicket(tx, before.ticketId);
  const request = await settle(tx, before.id, 'timed_out');
  await recordChange(tx, SYSTEM, {
    ticketId: ticket.id,
    action: 'ticket.close_request_timed_out',
    data: { closeRequestId: request.id },
  });
  if (ticket.status !== 'closed')
    await close(
      tx,
      { ticketId: ticket.id, reason: request.reason ?? 'No answer to the close request' },
      SYSTEM,
    );
  return { outcome: 'closed', dueAt, leftMs: 0 };
}

/**
 * Cancels the ticket's pending request, if any: the player wrote, the ticket was reopened or
 * closed otherwise. Called by the ticket modules inside the change's own transaction.
 */
export async function cancelCloseRequest(
  tx: Tx,
  ticket: Ticket,
  why: CancelReason,
  actor: Actor,
): Promise<void> {
  const r = await tx.query<CloseRequest>(
    `update close_requests set status = 'cancelled', cancel_reason = $3::text, settled_at = now()
     where org_id = $1::uuid and ticket_id = $2::uuid and status = 'pending' returning ${COLUMNS}`,
    [tx.orgId, ticket.id, why],
  );
  const request = r.rows[0];
  if (!request) return;
  await recordChange(
    tx,
    actor,
    ticketChange(
      ticket,
      'ticket.close_request_cancelled',
      { closeRequestId: request.id, why },
      { ...payloadOf(request), why },
    ),
  );
}

/** What the ticket sync shows: the ticket's requests whose message does not show the outcome yet. */
export interface CloseRequestForSync extends CloseRequest {
  requestedByName: string | null;
  requestedByDiscordId: string | null;
}

export async function closeRequestsForSync(tx: Tx, ticketId: string): Promise<CloseRequestForSync[]> {
  const r = await tx.query<CloseRequestForSync>(
    `select c.id, c.ticket_id as "ticketId", c.requested_by as "requestedBy", c.reason, c.due_at as "dueAt", c.status,
       c.cancel_reason as "cancelReason", c.discord_message_id as "discordMessageId",
       c.dm_channel_id as "dmChannelId", c.dm_message_id as "dmMessageId", c.settled_message as "settledMessage", c.created_at as "createdAt", u.display_name as "requestedByName",
       (select d.discord_user_id from discord_accounts d where d.user_id = c.requested_by) as "requestedByDiscordId"
     from close_requests c left join users u on u.id = c.requested_by
     where c.org_id = $1::uuid and c.ticket_id = $2::uuid and not c.settled_message
     order by c.created_at limit 10`,
    [tx.orgId, parseInput(id, ticketId)],
  );
  return r.rows;
}

/** The request message the workers posted, recorded once Discord answered. */
export async function recordCloseRequestMessage(tx: Tx, requestId: string, messageId: string): Promise<void> {
  await tx.query(
    'update close_requests set discord_message_id = $3::text where org_id = $1::uuid and id = $2::uuid',
    [tx.orgId, parseInput(id, requestId), messageId],
  );
}

/**
 * The request the workers sent to a modmail player's DM, recorded once Discord answered, so its
 * buttons can give way to the outcome there too.
 */
export async function recordCloseRequestDm(
  tx: Tx,
  requestId: string,
  dm: { channelId: string; messageId: string },
): Promise<void> {
  await tx.query(
    `update close_requests set dm_channel_id = $3::text, dm_message_id = $4::text
     where org_id = $1::uuid and id = $2::uuid`,
    [tx.orgId, parseInput(id, requestId), dm.channelId, dm.messageId],
  );
}

/** The message shows the outcome (or there never was one): nothing more to do on Discord. */
export async function recordCloseRequestSettled(tx: Tx, requestId: string): Promise<void> {
  await tx.query(
    `update close_requests set settled_message = true where org_id = $1::uuid and id = $2::uuid and status <> 'pending'`,
    [tx.orgId, parseInput(id, requestId)],
  );
}

/**
 * Pending requests past their due time by more than a minute, on the database's clock: their
 * expiry job should have run. The sweep closes them, in case Redis lost the delayed job (a hard
 * kill loses its last writes).
 */
export async function overdueCloseRequests(tx: Tx): Promise<string[]> {
  const r = await tx.query<{ id: string }>(
    `select id from close_requests where org_id = $1::uuid and status = 'pending'
       and due_at < now() - interval '1 minute' order by due_at limit 500`,
    [tx.orgId],
  );
  return r.rows.map((x) => x.id);
}
