import type { ButtonInteraction, StringSelectMenuInteraction } from 'discord.js';
import { buildForm, categoryForModal } from '../forms.js';
import type { ComponentHandler } from '../handler.js';
import { localeOf } from '../say.js';

/** A panel's button (`gm:open:<category>`) or select (`gm:open`): shows the category's form. */
export const openButton: ComponentHandler<ButtonInteraction | StringSelectMenuInteraction> = {
  action: 'open',
  ack: 'self',
  async execute(i, ctx, args) {
    const categoryId = i.isStringSelectMenu() ? (i.values[0] ?? null) : (args[0] ?? null);
    const category = await categoryForModal(ctx.deps, i.guildId, categoryId, i.createdTimestamp);
    await i.showModal(buildForm(category, localeOf(i)));
  },
};
