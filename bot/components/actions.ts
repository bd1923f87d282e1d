import {
  type ButtonInteraction,
  ButtonStyle,
  ComponentType,
  type ModalSubmitInteraction,
  type StringSelectMenuInteraction,
} from 'discord.js';
import { withTenant } from '../../db/tenant.js';
import { claim, setPriority } from '../../db/tickets.js';
import { t as say } from '../../lib/i18n/messages.js';
import { TRANSCRIPT_LINK_MINUTES } from '../../lib/ticket-links.js';
import { requirePermission, resolveWho } from '../auth.js';
import { closedText, closeTicketFlow, rateFlow } from '../closing.js';
import { personOf } from '../discord-api.js';
import { closeReasonModal, ratingModal } from '../forms.js';
import { type ComponentHandler, respond } from '../handler.js';
import { localeOf, refuse } from '../say.js';
import { ticketForComponent } from './ticket-by-id.js';

const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;

/** Claim button on a ticket's first message. */
export const claimButton: ComponentHandler<ButtonInteraction> = {
  action: 'claim',
  ack: 'defer',
  async execute(i, ctx, args) {
    const who = await resolveWho(ctx.deps, i.guildId, personOf(i), ctx.requestId);
    const actor = requirePermission(who, 'tickets.assign');
    const ticket = await ticketForComponent(ctx, who, args[0], i.channelId);
    // The "taking care of this ticket" notice follows from the claim's outbox event
    // (discord.ticket_sync), so a crash after the commit cannot lose it.
    await withTenant(ctx.deps.pool, who.orgId, (tx) => claim(tx, ticket.id, actor));
    await respond(i, say(localeOf(i), 'ticket.claimed', { number: ticket.number }));
  },
};

/** Close button: asks for a reason first (the modal must be the first answer, so no I/O before). */
export const closeButton: ComponentHandler<ButtonInteraction> = {
  action: 'close',
  ack: 'self',
  async execute(i, _ctx, args) {
    await i.showModal(closeReasonModal(args[0] ?? '-', localeOf(i)));
  },
};

export const closeForm: ComponentHandler<ModalSubmitInteraction> = {
  action: 'closeform',
  ack: 'defer',
  async execute(i, ctx, args) {
    const who = await resolveWho(ctx.deps, i.guildId, personOf(i), ctx.requestId);
    const ticket = await ticketForComponent(ctx, who, args[0], i.channelId);
    let reason = '';
    try {
      reason = i.fields.getTextInputValue('reason').trim();
    } catch {
      reason = '';
    }
    if (reason.length > 500) throw refuse('validation_failed', 'refuse.reasonTooLong');
    const { warnings } = await closeTicketFlow(ctx, who, ticket, reason || null);
    await respond(i, closedText(localeOf(i), ticket.number, warnings));
  },
};

export const prioritySelect: ComponentHandler<StringSelectMenuInteraction> = {
  action: 'prio',
  ack: 'defer',
  async execute(i, ctx, args) {
    const who = await resolveWho(ctx.deps, i.guildId, personOf(i), ctx.requestId);
    const actor = requirePermission(who, 'tickets.update');
    const level = i.values[0] ?? '';
    if (!(PRIORITIES as readonly string[]).includes(level))
      throw refuse('validation_failed', 'ticket.unknownPriority', { level });
    const ticket = await ticketForComponent(ctx, who, args[0], i.channelId);
    await withTenant(ctx.deps.pool, who.orgId, (tx) =>
      setPriority(tx, { ticketId: ticket.id, priority: level as (typeof PRIORITIES)[number] }, actor),
    );
    await respond(i, say(localeOf(i), 'ticket.prioritySet', { level }));
  },
};

/**
 * A star button under the closing message, or in the DM sent on a close (that one carries the
 * server's id, since an interaction in a DM names none): asks for an optional comment. Under a
 * closing message others see (a ticket channel) the button names the player, and anyone else is
 * refused there and then, before a form they could not send; the form's answer checks it again.
 */
export const rateButton: ComponentHandler<ButtonInteraction> = {
  action: 'rate',
  ack: 'self',
  async execute(i, _ctx, args) {
    const n = Number(args[1]);
    const snowflake = (v: string | undefined) => !v || /^\d{17,20}$/.test(v);
    if (!args[0] || !Number.isInteger(n) || n < 1 || n > 5 || !snowflake(args[2]) || !snowflake(args[3]))
      throw refuse('bad_request', 'error.staleButton');
    if (args[3] && args[3] !== i.user.id) throw refuse('forbidden', 'rating.onlyRequester');
    await i.showModal(ratingModal(args[0], n, args[2], localeOf(i)));
  },
};

export const rateForm: ComponentHandler<ModalSubmitInteraction> = {
  action: 'rateform',
  ack: 'defer',
  async execute(i, ctx, args) {
    const who = await resolveWho(ctx.deps, i.guildId ?? args[2] ?? null, personOf(i), ctx.requestId);
    const ticket = await ticketForComponent(ctx, who, args[0], i.channelId);
    let comment = '';
    try {
      comment = i.fields.getTextInputValue('comment').trim();
    } catch {
      comment = '';
    }
    const n = Number(args[1]);
    const locale = localeOf(i);
    await rateFlow(ctx, who, ticket, n, comment || undefined, locale);
    await respond(i, say(locale, 'rating.thanks', { number: ticket.number, stars: '★'.repeat(n) }));
  },
};

/**
 * Transcript button (a DM or a dedicated channel): a fresh short-lived link to the web transcript,
 * for the ticket's player or staff who may read tickets; nobody else learns it exists.
 */
export const transcriptButton: ComponentHandler<ButtonInteraction> = {
  action: 'transcript',
  ack: 'defer',
  async execute(i, ctx, args) {
    const locale = localeOf(i);
    if (args[1] && !/^\d{17,20}$/.test(args[1])) throw refuse('bad_request', 'error.staleButton');
    const who = await resolveWho(ctx.deps, i.guildId ?? args[1] ?? null, personOf(i), ctx.requestId, {
      join: false,
    });
    const ticket = await ticketForComponent(ctx, who, args[0], i.channelId);
    if (ticket.requesterDiscordId !== who.person.id && !(who.staff && who.permissions.has('tickets.read')))
      throw refuse('not_found', 'ticket.gone');
    const url = ctx.deps.ticketPages.transcript.url(who.orgId, ticket.id);
    await respond(i, {
      content: say(locale, 'transcript.answer', { number: ticket.number, minutes: TRANSCRIPT_LINK_MINUTES }),
      components: [
        {
          type: ComponentType.ActionRow,
          components: [
            {
              type: ComponentType.Button,
              style: ButtonStyle.Link,
              url,
              label: say(locale, 'transcript.open'),
            },
          ],
        },
      ],
    });
  },
};
