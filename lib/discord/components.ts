import { ButtonStyle, ComponentType } from 'discord.js';
import type { Locale } from '../i18n/locales.js';
import { t } from '../i18n/messages.js';

/**
 * The components and texts of a ticket's Discord side that both the bot (when it opens a ticket)
 * and the workers (when they bring it to its state) render: the same buttons from both.
 */

export const PRIORITY_LABELS = { low: 'Low', normal: 'Normal', high: 'High', urgent: 'Urgent' } as const;
export type Priority = keyof typeof PRIORITY_LABELS;

/** Claim, Close and the priority select on a ticket's first message. */
export function actionRows(ticketId: string): unknown[] {
  return [
    {
      type: ComponentType.ActionRow,
      components: [
        {
          type: ComponentType.Button,
          style: ButtonStyle.Primary,
          custom_id: `gm:claim:${ticketId}`,
          label: 'Claim',
        },
        {
          type: ComponentType.Button,
          style: ButtonStyle.Danger,
          custom_id: `gm:close:${ticketId}`,
          label: 'Close',
        },
      ],
    },
    {
      type: ComponentType.ActionRow,
      components: [
        {
          type: ComponentType.StringSelect,
          custom_id: `gm:prio:${ticketId}`,
          placeholder: 'Set the priority',
          min_values: 1,
          max_values: 1,
          options: Object.entries(PRIORITY_LABELS).map(([value, label]) => ({ value, label })),
        },
      ],
    },
  ];
}

/** The player's 1–5 star buttons after a close. */
export function ratingRows(ticketId: string, guildId?: string): unknown[] {
  return [
    {
      type: ComponentType.ActionRow,
      components: [1, 2, 3, 4, 5].map((n) => ({
        type: ComponentType.Button,
        style: ButtonStyle.Secondary,
        // In a DM the interaction names no server: the button carries it.
        custom_id: `gm:rate:${ticketId}:${n}${guildId ? `:${guildId}` : ''}`,
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

/** The summary's title and footer for a ticket's current state. */
export function summaryParts(t: {
  number: number;
  subject: string;
  priority: Priority;
  status: string;
  assigneeName: string | null;
}): { title: string; footer: string } {
  return {
    title: `Ticket #${t.number} · ${t.subject}`.slice(0, 256),
    footer: [
      `Priority: ${PRIORITY_LABELS[t.priority]}`,
      `Status: ${t.status.replace('_', ' ')}`,
      ...(t.assigneeName ? [`Claimed by ${t.assigneeName}`] : []),
    ].join(' · '),
  };
}
