import {
  ApplicationCommandType,
  ContextMenuCommandBuilder,
  type MessageContextMenuCommandInteraction,
} from 'discord.js';
import { threadConversation } from '../../db/discord-mirrors.js';
import {
  mirrorAuthor,
  mirroredMessageId,
  recordMirroredMessage,
  ticketFromMirroredMessage,
} from '../../db/mirror-messages.js';
import { withTenant } from '../../db/tenant.js';
import { t as say } from '../../lib/i18n/messages.js';
import { requirePermission, resolveWho } from '../auth.js';
import { personOf } from '../discord-api.js';
import { mirrorTarget } from '../events/mirror.js';
import { type CommandHandler, respond } from '../handler.js';
import { localeOf, refuse } from '../say.js';
import { OPEN_ABOUT_MESSAGE } from './context-menus.js';

export const CREATE_FROM_MESSAGE = 'Create ticket from message';

/**
 * Staff turn a message of a mirrored channel into a ticket: the one way a mirrored message
 * becomes one. Once per message, shared with the panel's action (the ticket's external id is the
 * message's). The ticket has no thread on Discord: staff work it from the inbox.
 */
export const createFromMessage: CommandHandler<MessageContextMenuCommandInteraction> = {
  data: new ContextMenuCommandBuilder()
    .setName(CREATE_FROM_MESSAGE)
    .setType(ApplicationCommandType.Message)
    .setDMPermission(false)
    .toJSON(),
  ack: 'defer',
  async execute(i, ctx) {
    const who = await resolveWho(ctx.deps, i.guildId, personOf(i), ctx.requestId);
    const staff = requirePermission(who, 'tickets.create');
    const m = i.targetMessage;
    const target = await mirrorTarget(ctx.deps, who.orgId, m.channelId);
    if (!target) {
      throw refuse('validation_failed', 'mirror.notMirrored', { menu: OPEN_ABOUT_MESSAGE });
    }
    const { ticket, created } = await withTenant(ctx.deps.pool, who.orgId, async (tx) => {
      // A message from before the mirror's backfill reached it (or one the bot missed) is
      // recorded first, from what the interaction carries.
      let messageId = await mirroredMessageId(tx, m.id);
      if (!messageId) {
        const channelId = target.thread
          ? await threadConversation(tx, target.mirrorId, target.thread)
          : target.channelId;
        const author =
          m.webhookId || m.author.bot
            ? ({ type: 'bot' } as const)
            : ((await mirrorAuthor(tx, target.guildId, { ...m.author, roleIds: [] })) ??
              ({ type: 'bot' } as const));
        const recorded = await recordMirroredMessage(
          tx,
          { channelId, messageId: m.id, body: m.content || '(no text)' },
          author,
        );
        messageId = recorded.message?.id ?? (await mirroredMessageId(tx, m.id));
      }
      if (!messageId) throw refuse('not_found', 'mirror.notRecorded');
      return ticketFromMirroredMessage(tx, messageId, staff);
    });
    await respond(
      i,
      say(localeOf(i), created ? 'mirror.opened' : 'mirror.already', { number: ticket.number }),
    );
  },
};
