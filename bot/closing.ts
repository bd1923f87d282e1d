import { ButtonStyle, ComponentType } from 'discord.js';
import type { Actor } from '../db/changes.js';
import { type DiscordTicket, discordTicket, transcriptLines } from '../db/discord-sync.js';
import { withTenant } from '../db/tenant.js';
import { close, rate, reopen } from '../db/tickets.js';
import { AppError } from '../lib/errors.js';
import { guildOf, playerActor, type Who } from './auth.js';
import { modifyChannel, postFile, postMessage, setMemberAccess } from './discord-api.js';
import type { Ctx } from './handler.js';
import { refreshSummary } from './tickets.js';
import { renderTranscript } from './transcripts.js';

/** Staff with tickets.close, or the player who opened the ticket. */
export async function closeActor(ctx: Ctx, who: Who, ticket: DiscordTicket): Promise<Actor> {
  if (who.staff && who.permissions.has('tickets.close')) return who.staff;
  if (ticket.requesterDiscordId === who.person.id)
    return withTenant(ctx.deps.pool, who.orgId, (tx) => playerActor(tx, who.person));
  throw new AppError(
    'forbidden',
    'Only staff with the `tickets.close` permission or the ticket’s owner can close it.',
  );
}

export function ratingRows(ticketId: string): unknown[] {
  return [
    {
      type: ComponentType.ActionRow,
      components: [1, 2, 3, 4, 5].map((n) => ({
        type: ComponentType.Button,
        style: ButtonStyle.Secondary,
        custom_id: `gm:rate:${ticketId}:${n}`,
        label: '★'.repeat(n),
      })),
    },
  ];
}

/**
 * Closes a ticket: the status change (history, audit, outbox) first, then the transcript into
 * storage and the transcript channel, the rating offer to the player, and finally lock + archive.
 * The Discord steps after the close are best effort and reported, never undoing the close.
 */
export async function closeTicketFlow(
  ctx: Ctx,
  who: Who,
  ticket: DiscordTicket,
  reason: string | null,
): Promise<{ warnings: string[] }> {
  const { deps } = ctx;
  const actor = await closeActor(ctx, who, ticket);
  if (ticket.status === 'closed')
    throw new AppError('invalid_transition', `Ticket #${ticket.number} is already closed.`);
  const { settings, lines, closed } = await withTenant(deps.pool, who.orgId, async (tx) => {
    await close(tx, { ticketId: ticket.id, ...(reason ? { reason } : {}) }, actor);
    const guild = await guildOf(tx, who.guildId);
    return {
      settings: guild.settings,
      lines: await transcriptLines(tx, ticket.id),
      closed: await discordTicket(tx, ticket.id),
    };
  });
  const warnings: string[] = [];
  const html = renderTranscript(closed, lines, reason);
  const key = `orgs/${who.orgId}/transcripts/${ticket.id}.html`;
  let url: string | null = null;
  try {
    url = (await deps.putObject(key, Buffer.from(html), 'text/html; charset=utf-8')).url;
  } catch (err) {
    ctx.log.error({ err }, 'could not store the transcript');
    warnings.push('the transcript could not be stored');
  }
  if (settings.transcriptChannelId) {
    try {
      await postFile(
        deps.client,
        settings.transcriptChannelId,
        {
          content:
            `Ticket #${ticket.number} · ${ticket.subject}\nClosed by <@${who.person.id}>${reason ? `: ${reason}` : ''}${url ? `\nTranscript: ${url}` : ''}`.slice(
              0,
              2000,
            ),
          allowed_mentions: { parse: [] },
        },
        { name: `ticket-${ticket.number}.html`, data: Buffer.from(html), contentType: 'text/html' },
      );
    } catch (err) {
      ctx.log.warn({ err }, 'could not post to the transcript channel');
      warnings.push('the transcript channel could not be reached');
    }
  }
  // Before the lock: messages in a locked, archived thread cannot be edited.
  await refreshSummary(ctx, who.orgId, ticket.id);
  const channelId = ticket.discordChannelId;
  if (channelId) {
    const auditReason = `GameMod: ticket #${ticket.number} closed by ${who.person.username}`;
    try {
      await postMessage(deps.client, channelId, {
        content: `${ticket.requesterDiscordId ? `<@${ticket.requesterDiscordId}> ` : ''}This ticket was closed${reason ? `: ${reason}` : '.'} How did we do? Rate it once, from 1 to 5 stars.`,
        components: ticket.rating === null ? ratingRows(ticket.id) : [],
        allowed_mentions: { users: ticket.requesterDiscordId ? [ticket.requesterDiscordId] : [] },
      });
      if (ticket.discordMode === 'channel') {
        // Read-only rather than removed: the player must still reach the rating buttons above.
        if (ticket.requesterDiscordId)
          await setMemberAccess(deps.client, channelId, ticket.requesterDiscordId, 'read', auditReason);
      } else {
        await modifyChannel(deps.client, channelId, { locked: true, archived: true }, auditReason);
      }
    } catch (err) {
      ctx.log.warn({ err }, 'could not lock the ticket channel');
      warnings.push('the thread could not be locked');
    }
  }
  return { warnings };
}

export async function reopenTicketFlow(
  ctx: Ctx,
  who: Who,
  ticket: DiscordTicket,
  actor: Actor,
): Promise<void> {
  await withTenant(ctx.deps.pool, who.orgId, (tx) => reopen(tx, ticket.id, actor));
  const channelId = ticket.discordChannelId;
  if (!channelId) return;
  const reason = `GameMod: ticket #${ticket.number} reopened by ${who.person.username}`;
  if (ticket.discordMode === 'channel') {
    if (ticket.requesterDiscordId)
      await setMemberAccess(ctx.deps.client, channelId, ticket.requesterDiscordId, true, reason);
  } else {
    await modifyChannel(ctx.deps.client, channelId, { archived: false, locked: false }, reason);
  }
  await postMessage(ctx.deps.client, channelId, {
    content: `Ticket reopened by <@${who.person.id}>.`,
    allowed_mentions: { parse: [] },
  });
}

/** The player's 1–5 rating with an optional comment: once per ticket, only by its requester. */
export async function rateFlow(
  ctx: Ctx,
  who: Who,
  ticket: DiscordTicket,
  rating: number,
  comment: string | undefined,
): Promise<void> {
  if (ticket.requesterDiscordId !== who.person.id)
    throw new AppError('forbidden', 'Only the player who opened this ticket can rate it.');
  if (!Number.isInteger(rating) || rating < 1 || rating > 5)
    throw new AppError('validation_failed', 'A rating is from 1 to 5.');
  if (comment && comment.length > 1000)
    throw new AppError('validation_failed', 'The comment is too long: at most 1,000 characters.');
  await withTenant(ctx.deps.pool, who.orgId, async (tx) => {
    const player = await playerActor(tx, who.person);
    await rate(tx, { ticketId: ticket.id, rating, ...(comment ? { comment } : {}) }, player);
  });
}
