import type { StringSelectMenuInteraction } from 'discord.js';
import { snowflake } from '../../db/schemas.js';
import { parseInput } from '../../db/validate.js';
import { t as say } from '../../lib/i18n/messages.js';
import { categoryChoice, DmSearchBusy, dmCategories, dmGuild, openDmTicket, personOf } from '../dm-open.js';
import { readPending } from '../dm-store.js';
import type { ComponentHandler, Ctx } from '../handler.js';
import { localeOf, refuse } from '../say.js';

/**
 * The selects in a player's DM: the server (`gm:dmguild`), then the category
 * (`gm:dmcat:<guild>`). Each edits the prompt it sits on (deferUpdate first, no I/O before it).
 * The choice is checked again (a linked server the player is in, a live category of its
 * organization), and the ticket opens with what the player wrote meanwhile. A check that would
 * wait too long behind other players' look-ups (DmSearchBusy) leaves the prompt's select in
 * place and asks the player to choose again: what they wrote stays kept for the next choice.
 */

async function orBusy(i: StringSelectMenuInteraction, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (!(err instanceof DmSearchBusy)) throw err;
    await i.editReply({ content: say(localeOf(i), 'dm.busyChoice'), components: i.message.components });
  }
}

async function chosenGuild(ctx: Ctx, i: StringSelectMenuInteraction, guildId: string) {
  // Only the chosen server is asked about again, not every server the first DM searched.
  const guild = await dmGuild(ctx.deps, i.user.id, guildId);
  if (!guild) throw refuse('not_found', 'dm.noServer');
  return guild;
}

async function openIn(
  ctx: Ctx,
  i: StringSelectMenuInteraction,
  guildId: string,
  categoryId: string | null,
): Promise<string> {
  const pending = await readPending(ctx.deps, i.user.id);
  // A select in a DM carries the player's client language: the ticket's, and the answer's.
  const locale = localeOf(i);
  if (!pending.length) return say(locale, 'dm.expiredChoice');
  const guild = await chosenGuild(ctx, i, guildId);
  return openDmTicket(ctx, personOf(i.user), guild, categoryId, pending, locale);
}

async function chooseGuild(i: StringSelectMenuInteraction, ctx: Ctx): Promise<void> {
  const guildId = parseInput(snowflake, i.values[0] ?? '');
  if (!(await readPending(ctx.deps, i.user.id)).length)
    return void (await i.editReply({ content: say(localeOf(i), 'dm.expiredChoice'), components: [] }));
  const guild = await chosenGuild(ctx, i, guildId);
  const categories = await dmCategories(ctx.deps, guild.orgId);
  if (categories.length > 1) {
    await i.editReply(categoryChoice(guild, categories, localeOf(i)) as never);
    return;
  }
  const text = await openIn(ctx, i, guildId, categories[0]?.id ?? null);
  await i.editReply({ content: text, components: [] });
}

export const dmGuildSelect: ComponentHandler<StringSelectMenuInteraction> = {
  action: 'dmguild',
  ack: 'self',
  async execute(i, ctx) {
    await i.deferUpdate();
    if (i.guildId) throw refuse('bad_request', 'dm.notHere');
    await orBusy(i, () => chooseGuild(i, ctx));
  },
};

export const dmCategorySelect: ComponentHandler<StringSelectMenuInteraction> = {
  action: 'dmcat',
  ack: 'self',
  async execute(i, ctx, args) {
    await i.deferUpdate();
    if (i.guildId) throw refuse('bad_request', 'dm.notHere');
    const guildId = parseInput(snowflake, args[0] ?? '');
    const chosen = i.values[0] ?? '';
    await orBusy(i, async () => {
      const guild = await chosenGuild(ctx, i, guildId);
      // Only a live category of that server's organization, whatever the select was sent with.
      const category = (await dmCategories(ctx.deps, guild.orgId)).find((c) => c.id === chosen);
      if (!category) throw refuse('not_found', 'dm.categoryGone');
      const text = await openIn(ctx, i, guildId, category.id);
      await i.editReply({ content: text, components: [] });
    });
  },
};
