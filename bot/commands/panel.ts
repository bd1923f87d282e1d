import { ButtonStyle, ComponentType, PermissionFlagsBits, SlashCommandBuilder } from 'discord.js';
import { listCategories } from '../../db/categories.js';
import { recordGuildAction } from '../../db/guilds.js';
import { withTenant } from '../../db/tenant.js';
import { upsertDiscordUser } from '../../db/users.js';
import { postMessage } from '../../lib/discord/rest.js';
import { AppError } from '../../lib/errors.js';
import { profileOf, resolveWho } from '../auth.js';
import { personOf } from '../discord-api.js';
import { type CommandHandler, respond } from '../handler.js';

const data = new SlashCommandBuilder()
  .setName('panel')
  .setDescription('Post a ticket panel in this channel')
  .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
  .setDMPermission(false)
  .addStringOption((o) => o.setName('title').setDescription('Panel title').setMaxLength(256))
  .addStringOption((o) => o.setName('text').setDescription('Panel text').setMaxLength(2000))
  .addStringOption((o) =>
    o
      .setName('style')
      .setDescription('Buttons (up to 25 categories) or a select menu')
      .addChoices({ name: 'buttons', value: 'buttons' }, { name: 'select menu', value: 'select' }),
  );

export const panel: CommandHandler = {
  data: data.toJSON(),
  ack: 'defer',
  async execute(i, ctx) {
    const who = await resolveWho(ctx.deps, i.guildId, personOf(i), ctx.requestId);
    if (
      !who.isGuildAdmin &&
      !who.permissions.has('categories.manage') &&
      !who.permissions.has('guilds.manage')
    )
      throw new AppError(
        'forbidden',
        'You need Manage Server on Discord or the `categories.manage` permission.',
      );
    const categories = await withTenant(ctx.deps.pool, who.orgId, (tx) => listCategories(tx));
    ctx.deps.categories.set(who.orgId, categories);
    if (categories.length === 0)
      throw new AppError(
        'bad_request',
        'There are no ticket categories yet. Add one with `/setup category`.',
      );
    if (categories.length > 25)
      throw new AppError('bad_request', 'A panel offers at most 25 categories; archive some first.');
    const style = i.options.getString('style') ?? (categories.length <= 5 ? 'buttons' : 'select');
    const components =
      style === 'select'
        ? [
            {
              type: ComponentType.ActionRow,
              components: [
                {
                  type: ComponentType.StringSelect,
                  custom_id: 'gm:open',
                  placeholder: 'Choose a topic',
                  options: categories.map((c) => ({
                    label: c.name.slice(0, 100),
                    value: c.id,
                    ...(c.description ? { description: c.description.slice(0, 100) } : {}),
                  })),
                },
              ],
            },
          ]
        : Array.from({ length: Math.ceil(categories.length / 5) }, (_, row) => ({
            type: ComponentType.ActionRow,
            components: categories.slice(row * 5, row * 5 + 5).map((c) => ({
              type: ComponentType.Button,
              style: ButtonStyle.Primary,
              custom_id: `gm:open:${c.id}`,
              label: c.name.slice(0, 80),
            })),
          }));
    const posted = await postMessage(ctx.deps.client.rest, i.channelId, {
      embeds: [
        {
          title: i.options.getString('title') ?? 'Need help?',
          description:
            i.options.getString('text') ?? 'Pick a topic below to open a private ticket with our team.',
        },
      ],
      components,
    });
    const actor = who.staff ?? {
      type: 'user' as const,
      id: (await upsertDiscordUser(ctx.deps.pool, profileOf(who.person))).id,
      requestId: ctx.requestId,
    };
    await withTenant(ctx.deps.pool, who.orgId, (tx) =>
      recordGuildAction(
        tx,
        who.guildId,
        'guild.panel_posted',
        { channelId: i.channelId, messageId: posted.id, categories: categories.map((c) => c.id), style },
        actor,
      ),
    );
    await respond(i, 'Panel posted.');
  },
};
