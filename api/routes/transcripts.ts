import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ticketForSync } from '../../db/discord-ticket-sides.js';
import type { Tx } from '../../db/tenant.js';
import { withTenant } from '../../db/tenant.js';
import { transcriptHead, transcriptLines } from '../../db/transcripts.js';
import { renderTranscript, TRANSCRIPT_STYLE } from '../../lib/discord/transcript.js';
import { AppError } from '../../lib/errors.js';
import { escapeHtml as esc } from '../../lib/html.js';
import { pickLocale } from '../../lib/i18n/locales.js';

/**
 * A ticket's live transcript as a web page, the same page the workers post as a file on close,
 * but current and with its files reachable (each through a short signed `/v1/files` link, never a
 * Discord CDN link, which expires):
 * - staff: `GET /v1/orgs/:orgId/tickets/:ticketId/transcript` with a session or token holding
 *   `tickets.read`, the link the transcript channel's post carries;
 * - players: `GET /transcripts/:token`, the short-lived signed link the bot's Transcript button
 *   and the rating page hand out (`lib/ticket-links.ts`).
 * Internal notes never appear: they are not messages.
 */

/** How long a file link on the page works: the page is reloaded for fresh ones. */
const FILE_LINK_SECONDS = 300;

const CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(TRANSCRIPT_STYLE).digest('base64')}'`,
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const PAGE_STYLE = 'body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}';
const SMALL_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(PAGE_STYLE).digest('base64')}'; frame-ancestors 'none'; base-uri 'none'`;

function smallPage(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${esc(title)}</title><style>${PAGE_STYLE}</style></head><body><main><h1>${esc(title)}</h1>${body}</main></body></html>`;
}

async function transcriptPage(app: FastifyInstance, orgId: string, tx: Tx, ticketId: string) {
  const head = await transcriptHead(tx, ticketId);
  const lines = await transcriptLines(tx, ticketId);
  // Who closed it, and the ticket's language: the API has no Discord connection to ask the
  // server's own (the workers' copy is in that), so the page takes the ticket's, which is the
  // server's for a ticket staff opened and the player's client language otherwise.
  const facts = await ticketForSync(tx, ticketId);
  const files = `${app.settings.publicUrl}/v1/files/`;
  return renderTranscript(head, lines, head.closeReason, {
    locale: pickLocale(facts?.locale),
    closed: head.status === 'closed' && facts?.closedAt ? { at: facts.closedAt, by: facts.closedBy } : null,
    fileUrl: (attachmentId) =>
      `${files}${attachmentId}?token=${app.signer.sign({ orgId, attachmentId }, FILE_LINK_SECONDS)}`,
  });
}

function htmlHeaders(reply: FastifyReply, csp: string) {
  return reply
    .header('content-security-policy', csp)
    .header('cache-control', 'private, no-store')
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .type('text/html; charset=utf-8');
}

/**
 * A browser following the transcript channel's link without a session gets a page that signs in
 * and comes back, not the API's JSON 401; API clients still get the JSON error.
 */
function signInInstead(err: Error, req: FastifyRequest, reply: FastifyReply) {
  const wantsPage = (req.headers.accept ?? '').includes('text/html');
  if (!(err instanceof AppError && err.code === 'unauthenticated' && wantsPage)) throw err;
  const back = `/auth/discord/login?returnTo=${encodeURIComponent(req.url)}`;
  return htmlHeaders(reply.code(401), SMALL_CSP).send(
    smallPage(
      'Sign in to read this transcript',
      `<p>Transcripts are for the server's staff.</p><p><a href="${esc(back)}">Sign in with Discord</a> · <a href="/">Open the panel</a></p>`,
    ),
  );
}

export const transcriptRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/orgs/:orgId/tickets/:ticketId/transcript',
    {
      config: { access: { permission: 'tickets.read' } },
      errorHandler: signInInstead,
      schema: {
        tags: ['tickets'],
        operationId: 'getTicketTranscript',
        summary: "The ticket's conversation as an HTML page (notes left out; files through signed links)",
        produces: ['text/html'],
        params: z.object({ orgId: z.uuid(), ticketId: z.uuid() }),
      },
    },
    async (req, reply) => {
      const html = await req.inOrg((tx) => transcriptPage(app, req.params.orgId, tx, req.params.ticketId));
      return htmlHeaders(reply, CSP).send(html);
    },
  );

  const invalid = smallPage(
    'This transcript link does not work',
    '<p>It has expired (links last an hour) or the ticket is gone. Press Transcript on the ticket again for a new one.</p>',
  );
  app.get(
    '/transcripts/:token',
    {
      config: { access: 'public' },
      // A page for players, not part of the API: kept out of the OpenAPI document.
      schema: { hide: true, params: z.object({ token: z.string().min(1).max(200) }) },
    },
    async (req, reply) => {
      const claims = app.ticketPages.transcript.verify(req.params.token);
      if (!claims) return htmlHeaders(reply.code(404), SMALL_CSP).send(invalid);
      try {
        const html = await withTenant(app.deps.pool, claims.orgId, (tx) =>
          transcriptPage(app, claims.orgId, tx, claims.ticketId),
        );
        return htmlHeaders(reply, CSP).send(html);
      } catch (err) {
        if (err instanceof AppError && err.code === 'not_found')
          return htmlHeaders(reply.code(404), SMALL_CSP).send(invalid);
        throw err;
      }
    },
  );
};
