import type { ButtonInteraction, ChatInputCommandInteraction } from 'discord.js';
import { z } from 'zod';
import { answerCloseRequest, requestClose } from '../db/close-requests.js';
import { withTenant } from '../db/tenant.js';
import { t as say } from '../lib/i18n/messages.js';
import { playerActor, requirePermission, resolveWho, whoAndTicketHere } from './auth.js';
import { personOf } from './discord-api.js';
import { type ComponentHandler, type Ctx, respond } from './handler.js';
import { localeOf, refuse } from './say.js';

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
    throw refuse('validation_failed', 'closeRequest.after');
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
  if (reason && reason.length > 500) throw refuse('validation_failed', 'refuse.reasonTooLong');
  if (!ticket.requesterDiscordId)
    throw refuse('invalid_transition', 'closeRequest.notOnDiscord', { number: ticket.number });
  const request = await withTenant(ctx.deps.pool, who.orgId, (tx) =>
    requestClose(
      tx,
      { ticketId: ticket.id, ...(reason ? { reason } : {}), ...(afterMinutes ? { afterMinutes } : {}) },
      actor,
    ),
  );
  const due = Math.floor(new Date(request.dueAt).getTime() / 1000);
  return say(localeOf(i), 'closeRequest.asked', {
    player: ticket.requesterDiscordId,
    number: ticket.number,
    when: `<t:${due}:R>`,
  });
}

/** The request and the answer, then, on the buttons sent by DM, the ticket's server. */
const buttonArgs = z.tuple([z.uuid(), z.enum(['yes', 'no'])]).rest(z.string().regex(/^\d{17,20}$/));

/**
 * The player's answer: only the ticket's requester; anyone else is told so and nothing changes.
 * A modmail player answers in their DM, where a press carries no server: the button names it.
 */
export const closeRequestButton: ComponentHandler<ButtonInteraction> = {
  action: 'closereq',
  ack: 'defer',
  async execute(i, ctx, args) {
    const parsed = buttonArgs.safeParse(args.slice(0, 3));
    if (!parsed.success) throw refuse('bad_request', 'error.staleButton');
    const [requestId, answer, guildId] = parsed.data;
    const who = await resolveWho(ctx.deps, i.guildId ?? guildId ?? null, personOf(i), ctx.requestId, {
      join: false,
    });
    const { ticket } = await withTenant(ctx.deps.pool, who.orgId, async (tx) =>
      answerCloseRequest(tx, { requestId, confirm: answer === 'yes' }, await playerActor(tx, who.person)),
    );
    await respond(
      i,
      say(localeOf(i), answer === 'yes' ? 'closeRequest.confirmed' : 'closeRequest.declined', {
        number: ticket.number,
      }),
    );
  },
};
