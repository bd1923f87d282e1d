import type { ButtonInteraction, ChatInputCommandInteraction } from 'discord.js';
import { z } from 'zod';
import { answerCloseRequest, requestClose } from '../db/close-requests.js';
import { withTenant } from '../db/tenant.js';
import { AppError } from '../lib/errors.js';
import { playerActor, requirePermission, resolveWho, whoAndTicketHere } from './auth.js';
import { personOf } from './discord-api.js';
import { type ComponentHandler, type Ctx, respond } from './handler.js';

/**
 * `/ticket close-request [reason] [after]` and the player's Confirm / Decline buttons. A slash
 * command rather than a button on the summary: staff give a reason and a wait with it, and the
 * summary's buttons stay the ones the player may press too (a button there would invite the
 * player to ask themselves). The bot records the request and answers; the message with the
 * buttons is posted by the workers' `discord.ticket_sync`, after the commit, and its expiry is a
 * delayed job in Redis keyed by the request.
 */

const DURATION = /^\s*(\d{1,5})\s*(m|min|mins|minutes?|h|hours?|d|days?)?\s*$/i;
const UNIT_MINUTES: Record<string, number> = { m: 1, h: 60, d: 1440 };
const MAX_MINUTES = 43_200;

/** "30m", "2h", "3d" or a bare number of minutes; 1 minute to 30 days. */
export function parseAfter(text: string): number {
  const m = DURATION.exec(text);
  const minutes = m ? Number(m[1]) * (UNIT_MINUTES[(m[2] ?? 'm')[0]?.toLowerCase() ?? 'm'] ?? 1) : Number.NaN;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_MINUTES)
    throw new AppError(
      'validation_failed',
      '“after” is a wait like 30m, 2h or 3d: from 1 minute to 30 days.',
    );
  return minutes;
}

export async function requestCloseFromDiscord(i: ChatInputCommandInteraction, ctx: Ctx): Promise<string> {
  const { who, ticket } = await whoAndTicketHere(
    ctx.deps,
    i.guildId,
    i.channelId,
    personOf(i),
    ctx.requestId,
  );
  const actor = requirePermission(who, 'tickets.close');
  const afterText = i.options.getString('after');
  const afterMinutes = afterText ? parseAfter(afterText) : undefined;
  const reason = i.options.getString('reason')?.trim() || undefined;
  if (reason && reason.length > 500)
    throw new AppError('validation_failed', 'The reason is too long: at most 500 characters.');
  if (!ticket.requesterDiscordId)
    throw new AppError(
      'invalid_transition',
      `The player of ticket #${ticket.number} is not on Discord and cannot answer here; close it with \`/ticket close\`.`,
    );
  const request = await withTenant(ctx.deps.pool, who.orgId, (tx) =>
    requestClose(
      tx,
      { ticketId: ticket.id, ...(reason ? { reason } : {}), ...(afterMinutes ? { afterMinutes } : {}) },
      actor,
    ),
  );
  const due = Math.floor(new Date(request.dueAt).getTime() / 1000);
  return `Asked <@${ticket.requesterDiscordId}> to confirm closing ticket #${ticket.number}. Without an answer it closes <t:${due}:R>; a reply from them or a reopen withdraws the request.`;
}

const buttonArgs = z.tuple([z.uuid(), z.enum(['yes', 'no'])]);

/** The player's answer: only the ticket's requester; anyone else is told so and nothing changes. */
export const closeRequestButton: ComponentHandler<ButtonInteraction> = {
  action: 'closereq',
  ack: 'defer',
  async execute(i, ctx, args) {
    const parsed = buttonArgs.safeParse(args.slice(0, 2));
    if (!parsed.success) throw new AppError('bad_request', 'This button is not valid any more.');
    const [requestId, answer] = parsed.data;
    const who = await resolveWho(ctx.deps, i.guildId, personOf(i), ctx.requestId, { join: false });
    const { ticket } = await withTenant(ctx.deps.pool, who.orgId, async (tx) =>
      answerCloseRequest(tx, { requestId, confirm: answer === 'yes' }, await playerActor(tx, who.person)),
    );
    await respond(
      i,
      answer === 'yes'
        ? `Thanks! Ticket #${ticket.number} is closed.`
        : `Got it: ticket #${ticket.number} stays open, and staff have been told you still need help.`,
    );
  },
};
