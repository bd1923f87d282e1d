import type { Category } from '../db/categories.js';
import type { DiscordTicket } from '../db/discord-sync.js';
import type { TicketMode } from '../db/guilds.js';
import { actionRows, priorityLabel } from '../lib/discord/components.js';
import { ticketChannelName, ticketThreadName } from '../lib/discord/names.js';
import type { Locale } from '../lib/i18n/locales.js';
import { t as say } from '../lib/i18n/messages.js';
import type { DiscordPerson } from './auth.js';
import type { MessageBody } from './discord-api.js';
import type { Answer } from './forms.js';

/** What a ticket opened from Discord is called and says: its channel name, summary and links. */

// Names keep the player's own script (a Cyrillic or Chinese name is not turned into "ticket").
export function channelName(category: Category | null, person: DiscordPerson, mode: TicketMode): string {
  const who = person.globalName || person.username;
  return mode === 'channel' ? ticketChannelName(category?.name, who) : ticketThreadName(category?.name, who);
}

/**
 * The first message of a ticket: who, what (the form's answers), and the action buttons, in the
 * server's language (`locale`): staff work from it, and the workers redraw it in that language.
 */
export function summaryMessage(
  ticket: { id: string; number: number; subject: string; priority: DiscordTicket['priority'] },
  req: {
    requester: DiscordPerson;
    answers: readonly Answer[];
    quote?: { url: string; authorId: string; content: string };
    openedByDiscordId?: string;
    /** Opened by a direct message: the player is not in the thread. */
    viaDm?: unknown;
  },
  category: Category | null,
  staff: { roleIds?: readonly string[]; userIds?: readonly string[] },
  locale: Locale = 'en-US',
): MessageBody {
  const roleIds = staff.roleIds ?? [];
  const userIds = staff.userIds ?? [];
  const fields = req.answers.slice(0, 5).map((a) => ({
    name: (a.labelKey ? say(locale, a.labelKey) : a.label).slice(0, 256),
    value: a.value.slice(0, 1024),
  }));
  if (req.quote) {
    const by = say(locale, 'summary.reportedBy', { author: `<@${req.quote.authorId}>`, url: req.quote.url });
    fields.push({
      name: say(locale, 'summary.reported'),
      value:
        `${req.quote.content ? `> ${req.quote.content.slice(0, 900).replace(/\n/g, '\n> ')}\n` : ''}${by}`.slice(
          0,
          1024,
        ),
    });
  }
  const opener = req.openedByDiscordId
    ? ` ${say(locale, 'summary.openedBy', { user: `<@${req.openedByDiscordId}>` })}`
    : '';
  return {
    content:
      `<@${req.requester.id}>${opener} ${[...roleIds.map((r) => `<@&${r}>`), ...userIds.map((u) => `<@${u}>`)].join(' ')}`
        .trim()
        .slice(0, 2000),
    embeds: [
      {
        title: `Ticket #${ticket.number} · ${ticket.subject}`.slice(0, 256),
        description: `${category ? `${say(locale, 'summary.category', { name: category.name })}\n` : ''}${say(locale, req.viaDm ? 'summary.viaDm' : 'summary.staffAnswer')}`,
        fields,
        footer: {
          text: say(locale, 'summary.priority', { priority: priorityLabel(ticket.priority, locale) }),
        },
      },
    ],
    components: actionRows(ticket.id, locale),
    // Mentioning the staff roles brings them into a private thread, as Discord does; a DM
    // ticket's player is named without a ping, which would add them to the staff thread.
    allowed_mentions: { users: [...(req.viaDm ? [] : [req.requester.id]), ...userIds], roles: [...roleIds] },
  };
}

/** What the person who opened a ticket is told. Never a failure once the ticket exists. */
export function openedText(
  r: { ticket: Pick<DiscordTicket, 'discordChannelId' | 'number'>; created: boolean; incomplete?: boolean },
  locale: Locale,
  forWhom?: string,
): string {
  const params = { number: r.ticket.number, link: ticketLink(r.ticket), who: forWhom ?? '' };
  const head = forWhom
    ? say(locale, r.created ? 'open.openedFor' : 'open.alreadyOpenedFor', params)
    : say(locale, r.created ? 'open.opened' : 'open.alreadyOpened', params);
  return r.incomplete ? `${head}\n${say(locale, 'open.incomplete')}` : head;
}

export function ticketLink(t: Pick<DiscordTicket, 'discordChannelId' | 'number'>): string {
  return t.discordChannelId ? `<#${t.discordChannelId}>` : `#${t.number}`;
}
