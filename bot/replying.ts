import { type APIMessage, DiscordAPIError } from 'discord.js';
import { type CannedReply, getCannedReply, renderCannedReply } from '../db/canned-replies.js';
import { cannedVariablesToSend } from '../db/canned-variables.js';
import { type DiscordTicket, setDiscordSide, ticketWebhook } from '../db/discord-sync.js';
import { withTenant } from '../db/tenant.js';
import { reply } from '../db/tickets.js';
import { postMessage } from '../lib/discord/rest.js';
import { requirePermission, type Who } from './auth.js';
import { deleteMessage, ensureWebhook, executeWebhook, getChannel } from './discord-api.js';
import type { Ctx } from './handler.js';
import { refuse } from './say.js';

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
  if (!opts.canned && !opts.text?.trim()) throw refuse('validation_failed', 'reply.empty');
  if (ticket.status === 'closed')
    throw refuse('invalid_transition', 'reply.closed', { number: ticket.number });
  const channelId = ticket.discordChannelId;
  if (!channelId) throw refuse('bad_request', 'refuse.noChannel');
  const { canned, hook, vars } = await withTenant(deps.pool, who.orgId, async (tx) => ({
    canned: opts.canned ? await getCannedReply(tx, opts.canned) : null,
    hook: await ticketWebhook(tx, ticket.id),
    // Posted as rendered: a variable the ticket lacks reads as a neutral word, never raw.
    vars: opts.canned ? await cannedVariablesToSend(tx, ticket.id) : null,
  }));
  const name = who.person.globalName || who.person.username;
  const parts = [
    canned ? renderCannedReply(canned.body, { ...vars, agent: name }) : '',
    opts.text?.trim() ?? '',
  ].filter(Boolean);
  const body = parts.join('\n\n');
  if (body.length > 2000) throw refuse('validation_failed', 'reply.tooLong');
  const asBot = () =>
    postMessage(deps.client.rest, channelId, {
      content: `**${name}:** ${body}`.slice(0, 2000),
      allowed_mentions: { parse: [] },
    });
  let posted: APIMessage;
  if (!hook) posted = await asBot();
  else {
    try {
      posted = await executeWebhook(
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
      );
    } catch (err) {
      // A name Discord refuses for webhooks ("discord", "clyde": 50035) or a deleted webhook
      // (10015): the reply still goes out, posted by the bot under the staff member's name.
      if (!(err instanceof DiscordAPIError) || (err.code !== 50035 && err.code !== 10015)) throw err;
      posted = await asBot();
      if (err.code === 10015) await replaceWebhook(ctx, who.orgId, ticket, hook.id, channelId);
    }
  }
  try {
    await withTenant(deps.pool, who.orgId, (tx) =>
      reply(tx, { ticketId: ticket.id, body, origin: 'discord', externalId: posted.id }, actor),
    );
  } catch (err) {
    await deleteMessage(deps.client, channelId, posted.id).catch(() => {});
    throw err;
  }
  return { body, canned };
}

/**
 * The ticket's webhook is gone: forget it, make (or find) a new one on the channel, and record it
 * on the ticket so the workers use it too. Best effort: the reply itself already went out.
 */
async function replaceWebhook(
  ctx: Ctx,
  orgId: string,
  ticket: DiscordTicket,
  goneId: string,
  channelId: string,
): Promise<void> {
  const { deps } = ctx;
  try {
    for (const [key, w] of deps.webhooks) if (w.id === goneId) deps.webhooks.delete(key);
    const parent =
      ticket.discordMode === 'channel'
        ? channelId
        : ((await getChannel(deps.client, channelId)).parent_id ?? null);
    if (!parent) return;
    const hook = await ensureWebhook(deps, parent);
    await withTenant(deps.pool, orgId, (tx) =>
      setDiscordSide(tx, {
        ticketId: ticket.id,
        webhookId: hook.id,
        webhookToken: deps.box.seal(hook.token),
      }),
    );
  } catch (err) {
    ctx.log.warn({ err, ticketId: ticket.id }, 'could not replace the deleted channel webhook');
  }
}
