import { type CannedReply, getCannedReply, renderCannedReply } from '../db/canned-replies.js';
import { type DiscordTicket, ticketWebhook } from '../db/discord-sync.js';
import { withTenant } from '../db/tenant.js';
import { reply } from '../db/tickets.js';
import { AppError } from '../lib/errors.js';
import { requirePermission, type Who } from './auth.js';
import { executeWebhook, postMessage } from './discord-api.js';
import type { Ctx } from './handler.js';

/**
 * A staff reply written from Discord (a canned reply, optionally with text): posted through the
 * ticket's channel webhook under the staff member's name and avatar, then recorded as the
 * staff's reply keyed on the posted message's id. The gateway's echo of that post is recognised
 * by its webhook and never recorded twice. If recording fails, the post is deleted again.
 */
export async function sendStaffReply(
  ctx: Ctx,
  who: Who,
  ticket: DiscordTicket,
  opts: { canned?: string | null; text?: string | null },
): Promise<{ body: string; canned: CannedReply | null }> {
  const actor = requirePermission(who, 'tickets.reply');
  const { deps } = ctx;
  if (!opts.canned && !opts.text?.trim())
    throw new AppError('validation_failed', 'Give a canned reply or some text.');
  if (ticket.status === 'closed')
    throw new AppError('invalid_transition', `Ticket #${ticket.number} is closed; reopen it first.`);
  const channelId = ticket.discordChannelId;
  if (!channelId) throw new AppError('bad_request', 'This ticket has no Discord channel.');
  const { canned, hook } = await withTenant(deps.pool, who.orgId, async (tx) => ({
    canned: opts.canned ? await getCannedReply(tx, opts.canned) : null,
    hook: await ticketWebhook(tx, ticket.id),
  }));
  const name = who.person.globalName || who.person.username;
  const parts = [
    canned
      ? renderCannedReply(canned.body, {
          player: ticket.requesterName ?? undefined,
          ticket: ticket.number,
          subject: ticket.subject,
          agent: name,
        })
      : '',
    opts.text?.trim() ?? '',
  ].filter(Boolean);
  const body = parts.join('\n\n');
  if (body.length > 2000)
    throw new AppError('validation_failed', 'The reply is too long for Discord: at most 2,000 characters.');
  const posted = hook
    ? await executeWebhook(
        deps.client,
        { id: hook.id, token: deps.box.open(hook.token) },
        {
          content: body,
          username: name.slice(0, 80),
          ...(who.person.avatar
            ? { avatar_url: `https://cdn.discordapp.com/avatars/${who.person.id}/${who.person.avatar}.png` }
            : {}),
          allowed_mentions: { parse: [] },
        },
        ticket.discordMode === 'channel' ? undefined : channelId,
      )
    : await postMessage(deps.client, channelId, {
        content: `**${name}:** ${body}`.slice(0, 2000),
        allowed_mentions: { parse: [] },
      });
  try {
    await withTenant(deps.pool, who.orgId, (tx) =>
      reply(tx, { ticketId: ticket.id, body, origin: 'discord', externalId: posted.id }, actor),
    );
  } catch (err) {
    await deps.client.rest.delete(`/channels/${channelId}/messages/${posted.id}`).catch(() => {});
    throw err;
  }
  return { body, canned };
}
