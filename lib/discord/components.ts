import { ButtonStyle, ComponentType } from 'discord.js';
import type { Locale } from '../i18n/locales.js';
import { t } from '../i18n/messages.js';

/**
 * The components and texts of a ticket's Discord side that both the bot (when it opens a ticket)
 * and the workers (when they bring it to its state) render: the same buttons from both.
 */

export const PRIORITY_LABELS = { low: 'Low', normal: 'Normal', high: 'High', urgent: 'Urgent' } as const;
export type Priority = keyof typeof PRIORITY_LABELS;

/** A priority as the summary names it, in the server's language. */
export const priorityLabel = (p: Priority, locale: Locale): string => t(locale, `priority.${p}`);

const STATUS_KEYS = {
  open: 'status.open',
  pending: 'status.pending',
  on_hold: 'status.on_hold',
  solved: 'status.solved',
  closed: 'status.closed',
} as const;

/** A status as the summary names it; one this table lacks is shown as stored. */
const statusLabel = (status: string, locale: Locale): string =>
  status in STATUS_KEYS
    ? t(locale, STATUS_KEYS[status as keyof typeof STATUS_KEYS])
    : status.replace('_', ' ');

/**
 * Claim, Close and the priority select on a ticket's first message, in the server's language
 * (the bot draws them at opening and the workers redraw them: both pass the server's).
 */
export function actionRows(ticketId: string, locale: Locale = 'en-US'): unknown[] {
  return [
    {
      type: ComponentType.ActionRow,
      components: [
        {
          type: ComponentType.Button,
          style: ButtonStyle.Primary,
          custom_id: `gm:claim:${ticketId}`,
          label: t(locale, 'summary.claim'),
        },
        {
          type: ComponentType.Button,
          style: ButtonStyle.Danger,
          custom_id: `gm:close:${ticketId}`,
          label: t(locale, 'summary.close'),
        },
      ],
    },
    {
      type: ComponentType.ActionRow,
      components: [
        {
          type: ComponentType.StringSelect,
          custom_id: `gm:prio:${ticketId}`,
          placeholder: t(locale, 'summary.setPriority'),
          min_values: 1,
          max_values: 1,
          options: (Object.keys(PRIORITY_LABELS) as Priority[]).map((value) => ({
            value,
            label: priorityLabel(value, locale),
          })),
        },
      ],
    },
  ];
}

/**
 * The player's 1–5 star buttons after a close. `playerId` (the player's Discord id) is for a place
 * others see too, a ticket channel: a press by anyone else is refused before the rating form.
 */
export function ratingRows(ticketId: string, guildId?: string, playerId?: string): unknown[] {
  return [
    {
      type: ComponentType.ActionRow,
      components: [1, 2, 3, 4, 5].map((n) => ({
        type: ComponentType.Button,
        style: ButtonStyle.Secondary,
        // In a DM the interaction names no server: the button carries it.
        custom_id: `gm:rate:${ticketId}:${n}${guildId || playerId ? `:${guildId ?? ''}` : ''}${playerId ? `:${playerId}` : ''}`,
        label: '★'.repeat(n),
      })),
    },
  ];
}

/**
 * "Transcript": answered by the bot with a fresh short-lived link to the web transcript, for the
 * ticket's player or staff. Only where the button stays pressable: a DM, a dedicated channel.
 */
export function transcriptRow(ticketId: string, guildId?: string, locale: Locale = 'en-US'): unknown[] {
  return [
    {
      type: ComponentType.ActionRow,
      components: [
        {
          type: ComponentType.Button,
          style: ButtonStyle.Secondary,
          custom_id: `gm:transcript:${ticketId}${guildId ? `:${guildId}` : ''}`,
          label: t(locale, 'transcript.button'),
        },
      ],
    },
  ];
}

/**
 * A link button to the web rating page: the one kind of button Discord keeps working in a
 * locked thread (ordinary buttons are disabled there).
 */
export function ratingLinkRow(url: string, locale: Locale = 'en-US'): unknown[] {
  return [
    {
      type: ComponentType.ActionRow,
      components: [
        { type: ComponentType.Button, style: ButtonStyle.Link, url, label: t(locale, 'rating.linkLabel') },
      ],
    },
  ];
}

/** "Open a new ticket" on the notice a player gets for writing in a closed ticket's thread. */
export function newTicketRow(categoryId: string | null, locale: Locale = 'en-US'): unknown[] {
  return [
    {
      type: ComponentType.ActionRow,
      components: [
        {
          type: ComponentType.Button,
          style: ButtonStyle.Primary,
          custom_id: categoryId ? `gm:open:${categoryId}` : 'gm:open',
          label: t(locale, 'ticket.newButton'),
        },
      ],
    },
  ];
}

/** The summary's title and footer for a ticket's current state, in the server's language. */
export function summaryParts(
  ticket: {
    number: number;
    subject: string;
    priority: Priority;
    status: string;
    assigneeName: string | null;
  },
  locale: Locale = 'en-US',
): { title: string; footer: string } {
  const params = {
    priority: priorityLabel(ticket.priority, locale),
    status: statusLabel(ticket.status, locale),
  };
  return {
    // "Ticket" and the number read the same in every shipped language.
    title: `Ticket #${ticket.number} · ${ticket.subject}`.slice(0, 256),
    footer: (ticket.assigneeName
      ? t(locale, 'summary.footerClaimed', { ...params, name: ticket.assigneeName })
      : t(locale, 'summary.footer', params)
    ).slice(0, 2048),
  };
}
