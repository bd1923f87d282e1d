import { SlashCommandBuilder } from 'discord.js';
import { listCannedReplies } from '../../db/canned-replies.js';
import { withTenant } from '../../db/tenant.js';
import { t as say } from '../../lib/i18n/messages.js';
import { requirePermission, resolveWho } from '../auth.js';
import { cannedChoices } from '../autocomplete.js';
import { personOf } from '../discord-api.js';
import { type CommandHandler, respond } from '../handler.js';
import { sendStaffReply } from '../replying.js';
import { localeOf } from '../say.js';
import { ticketHere } from '../tickets.js';

const data = new SlashCommandBuilder()
  .setName('tag')
  .setDescription('List canned replies, or send one into this ticket')
  .setDMPermission(false)
  .addStringOption((o) =>
    o.setName('name').setDescription('Shortcut to send').setMaxLength(50).setAutocomplete(true),
  )
  .addStringOption((o) => o.setName('search').setDescription('Filter the list').setMaxLength(50));

export const tag: CommandHandler = {
  data: data.toJSON(),
  autocomplete: (i, deps) => cannedChoices(i, deps),
  ack: 'defer',
  async execute(i, ctx) {
    const who = await resolveWho(ctx.deps, i.guildId, personOf(i), ctx.requestId);
    const name = i.options.getString('name');
    if (name) {
      const { ticket } = await ticketHere(ctx, i.guildId, i.channelId);
      await sendStaffReply(ctx, who, ticket, { canned: name });
      await respond(i, say(localeOf(i), 'tag.sent', { name }));
      return;
    }
    requirePermission(who, 'tickets.reply');
    const search = i.options.getString('search') ?? undefined;
    const list = await withTenant(ctx.deps.pool, who.orgId, (tx) =>
      listCannedReplies(tx, search ? { search } : {}),
    );
    await respond(
      i,
      list.length
        ? list
            .map((c) => `\`${c.shortcut}\` · ${c.title}`)
            .join('\n')
            .slice(0, 2000)
        : say(localeOf(i), 'tag.none'),
    );
  },
};
