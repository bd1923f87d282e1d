import { SlashCommandBuilder } from 'discord.js';
import { t as say } from '../../lib/i18n/messages.js';
import { whoAndTicketHere } from '../auth.js';
import { cannedChoices } from '../autocomplete.js';
import { personOf } from '../discord-api.js';
import { type CommandHandler, respond } from '../handler.js';
import { sendStaffReply } from '../replying.js';
import { localeOf } from '../say.js';

const data = new SlashCommandBuilder()
  .setName('reply')
  .setDescription('Reply to the player, with a canned reply and/or text')
  .setDMPermission(false)
  .addStringOption((o) =>
    o.setName('canned').setDescription('Canned reply shortcut').setMaxLength(50).setAutocomplete(true),
  )
  .addStringOption((o) => o.setName('text').setDescription('Your text').setMaxLength(2000));

export const replyCommand: CommandHandler = {
  data: data.toJSON(),
  autocomplete: (i, deps) => cannedChoices(i, deps),
  ack: 'defer',
  async execute(i, ctx) {
    const { who, ticket } = await whoAndTicketHere(
      ctx.deps,
      i.guildId,
      i.channelId,
      personOf(i),
      ctx.requestId,
    );
    await sendStaffReply(ctx, who, ticket, {
      canned: i.options.getString('canned'),
      text: i.options.getString('text'),
    });
    await respond(i, say(localeOf(i), 'reply.sent'));
  },
};
