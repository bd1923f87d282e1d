import { Routes, type StringSelectMenuInteraction } from 'discord.js';
import { z } from 'zod';
import { id } from '../../db/schemas.js';
import { parseInput } from '../../db/validate.js';
import { t as say } from '../../lib/i18n/messages.js';
import { dmBody, personOf } from '../dm-open.js';
import { conversationsOf, recordOn } from '../dm-route.js';
import { clearUnrouted, readUnrouted } from '../dm-store.js';
import { RECORDED } from '../events/direct-messages.js';
import type { ComponentHandler } from '../handler.js';
import { localeOf, refuse } from '../say.js';

const choice = z.tuple([id, id]);

/**
 * The select in a player's DM asking which of their tickets, with different organizations, what
 * they wrote is for (`gm:dmticket`, value `<org>:<ticket>`). Edits the prompt it sits on
 * (deferUpdate first, no I/O before it). Only one of the player's own open conversations is
 * taken, whatever the select was sent with; the DMs kept meanwhile are recorded there.
 */
export const dmTicketSelect: ComponentHandler<StringSelectMenuInteraction> = {
  action: 'dmticket',
  ack: 'self',
  async execute(i, ctx) {
    await i.deferUpdate();
    if (i.guildId) throw refuse('bad_request', 'dm.notHere');
    const [orgId, ticketId] = parseInput(choice, (i.values[0] ?? '').split(':'));
    const locale = localeOf(i);
    const kept = await readUnrouted(ctx.deps, i.user.id);
    if (!kept.length)
      return void (await i.editReply({ content: say(locale, 'dm.expiredAnswer'), components: [] }));
    const to = (await conversationsOf(ctx.deps, i.user.id)).find(
      (c) => c.orgId === orgId && c.ticketId === ticketId,
    );
    if (!to || !(await recordOn(ctx.deps, personOf(i.user), to, kept, dmBody)))
      throw refuse('not_found', 'dm.ticketGone');
    await clearUnrouted(ctx.deps, i.user.id);
    await i.editReply({
      content: say(locale, 'dm.sentTo', { number: to.number, org: to.orgName }).slice(0, 2000),
      components: [],
    });
    for (const m of kept)
      await ctx.deps.client.rest
        .put(Routes.channelMessageOwnReaction(i.channelId, m.id, encodeURIComponent(RECORDED)))
        .catch((err: unknown) => ctx.log.warn({ err }, 'could not mark a direct message as recorded'));
  },
};
