import {
  ApplicationCommandType,
  ContextMenuCommandBuilder,
  GuildMember,
  type MessageContextMenuCommandInteraction,
  type UserContextMenuCommandInteraction,
} from 'discord.js';
import { withTenant } from '../../db/tenant.js';
import { postMessage } from '../../lib/discord/rest.js';
import { pickLocale } from '../../lib/i18n/locales.js';
import { t as say } from '../../lib/i18n/messages.js';
import { reportedMessageSubject, ticketForSubject } from '../../lib/i18n/subjects.js';
import { guildOf, requirePermission, resolveWho } from '../auth.js';
import { personOf, threadParentOr } from '../discord-api.js';
import { type CommandHandler, respond } from '../handler.js';
import { localeOf, refuse } from '../say.js';
import { ticketLink } from '../ticket-text.js';
import { openFromDiscord } from '../tickets.js';

export const OPEN_ABOUT_MESSAGE = 'Open a ticket about this message';
export const OPEN_FOR_USER = 'Open a ticket for this user';

/** Report a message: a ticket that quotes it with a link. */
export const openAboutMessage: CommandHandler<MessageContextMenuCommandInteraction> = {
  data: new ContextMenuCommandBuilder()
    .setName(OPEN_ABOUT_MESSAGE)
    .setType(ApplicationCommandType.Message)
    .setDMPermission(false)
    .toJSON(),
  ack: 'defer',
  async execute(i, ctx) {
    const who = await resolveWho(ctx.deps, i.guildId, personOf(i), ctx.requestId);
    const m = i.targetMessage;
    const url = `https://discord.com/channels/${i.guildId}/${m.channelId}/${m.id}`;
    const content = m.content ?? '';
    const { ticket, created } = await openFromDiscord(ctx, {
      guildId: who.guildId,
      channelId: threadParentOr(i),
      interactionId: i.id,
      requester: who.person,
      locale: i.locale ?? i.guildLocale,
      categoryId: null,
      // Stored with the ticket and read by staff everywhere: the server's language.
      subject: reportedMessageSubject(pickLocale(i.guildLocale), m.author.username),
      answers: [
        {
          key: 'reported_message',
          label: 'Message text',
          labelKey: 'summary.answerMessage',
          value: content || '(no text)',
        },
      ],
      quote: { url, authorId: m.author.id, content },
    });
    if (created) {
      // Reports also go to the moderators' alert channel, when the server has one.
      const alertChannelId = await withTenant(
        ctx.deps.pool,
        who.orgId,
        async (tx) => (await guildOf(tx, who.guildId)).settings.alertChannelId,
      );
      if (alertChannelId) {
        await postMessage(ctx.deps.client.rest, alertChannelId, {
          // A post into the server's channel: the server's language.
          content: say(pickLocale(i.guildLocale), 'report.alert', {
            number: ticket.number,
            reporter: i.user.id,
            author: m.author.id,
            link: ticketLink(ticket),
          }),
          allowed_mentions: { parse: [] },
        }).catch((err) => ctx.log.warn({ err }, 'could not post the report alert'));
      }
    }
    await respond(
      i,
      say(localeOf(i), created ? 'report.thanks' : 'report.already', {
        number: ticket.number,
        link: ticketLink(ticket),
      }),
    );
  },
};

/** Staff open a ticket on a player's behalf (no player limits; audited as the staff member). */
export const openForUser: CommandHandler<UserContextMenuCommandInteraction> = {
  data: new ContextMenuCommandBuilder()
    .setName(OPEN_FOR_USER)
    .setType(ApplicationCommandType.User)
    .setDMPermission(false)
    .toJSON(),
  ack: 'defer',
  async execute(i, ctx) {
    const who = await resolveWho(ctx.deps, i.guildId, personOf(i), ctx.requestId);
    const staff = requirePermission(who, 'tickets.create');
    const user = i.targetUser;
    if (user.bot) throw refuse('validation_failed', 'open.botUser');
    const member = i.targetMember;
    const roleIds = !member
      ? []
      : member instanceof GuildMember
        ? [...member.roles.cache.keys()]
        : member.roles;
    const { ticket, created } = await openFromDiscord(ctx, {
      guildId: who.guildId,
      channelId: threadParentOr(i),
      interactionId: i.id,
      // Opened by staff for a member whose own language the interaction doesn't tell: the server's.
      locale: i.guildLocale,
      requester: {
        id: user.id,
        username: user.username,
        globalName: user.globalName,
        avatar: user.avatar,
        roleIds,
      },
      openedBy: staff,
      openedByDiscordId: i.user.id,
      categoryId: null,
      subject: ticketForSubject(pickLocale(i.guildLocale), user.globalName || user.username),
      answers: [
        {
          key: 'opened_by_staff',
          label: 'Opened by staff',
          labelKey: 'summary.answerOpenedBy',
          value: `<@${i.user.id}>`,
        },
      ],
    });
    await respond(
      i,
      say(localeOf(i), created ? 'open.openedFor' : 'open.alreadyOpenedFor', {
        number: ticket.number,
        who: `<@${user.id}>`,
        link: ticketLink(ticket),
      }),
    );
  },
};
