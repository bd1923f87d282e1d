import { z } from 'zod';
import { macTokens } from './signed-url.js';

/**
 * Signed links to one ticket's pages for people without a session: `<PUBLIC_URL>/<path>/<token>`,
 * where the token names the organization and the ticket and carries its expiry, signed with a
 * key of its own per kind of link (`macTokens`), so a rating link never opens a transcript.
 *
 * - Rating links (`/rate/...`, 30 days) rate as the ticket's player and open their transcript,
 *   for the player alone: the page asks for a sign-in with the player's Discord account
 *   (`api/routes/rating.ts`), since they go under the closing message of a private thread (staff
 *   read it) or a public forum post when the player takes no DMs (Discord disables ordinary
 *   buttons in a locked thread but keeps link buttons working). The rating itself is accepted
 *   once per ticket (`db/ticket-status.ts`).
 *   Version 2 of their key: the links version 1 put in forum posts, which anyone could use,
 *   stopped working with it.
 * - Transcript links (`/transcripts/...`) are short-lived: handed out fresh, one at a time, to the
 *   ticket's player (the bot's Transcript button, the rating page), so a link that leaks into a
 *   log or a forwarded message soon stops working.
 */
export interface TicketLinks {
  /** The full URL for a ticket, valid for the kind's lifetime. */
  url(orgId: string, ticketId: string): string;
  /** The token's org and ticket, or null when it is not ours, is damaged or has expired. */
  verify(token: string): { orgId: string; ticketId: string } | null;
}
export const RATING_LINK_DAYS = 30;

const claims = z.object({ o: z.uuid(), t: z.uuid(), e: z.number().int().positive() });

function ticketLinks(
  secretKeyBase64: string,
  publicUrl: string,
  kind: { label: string; path: string; ttlSeconds: number },
  now: () => number,
): TicketLinks {
  const tokens = macTokens(secretKeyBase64, kind.label);
  const base = `${publicUrl}/${kind.path}/`;
  return {
    url(orgId, ticketId) {
      const e = Math.floor(now() / 1000) + kind.ttlSeconds;
      return base + tokens.seal(claims.parse({ o: orgId, t: ticketId, e }));
    },
    verify(token) {
      const c = tokens.open(token, claims);
      if (!c || c.e <= now() / 1000) return null;
      return { orgId: c.o, ticketId: c.t };
    },
  };
}

export const TRANSCRIPT_LINK_MINUTES = 60;

/** The web pages of a ticket that Discord messages point at, for the API, the bot and the workers. */
export interface TicketPages {
  rating: TicketLinks;
  /** The player's short-lived transcript links (`/transcripts/<token>`). */
  transcript: TicketLinks;
  /** The staff transcript view: a session with `tickets.read` in the org opens it, nobody else. */
  staffTranscriptUrl(orgId: string, ticketId: string): string;
}

export function createTicketPages(
  secretKeyBase64: string,
  publicUrl: string,
  now: () => number = Date.now,
): TicketPages {
  const base = publicUrl.replace(/\/+$/, '');
  return {
    rating: ticketLinks(
      secretKeyBase64,
      base,
      { label: 'gamemod rating links v2', path: 'rate', ttlSeconds: RATING_LINK_DAYS * 86_400 },
      now,
    ),
    transcript: ticketLinks(
      secretKeyBase64,
      base,
      { label: 'gamemod transcript links v1', path: 'transcripts', ttlSeconds: TRANSCRIPT_LINK_MINUTES * 60 },
      now,
    ),
    staffTranscriptUrl: (orgId, ticketId) => `${base}/v1/orgs/${orgId}/tickets/${ticketId}/transcript`,
  };
}
