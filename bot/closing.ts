import type { Actor } from '../db/changes.js';
import type { DiscordTicket } from '../db/discord-sync.js';
import { withTenant } from '../db/tenant.js';
import { close, rate, reopen } from '../db/tickets.js';
import { AppError } from '../lib/errors.js';
import type { Locale } from '../lib/i18n/locales.js';
import { t as say } from '../lib/i18n/messages.js';
import { playerActor, type Who } from './auth.js';
import type { Ctx } from './handler.js';
import { refuse } from './say.js';

/** Staff with tickets.close, or the player who opened the ticket. */
export async function closeActor(ctx: Ctx, who: Who, ticket: DiscordTicket): Promise<Actor> {
  if (who.staff && who.permissions.has('tickets.close')) return who.staff;
  if (ticket.requesterDiscordId === who.person.id)
    return withTenant(ctx.deps.pool, who.orgId, (tx) => playerActor(tx, who.person));
  throw refuse('forbidden', 'refuse.closePermission');
}

/**
 * Closes a ticket from Discord: only the change (history, audit, outbox) and the answer to the
 * interaction. Everything on Discord's side (summary, transcript, closing message with the rating
 * buttons, lock and archive) is the `discord.ticket_sync` job's, as for a close from anywhere
 * else, so a crash after the commit loses nothing and the steps happen once.
 */
export async function closeTicketFlow(
  ctx: Ctx,
  who: Who,
  ticket: DiscordTicket,
  reason: string | null,
): Promise<{ warnings: string[] }> {
  const actor = await closeActor(ctx, who, ticket);
  if (ticket.status === 'closed')
    throw refuse('invalid_transition', 'refuse.alreadyClosed', { number: ticket.number });
  await withTenant(ctx.deps.pool, who.orgId, (tx) =>
    close(tx, { ticketId: ticket.id, ...(reason ? { reason } : {}) }, actor),
  );
  return { warnings: [] };
}

/** What the closer is told, with anything the close could not do. */
export function closedText(locale: Locale, number: number, warnings: string[]): string {
  return warnings.length
    ? say(locale, 'ticket.closedWithNote', { number, warnings: warnings.join('; ') })
    : say(locale, 'ticket.closed', { number });
}

/** Reopens: the change only; the workers unlock the thread and say so in it. */
export async function reopenTicketFlow(
  ctx: Ctx,
  who: Who,
  ticket: DiscordTicket,
  actor: Actor,
): Promise<void> {
  await withTenant(ctx.deps.pool, who.orgId, (tx) => reopen(tx, ticket.id, actor));
}

/** The player's 1–5 rating with an optional comment: once per ticket, only by its requester. */
export async function rateFlow(
  ctx: Ctx,
  who: Who,
  ticket: DiscordTicket,
  rating: number,
  comment: string | undefined,
  locale: Locale = 'en-US',
): Promise<void> {
  if (ticket.requesterDiscordId !== who.person.id)
    throw new AppError('forbidden', say(locale, 'rating.onlyRequester'));
  if (!Number.isInteger(rating) || rating < 1 || rating > 5)
    throw new AppError('validation_failed', say(locale, 'rating.range'));
  if (comment && comment.length > 1000) throw refuse('validation_failed', 'refuse.commentTooLong');
  await withTenant(ctx.deps.pool, who.orgId, async (tx) => {
    const player = await playerActor(tx, who.person);
    await rate(tx, { ticketId: ticket.id, rating, ...(comment ? { comment } : {}) }, player);
  });
}
