import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
import { rate } from '../../db/ticket-status.js';
import { getTicket } from '../../db/tickets.js';
import { userIdForDiscord } from '../../db/users.js';
import { AppError } from '../../lib/errors.js';
import { escapeHtml as esc } from '../../lib/html.js';
import { cookieOf } from '../cookies.js';
import { SESSION_COOKIE, sessionTimes } from '../plugins/auth.js';
import { bindRatingSession, isRatingToken, readRatingSession } from '../rating-sessions.js';
import { readSession } from '../sessions.js';

/**
 * The web rating page a closed ticket's Discord message links to (`lib/ticket-links.ts`): Discord
 * disables ordinary buttons in a locked thread, and a player may take no DMs from the bot, so
 * the link is the way to rate that always works. Plain HTML and a form, no script. The signed link
 * names the ticket; who uses it must be signed in with the ticket's player's Discord account
 * (a rating sign-in, which asks Discord for `identify` only, makes a session good for this page
 * alone, holding their Discord id and no account, and comes back here; a panel session of the
 * same account does too), because the link is posted where others read it too: staff in a
 * private thread, anyone in a forum post. The rating is recorded as the ticket's player, once.
 */

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1b1b1f;background:#fff}
@media (prefers-color-scheme:dark){body{color:#e8e8ec;background:#16161a}textarea{background:#222;color:inherit}}
fieldset{border:0;padding:0;margin:1rem 0}legend{font-weight:600}
label{display:inline-block;margin:.25rem .75rem .25rem 0;cursor:pointer}
textarea{width:100%;min-height:6rem;font:inherit}button{font:inherit;padding:.5rem 1.25rem;margin-top:1rem}
.error{color:#b3261e;font-weight:600}.sr{position:absolute;left:-9999px}:focus-visible{outline:3px solid #3b82f6;outline-offset:2px}`;
const CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const token = z.object({ token: z.string().min(1).max(200) });
const form = z.object({
  stars: z.coerce.number().int().min(1).max(5),
  comment: z.string().trim().max(1000).optional(),
  // The session's CSRF token, as a field: a form cannot send the header the API reads it from.
  csrf: z.string().max(200).optional(),
});

const sameSecret = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${esc(title)}</title><style>${STYLE}</style></head><body><main><h1>${esc(title)}</h1>${body}</main></body></html>`;
}

function ratingForm(number: number, subject: string, csrf: string, error?: string, stars?: number): string {
  const choices = [1, 2, 3, 4, 5]
    .map(
      (n) =>
        `<label><input type="radio" name="stars" value="${n}" required${n === stars ? ' checked' : ''}> ${'★'.repeat(n)}<span class="sr"> ${n} of 5</span></label>`,
    )
    .join('');
  return `<p>Ticket #${number}: ${esc(subject)}</p>${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}<form method="post"><input type="hidden" name="csrf" value="${esc(csrf)}"><fieldset><legend>How did we do?</legend>${choices}</fieldset><p><label for="comment">Anything to add? (optional)</label><textarea id="comment" name="comment" maxlength="1000"></textarea></p><button type="submit">Send rating</button></form>`;
}

export const ratingRoutes: FastifyPluginAsyncZod = async (app) => {
  // The page's form posts url-encoded fields; this parser lives only in this plugin.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 4096 },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  /** The link's ticket, read in the link's org; a bad or expired link is a 404 page. */
  const ticketOf = async (raw: string) => {
    const claims = app.ticketPages.rating.verify(raw);
    if (!claims) return null;
    const t = await withTenant(app.deps.pool, claims.orgId, (tx) => getTicket(tx, claims.ticketId)).catch(
      (err: unknown) => {
        if (err instanceof AppError && err.code === 'not_found') return null;
        throw err;
      },
    );
    return t ? { orgId: claims.orgId, ticket: t } : null;
  };
  /**
   * Whether the browser is signed in as the ticket's player: `none` (no session, or one still owing
   * its second factor), `other` (someone else, such as staff who read the link in the thread).
   * A rating sign-in's session names the player's Discord account itself; a panel session of the
   * same person, their account linked to it. `csrf` is the session's token the form must carry.
   */
  const signedInAs = async (
    req: FastifyRequest,
    orgId: string,
    requesterId: string | null,
  ): Promise<{ kind: 'none' } | { kind: 'other' } | { kind: 'player'; csrf: string }> => {
    const cookie = cookieOf(req, SESSION_COOKIE);
    if (!cookie) return { kind: 'none' };
    const times = sessionTimes(app.settings);
    const rating = isRatingToken(cookie) ? await readRatingSession(app.deps.redis, cookie, times) : null;
    const session = rating ? null : await readSession(app.deps.redis, cookie, times);
    if (!rating && (!session || session.mfa === 'pending')) return { kind: 'none' };
    const player = requesterId
      ? await withTenant(app.deps.pool, orgId, (tx) => getPlayer(tx, requesterId))
      : null;
    const discordId = player?.discordUserId ?? null;
    if (rating) {
      if (!requesterId || discordId !== rating.discordUserId) return { kind: 'other' };
      // Filed under the player it proved to be: their erasure ends it (lib/rating-session-index.ts).
      await bindRatingSession(app.deps.redis, cookie, { orgId, playerId: requesterId }, times);
      return { kind: 'player', csrf: rating.csrf };
    }
    const owner = discordId ? await userIdForDiscord(app.deps.pool, discordId) : null;
    return session && owner === session.userId ? { kind: 'player', csrf: session.csrf } : { kind: 'other' };
  };
  const signInHref = (raw: string) =>
    `/auth/discord/login?purpose=rating&amp;returnTo=${esc(encodeURIComponent(`/rate/${raw}`))}`;
  const signInPage = (raw: string, number: number) =>
    page(
      'Sign in to rate',
      `<p>Ticket #${number}: sign in with the Discord account that opened it, and you come back here to rate it.</p><p><a href="${signInHref(raw)}">Sign in with Discord</a></p>`,
    );
  // A rating sign-in can't be signed out of from here (the page has no script), but a new one
  // replaces this browser's session, whichever it was.
  const notYours = (raw: string, number: number) =>
    page(
      'This rating is not yours',
      `<p>Only the player who opened ticket #${number} can rate it. Signed in with another Discord account?</p><p><a href="${signInHref(raw)}">Sign in with another Discord account</a></p>`,
    );
  const invalid = page(
    'This rating link does not work',
    '<p>It is not valid any more (links last 30 days) or the ticket is gone.</p>',
  );
  /** A fresh, short-lived link to the conversation, for the player to keep a copy. */
  const transcript = (orgId: string, ticketId: string) =>
    `<p><a href="${esc(app.ticketPages.transcript.url(orgId, ticketId))}">Read the conversation</a> (the link works for an hour)</p>`;
  const thanks = (orgId: string, t: { id: string; number: number }, stars: number) =>
    page(
      'Thanks for your rating',
      `<p>Ticket #${t.number}: ${'★'.repeat(stars)}</p>${transcript(orgId, t.id)}`,
    );

  app.get(
    '/rate/:token',
    {
      config: { access: 'public' },
      // A page for players, not part of the API: kept out of the OpenAPI document.
      schema: { hide: true, params: token },
    },
    async (req, reply) => {
      reply.header('content-security-policy', CSP).header('cache-control', 'no-store').type('text/html');
      const found = await ticketOf(req.params.token);
      if (!found) return reply.code(404).send(invalid);
      const t = found.ticket;
      const who = await signedInAs(req, found.orgId, t.requesterId);
      if (who.kind === 'none') return reply.code(401).send(signInPage(req.params.token, t.number));
      if (who.kind === 'other') return reply.code(403).send(notYours(req.params.token, t.number));
      if (t.rating !== null) return thanks(found.orgId, t, t.rating);
      if (t.status !== 'closed' && t.status !== 'solved')
        return page(`Ticket #${t.number} is still open`, '<p>You can rate it once it is closed.</p>');
      return page(
        'Rate your ticket',
        ratingForm(t.number, t.subject, who.csrf) + transcript(found.orgId, t.id),
      );
    },
  );

  app.post(
    '/rate/:token',
    {
      config: { access: 'public' },
      schema: { hide: true, params: token, body: z.record(z.string(), z.unknown()) },
    },
    async (req, reply) => {
      reply.header('content-security-policy', CSP).header('cache-control', 'no-store').type('text/html');
      const found = await ticketOf(req.params.token);
      if (!found) return reply.code(404).send(invalid);
      const t = found.ticket;
      if (!t.requesterId) return reply.code(404).send(invalid);
      const who = await signedInAs(req, found.orgId, t.requesterId);
      if (who.kind === 'none') return reply.code(401).send(signInPage(req.params.token, t.number));
      if (who.kind === 'other') return reply.code(403).send(notYours(req.params.token, t.number));
      const input = form.safeParse(req.body);
      // A cookie rides along on a form posted from anywhere: the session's token must come with it.
      if (!input.success || !input.data.csrf || !sameSecret(input.data.csrf, who.csrf)) {
        const code = input.success ? 403 : 422;
        const why = input.success ? 'The form expired: open the link again.' : 'Choose from 1 to 5 stars.';
        return reply
          .code(code)
          .send(page('Rate your ticket', ratingForm(t.number, t.subject, who.csrf, why)));
      }
      const player = { type: 'player' as const, id: t.requesterId };
      try {
        await withTenant(app.deps.pool, found.orgId, (tx) =>
          rate(
            tx,
            {
              ticketId: t.id,
              rating: input.data.stars,
              ...(input.data.comment ? { comment: input.data.comment } : {}),
            },
            player,
          ),
        );
      } catch (err) {
        if (err instanceof AppError && err.code === 'already_rated')
          return reply
            .code(409)
            .send(page('Already rated', `<p>Ticket #${t.number} was already rated. Thank you!</p>`));
        if (err instanceof AppError && err.code === 'invalid_transition')
          return reply
            .code(409)
            .send(page(`Ticket #${t.number} is still open`, '<p>You can rate it once it is closed.</p>'));
        throw err;
      }
      return thanks(found.orgId, t, input.data.stars);
    },
  );
};
