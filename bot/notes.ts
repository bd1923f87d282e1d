import type { ChatInputCommandInteraction } from 'discord.js';
import { withTenant } from '../db/tenant.js';
import { notesWithAuthors } from '../db/ticket-actions.js';
import { t as say } from '../lib/i18n/messages.js';
import { requirePermission, whoAndTicketHere } from './auth.js';
import { personOf } from './discord-api.js';
import type { Ctx } from './handler.js';
import { localeOf, refuse } from './say.js';

/**
 * `/ticket notes [page]`: the ticket's internal notes, to staff who may read tickets (the
 * permission the API's ticket view asks for notes too), always as an ephemeral answer: notes are
 * never posted where the player could see them. Newest first, in pages that fit one embed's
 * description (Discord: 4,096 characters, 6,000 for the whole message); a note too long for a
 * page is cut with a pointer to the panel, where it is whole.
 */

/** Room for one page's notes in an embed description, leaving space for the cut marks. */
export const PAGE_CHARS = 3_800;
/** A single note's share of a page at most, so one long note never hides the others. */
export const NOTE_CHARS = 1_500;

interface NoteLine {
  authorName: string | null;
  body: string;
  createdAt: Date;
}

function entry(n: NoteLine): string {
  const at = Math.floor(new Date(n.createdAt).getTime() / 1000);
  const body =
    n.body.length > NOTE_CHARS
      ? `${n.body.slice(0, NOTE_CHARS)}… *(cut: the whole note is in the panel)*`
      : n.body;
  return `**${n.authorName ?? 'GameMod'}** · <t:${at}:f>\n${body}`;
}

/** The notes split into pages, newest first; every page holds at least one note. */
export function notePages(notes: readonly NoteLine[]): string[] {
  const pages: string[] = [];
  let page = '';
  for (const n of notes) {
    const e = entry(n);
    if (page && page.length + 2 + e.length > PAGE_CHARS) {
      pages.push(page);
      page = '';
    }
    page = page ? `${page}\n\n${e}` : e;
  }
  if (page) pages.push(page);
  return pages;
}

export async function notesAnswer(
  i: ChatInputCommandInteraction,
  ctx: Ctx,
): Promise<{ content: string; embeds: unknown[] }> {
  const { who, ticket } = await whoAndTicketHere(
    ctx.deps,
    i.guildId,
    i.channelId,
    personOf(i),
    ctx.requestId,
  );
  requirePermission(who, 'tickets.read');
  const notes = await withTenant(ctx.deps.pool, who.orgId, (tx) => notesWithAuthors(tx, ticket.id));
  const locale = localeOf(i);
  if (notes.length === 0)
    return { content: say(locale, 'notes.none', { number: ticket.number }), embeds: [] };
  const pages = notePages(notes);
  const asked = i.options.getInteger('page') ?? 1;
  if (asked < 1 || asked > pages.length)
    throw refuse('validation_failed', pages.length === 1 ? 'notes.pageOne' : 'notes.pages', {
      pages: pages.length,
    });
  return {
    content: '',
    embeds: [
      {
        title: say(locale, 'notes.title', { number: ticket.number }).slice(0, 256),
        description: pages[asked - 1],
        footer: {
          text: say(locale, notes.length === 1 ? 'notes.footerOne' : 'notes.footer', {
            page: asked,
            pages: pages.length,
            count: notes.length,
          }),
        },
      },
    ],
  };
}
