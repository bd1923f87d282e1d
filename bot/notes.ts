import type { ChatInputCommandInteraction } from 'discord.js';
import { withTenant } from '../db/tenant.js';
import { notesWithAuthors } from '../db/ticket-actions.js';
import { AppError } from '../lib/errors.js';
import { requirePermission, whoAndTicketHere } from './auth.js';
import { personOf } from './discord-api.js';
import type { Ctx } from './handler.js';

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
  if (notes.length === 0) return { content: `Ticket #${ticket.number} has no internal notes.`, embeds: [] };
  const pages = notePages(notes);
  const asked = i.options.getInteger('page') ?? 1;
  if (asked < 1 || asked > pages.length)
    throw new AppError(
      'validation_failed',
      `There ${pages.length === 1 ? 'is 1 page' : `are ${pages.length} pages`} of notes; ask for page 1${pages.length > 1 ? ` to ${pages.length}` : ''}.`,
    );
  return {
    content: '',
    embeds: [
      {
        title: `Internal notes · ticket #${ticket.number}`.slice(0, 256),
        description: pages[asked - 1],
        footer: {
          text: `Page ${asked} of ${pages.length} · ${notes.length} note${notes.length === 1 ? '' : 's'}, newest first · only you can see this`,
        },
      },
    ],
  };
}
