import { PermissionFlagsBits, SlashCommandBuilder } from 'discord.js';
import { listCategories } from '../../db/categories.js';
import { recordPanel } from '../../db/discord-panels.js';
import { withTenant } from '../../db/tenant.js';
import { upsertDiscordUser } from '../../db/users.js';
import { panelHash, panelMessage } from '../../lib/discord/panels.js';
import { postMessage } from '../../lib/discord/rest.js';
import { pickLocale } from '../../lib/i18n/locales.js';
import { t as say } from '../../lib/i18n/messages.js';
import { profileOf, resolveWho } from '../auth.js';
import { personOf } from '../discord-api.js';
import { type CommandHandler, respond } from '../handler.js';
import { localeOf, refuse } from '../say.js';

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
      throw refuse('forbidden', 'panel.permission');
    const categories = await withTenant(ctx.deps.pool, who.orgId, (tx) => listCategories(tx));
    ctx.deps.categories.set(who.orgId, categories);
    if (categories.length === 0) throw refuse('bad_request', 'panel.noCategories');
    if (categories.length > 25) throw refuse('bad_request', 'panel.tooMany');
    const style = (i.options.getString('style') ?? (categories.length <= 5 ? 'buttons' : 'select')) as
      | 'buttons'
      | 'select';
    // Everyone in the channel reads the panel: the server's language, as the workers redraw it.
    const serverLocale = pickLocale(i.guildLocale);
    const look = {
      title: i.options.getString('title') ?? say(serverLocale, 'panel.defaultTitle'),
      description: i.options.getString('text') ?? say(serverLocale, 'panel.defaultText'),
      style,
    };
    const message = panelMessage(look, categories, serverLocale);
    const posted = await postMessage(ctx.deps.client.rest, i.channelId, message);
    const actor = who.staff ?? {
      type: 'user' as const,
      id: (await upsertDiscordUser(ctx.deps.pool, profileOf(who.person))).id,
      requestId: ctx.requestId,
    };
    // Recorded so the workers edit it in place when a category it offers changes.
    await withTenant(ctx.deps.pool, who.orgId, (tx) =>
      recordPanel(
        tx,
        {
          guildId: who.guildId,
          channelId: i.channelId,
          messageId: posted.id,
          ...look,
          renderedHash: panelHash(message),
          categoryIds: categories.map((c) => c.id),
        },
        actor,
      ),
    );
    await respond(i, say(localeOf(i), 'panel.posted'));
  },
};
