import { z } from 'zod';
import { macTokens } from './signed-url.js';

/**
 * The link a player follows to rate a closed ticket on the web: `<PUBLIC_URL>/rate/<token>`,
 * where the token names the organization and the ticket and carries its expiry, signed with a
 * key of its own (`macTokens`). Posted under the closing message as a link button, because
 * Discord disables ordinary buttons in a locked thread but keeps link buttons working; the
 * rating itself is still accepted once per ticket (`db/ticket-status.ts`).
 */
export interface RatingLinks {
  /** The full URL for a ticket, valid for `RATING_LINK_DAYS`. */
  url(orgId: string, ticketId: string): string;
  /** The token's org and ticket, or null when it is not ours, is damaged or has expired. */
  verify(token: string): { orgId: string; ticketId: string } | null;
}

export const RATING_LINK_DAYS = 30;

const claims = z.object({ o: z.uuid(), t: z.uuid(), e: z.number().int().positive() });

export function createRatingLinks(
  secretKeyBase64: string,
  publicUrl: string,
  now: () => number = Date.now,
): RatingLinks {
  const tokens = macTokens(secretKeyBase64, 'gamemod rating links v1');
  const base = publicUrl.replace(/\/+$/, '');
  return {
    url(orgId, ticketId) {
      const e = Math.floor(now() / 1000) + RATING_LINK_DAYS * 86_400;
      return `${base}/rate/${tokens.seal(claims.parse({ o: orgId, t: ticketId, e }))}`;
    },
    verify(token) {
      const c = tokens.open(token, claims);
      if (!c || c.e <= now() / 1000) return null;
      return { orgId: c.o, ticketId: c.t };
    },
  };
}
