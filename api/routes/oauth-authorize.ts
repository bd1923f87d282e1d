import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { permissionsForScopes, SCOPE_PERMISSIONS } from '../../db/api-tokens.js';
import { memberAccess } from '../../db/memberships.js';
import { clientForAuth, type OAuthClientAuth, orgOfOAuthClient } from '../../db/oauth-clients.js';
import { createAuthorizationCode } from '../../db/oauth-codes.js';
import { missingScopes, parseScopeParam } from '../../db/oauth-tokens.js';
import { getOrganization } from '../../db/organizations.js';
import { withTenant } from '../../db/tenant.js';
import { escapeHtml as esc } from '../../lib/html.js';
import { cookieOf } from '../cookies.js';
import { SESSION_COOKIE, sessionTimes } from '../plugins/auth.js';
import { readSession, type Session } from '../sessions.js';

/**
 * The authorization endpoint (RFC 6749 §4.1.1) and its consent page: a signed-in staff member
 * lets a registered client act for them, with scopes no wider than their own permissions. A
 * server-rendered page with no script (like the rating page), kept out of the OpenAPI document.
 * The form's POST needs the session cookie (SameSite=Lax: no cross-site post carries it) and a
 * single-use request id bound to that session, so a forged or replayed post does nothing.
 */

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1b1f;background:#fff}
@media (prefers-color-scheme:dark){body{color:#e8e8ec;background:#16161a}}
li{margin:.25rem 0}code{font-size:.9em}button{font:inherit;padding:.5rem 1.25rem;margin:1rem .75rem 0 0}
.muted{opacity:.75}:focus-visible{outline:3px solid #3b82f6;outline-offset:2px}`;
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/** `form-action` must allow the redirect that follows the post, or browsers block it. */
const csp = (redirectOrigin?: string) =>
  [
    "default-src 'none'",
    `style-src 'sha256-${STYLE_HASH}'`,
    `form-action 'self'${redirectOrigin ? ` ${redirectOrigin}` : ''}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${esc(title)}</title><style>${STYLE}</style></head><body><main><h1>${esc(title)}</h1>${body}</main></body></html>`;
}

const CONSENT_TTL_SECONDS = 600;
const consentKey = (id: string) => `gm:oauth-consent:${createHash('sha256').update(id).digest('base64url')}`;

const pendingConsent = z.object({
  userId: z.uuid(),
  sessionKey: z.string(),
  orgId: z.uuid(),
  clientRowId: z.uuid(),
  redirectUri: z.string(),
  scopes: z.array(z.string()),
  challenge: z.string(),
  state: z.string().nullable(),
});

const authorizeQuery = z.object({
  response_type: z.string().max(50).optional(),
  client_id: z.string().max(100).optional(),
  redirect_uri: z.string().max(2000).optional(),
  scope: z.string().max(1000).optional(),
  state: z.string().max(500).optional(),
  code_challenge: z.string().max(200).optional(),
  code_challenge_method: z.string().max(20).optional(),
});

const consentForm = z.object({
  request: z.string().min(1).max(100),
  decision: z.enum(['allow', 'deny']),
});

export const oauthAuthorizeRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 4096 },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  const html = (reply: FastifyReply, status: number, title: string, body: string, origin?: string) =>
    reply
      .code(status)
      .header('content-security-policy', csp(origin))
      .header('x-frame-options', 'DENY')
      .header('cache-control', 'no-store')
      .type('text/html')
      .send(page(title, body));

  /** Back to the client with the outcome (RFC 6749 §4.1.2), naming this server (RFC 9207). */
  const back = (
    reply: FastifyReply,
    redirectUri: string,
    params: Record<string, string>,
    state: string | null,
  ) => {
    const url = new URL(redirectUri);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    if (state !== null) url.searchParams.set('state', state);
    url.searchParams.set('iss', app.settings.publicUrl);
    return reply.header('cache-control', 'no-store').redirect(url.toString(), 302);
  };

  const sessionOfCookie = async (req: FastifyRequest): Promise<Session | null> => {
    const cookie = cookieOf(req, SESSION_COOKIE);
    const session = cookie ? await readSession(app.deps.redis, cookie, sessionTimes(app.settings)) : null;
    // A rating sign-in grants nothing: the person signs in to the panel first.
    return session?.purpose === 'rating' ? null : session;
  };

  const clientOf = async (clientId: string | undefined): Promise<OAuthClientAuth | null> => {
    const found = clientId ? await orgOfOAuthClient(app.deps.pool, clientId) : null;
    return found ? withTenant(app.deps.pool, found.orgId, (tx) => clientForAuth(tx, found.rowId)) : null;
  };

  app.get(
    '/v1/oauth/authorize',
    {
      config: { access: 'public' },
      schema: { hide: true, querystring: authorizeQuery },
    },
    async (req, reply) => {
      const q = req.query;
      const client = await clientOf(q.client_id);
      // Never redirect to a URI the client did not register: say so here instead (§4.1.2.1).
      if (!client?.grantTypes.includes('authorization_code'))
        return html(reply, 400, 'Unknown application', '<p>This sign-in link names no application here.</p>');
      if (!q.redirect_uri || !client.redirectUris.includes(q.redirect_uri))
        return html(
          reply,
          400,
          'Wrong redirect address',
          '<p>The application sent an address it has not registered. Nothing was shared.</p>',
        );
      const redirectUri = q.redirect_uri;
      const state = q.state ?? null;
      const fail = (error: string, description: string) =>
        back(reply, redirectUri, { error, error_description: description }, state);
      if (q.response_type !== 'code') return fail('unsupported_response_type', 'only response_type=code');
      // RFC 9700 §2.1.1: PKCE for every client, and only S256 (RFC 7636 §4.2; plain is refused).
      if (
        !q.code_challenge ||
        !/^[A-Za-z0-9_-]{43}$/.test(q.code_challenge) ||
        q.code_challenge_method !== 'S256'
      )
        return fail('invalid_request', 'PKCE is required: code_challenge with code_challenge_method=S256');
      const requested = parseScopeParam(q.scope);
      if (!requested) return fail('invalid_scope', 'an unknown scope was requested');
      const scopes = requested.length > 0 ? requested : client.scopes;
      const wider = missingScopes(scopes, client.scopes);
      if (wider.length) return fail('invalid_scope', `not granted to this client: ${wider.join(' ')}`);

      const session = await sessionOfCookie(req);
      if (!session) {
        const returnTo = req.url;
        if (returnTo.length <= 500)
          return reply.redirect(`/auth/discord/login?returnTo=${encodeURIComponent(returnTo)}`, 302);
        return html(reply, 401, 'Sign in first', '<p>Sign in to GameMod, then open the link again.</p>');
      }
      if (session.mfa === 'pending')
        return html(
          reply,
          401,
          'Finish signing in',
          '<p>Enter your authenticator code first, then try again.</p>',
        );
      const { permissions, requireTotp } = await withTenant(app.deps.pool, client.orgId, (tx) =>
        memberAccess(tx, session.userId),
      );
      if (permissions.size === 0)
        return fail('access_denied', 'the signed-in user is not a member of this organization');
      if (requireTotp && session.mfa !== 'verified')
        return html(
          reply,
          403,
          'Two-factor sign-in required',
          '<p>This organization requires TOTP: enrol it and sign in again.</p>',
        );
      // Scopes no wider than the member's own permissions: a client can't get what they lack.
      const beyond = scopes.filter((s) => [...permissionsForScopes([s])].some((p) => !permissions.has(p)));
      if (beyond.length) return fail('invalid_scope', `your role does not cover: ${beyond.join(' ')}`);

      const requestId = randomBytes(32).toString('base64url');
      await app.deps.redis.set(
        consentKey(requestId),
        JSON.stringify({
          userId: session.userId,
          sessionKey: session.key,
          orgId: client.orgId,
          clientRowId: client.id,
          redirectUri,
          scopes,
          challenge: q.code_challenge,
          state,
        } satisfies z.infer<typeof pendingConsent>),
        'EX',
        CONSENT_TTL_SECONDS,
      );
      const org = await withTenant(app.deps.pool, client.orgId, (tx) => getOrganization(tx));
      const list = scopes
        .map(
          (s) =>
            `<li><code>${esc(s)}</code> <span class="muted">(${esc(SCOPE_PERMISSIONS[s].join(', '))})</span></li>`,
        )
        .join('');
      const origin = new URL(redirectUri).origin;
      return html(
        reply,
        200,
        `Allow ${client.name}?`,
        `<p><strong>${esc(client.name)}</strong> wants to act for you in <strong>${esc(org.name)}</strong> with:</p><ul>${list}</ul><p class="muted">You will be sent back to ${esc(origin)}. You can revoke access any time by revoking the application.</p><form method="post" action="/v1/oauth/authorize"><input type="hidden" name="request" value="${esc(requestId)}"><button type="submit" name="decision" value="allow">Allow</button><button type="submit" name="decision" value="deny">Deny</button></form>`,
        origin,
      );
    },
  );

  app.post(
    '/v1/oauth/authorize',
    {
      config: { access: 'public' },
      schema: { hide: true, body: z.record(z.string(), z.unknown()) },
    },
    async (req, reply) => {
      const form = consentForm.safeParse(req.body);
      const expired = () =>
        html(reply, 400, 'This request has expired', '<p>Go back to the application and start again.</p>');
      if (!form.success) return expired();
      const session = await sessionOfCookie(req);
      // Single use, whatever happens next.
      const raw = await app.deps.redis.getdel(consentKey(form.data.request));
      const pending = raw ? pendingConsent.safeParse(JSON.parse(raw)) : null;
      if (!pending?.success) return expired();
      const p = pending.data;
      // Bound to the session that saw the page: another browser or a new sign-in can't use it.
      if (!session || session.userId !== p.userId || session.key !== p.sessionKey) return expired();
      if (form.data.decision === 'deny')
        return back(
          reply,
          p.redirectUri,
          { error: 'access_denied', error_description: 'the user said no' },
          p.state,
        );
      const code = await withTenant(app.deps.pool, p.orgId, async (tx) => {
        // The role may have changed while the page was open: check again, in the transaction.
        const { permissions } = await memberAccess(tx, p.userId);
        const held = p.scopes.every((s) =>
          [...permissionsForScopes([s])].every((perm) => permissions.has(perm)),
        );
        if (!held) return null;
        return createAuthorizationCode(
          tx,
          {
            clientRowId: p.clientRowId,
            userId: p.userId,
            redirectUri: p.redirectUri,
            scopes: p.scopes,
            codeChallenge: p.challenge,
          },
          app.settings.now(),
          { type: 'user', id: p.userId, ip: req.ip, requestId: String(req.id) },
        );
      });
      if (!code)
        return back(
          reply,
          p.redirectUri,
          { error: 'invalid_scope', error_description: 'your role changed' },
          p.state,
        );
      return back(reply, p.redirectUri, { code }, p.state);
    },
  );
};
