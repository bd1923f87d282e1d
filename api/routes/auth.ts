import { createHash, randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { acceptDiscordInvites } from '../../db/invites.js';
import { orgsOfUser } from '../../db/memberships.js';
import { getTotp } from '../../db/totp.js';
import { auditUserEvent } from '../../db/user-audit.js';
import { getUser, upsertDiscordUser } from '../../db/users.js';
import { AppError } from '../../lib/errors.js';
import { authorizeUrl, type DiscordOAuthClient, exchangeCode, fetchDiscordUser } from '../discord-oauth.js';
import { clearSessionCookie, SESSION_COOKIE, sessionTimes, setSessionCookie } from '../plugins/auth.js';
import { createSession, destroyAllSessions, destroySession, readSession } from '../sessions.js';
import { sessionOf, userActor } from './helpers.js';
import { errorResponses, okSchema } from './schemas.js';

const LOGIN_COOKIE = 'gm_login';
const LOGIN_TTL_SECONDS = 600;
const loginKey = (state: string) => `gm:oauth:${state}`;
const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');

const pendingLogin = z.object({ verifier: z.string(), binding: z.string(), returnTo: z.string() });

/** Only same-site paths: an open redirect after login is a phishing tool. */
const returnTo = z
  .string()
  .max(500)
  .regex(/^\/(?![/\\])[^\s]*$/, 'a path on this site, such as /panel/')
  .default('/');

export const sessionView = z.object({
  user: z.object({ id: z.uuid(), displayName: z.string(), avatarUrl: z.string().nullable() }),
  csrfToken: z.string(),
  mfa: z.enum(['none', 'pending', 'verified']),
  expiresAt: z.string(),
  orgs: z.array(z.object({ id: z.uuid(), name: z.string(), role: z.string() })),
});

export const authRoutes: FastifyPluginAsyncZod = async (app) => {
  const oauthClient = (): DiscordOAuthClient => {
    const { clientId, clientSecret, apiUrl } = app.settings.discord;
    if (!clientId || !clientSecret) {
      throw new AppError(
        'unavailable',
        'Discord login is not configured: set DISCORD_APPLICATION_ID and DISCORD_CLIENT_SECRET',
      );
    }
    return { apiUrl, clientId, clientSecret, redirectUri: `${app.settings.publicUrl}/auth/discord/callback` };
  };

  app.get(
    '/auth/discord/login',
    {
      config: { access: 'public', rateLimit: 'auth' },
      schema: {
        tags: ['auth'],
        summary: 'Start signing in with Discord (redirects to Discord)',
        querystring: z.object({ returnTo }),
        response: { 302: z.null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      const client = oauthClient();
      // state and the PKCE verifier are single-use and bound to this browser by a cookie nonce.
      const state = randomBytes(32).toString('base64url');
      const verifier = randomBytes(32).toString('base64url');
      const binding = randomBytes(32).toString('base64url');
      await app.deps.redis.set(
        loginKey(state),
        JSON.stringify({ verifier, binding: sha256(binding), returnTo: req.query.returnTo }),
        'EX',
        LOGIN_TTL_SECONDS,
      );
      reply.setCookie(LOGIN_COOKIE, binding, {
        path: '/auth',
        httpOnly: true,
        secure: app.settings.cookieSecure,
        sameSite: 'lax',
        maxAge: LOGIN_TTL_SECONDS,
      });
      return reply.redirect(authorizeUrl(client, state, sha256(verifier)), 302);
    },
  );

  app.get(
    '/auth/discord/callback',
    {
      config: { access: 'public', rateLimit: 'auth' },
      schema: {
        tags: ['auth'],
        summary: 'Where Discord sends the browser back; creates the session',
        querystring: z.object({
          code: z.string().min(1).max(500).optional(),
          state: z.string().min(1).max(200),
          error: z.string().max(100).optional(),
        }),
        response: { 302: z.null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      const raw = await app.deps.redis.getdel(loginKey(req.query.state));
      const pending = raw ? pendingLogin.safeParse(JSON.parse(raw)) : null;
      const binding = req.cookies[LOGIN_COOKIE];
      reply.clearCookie(LOGIN_COOKIE, { path: '/auth' });
      if (!pending?.success) {
        throw new AppError('bad_request', 'this sign-in link is unknown, used or expired: start again', {
          details: { reason: 'invalid_state' },
        });
      }
      if (!binding || sha256(binding) !== pending.data.binding) {
        throw new AppError('bad_request', 'this sign-in was started in another browser: start again', {
          details: { reason: 'state_not_bound' },
        });
      }
      if (req.query.error || !req.query.code) {
        throw new AppError(
          'bad_request',
          `Discord did not authorize the sign-in (${req.query.error ?? 'no code'})`,
          {
            details: { reason: req.query.error ?? 'no_code' },
          },
        );
      }
      const client = oauthClient();
      const accessToken = await exchangeCode(client, req.query.code, pending.data.verifier);
      const profile = await fetchDiscordUser(client, accessToken);
      const user = await upsertDiscordUser(app.deps.pool, {
        discordUserId: profile.id,
        username: profile.username,
        globalName: profile.global_name ?? null,
        avatar: profile.avatar ?? null,
      });
      await acceptDiscordInvites(app.deps.pool, user.id, profile.id);
      await auditUserEvent(app.deps.pool, userActor(req, user.id), 'user.signed_in', { via: 'discord' });
      // Rotation on login: whatever session this browser had (or was given) ends here. The route
      // is public, so the cookie is read here rather than by the auth hook.
      const previous = req.cookies[SESSION_COOKIE];
      const old = previous ? await readSession(app.deps.redis, previous, sessionTimes(app.settings)) : null;
      if (old) await destroySession(app.deps.redis, old);
      const totp = await getTotp(app.deps.pool, user.id);
      const { token } = await createSession(
        app.deps.redis,
        user.id,
        totp?.enabled ? 'pending' : 'none',
        sessionTimes(app.settings),
      );
      setSessionCookie(app, reply, token);
      return reply.redirect(pending.data.returnTo, 302);
    },
  );

  app.get(
    '/auth/session',
    {
      config: { access: 'session' },
      schema: {
        tags: ['auth'],
        summary: 'The signed-in user, their orgs and the CSRF token for writes',
        response: { 200: sessionView, ...errorResponses },
      },
    },
    async (req) => {
      const auth = sessionOf(req);
      const user = await getUser(app.deps.pool, auth.userId);
      const s = auth.session;
      const expires = Math.min(
        s.lastSeenAt + app.settings.sessionIdleSeconds * 1000,
        s.createdAt + app.settings.sessionAbsoluteSeconds * 1000,
      );
      return {
        user: { id: user.id, displayName: user.displayName, avatarUrl: user.avatarUrl },
        csrfToken: s.csrf,
        mfa: s.mfa,
        expiresAt: new Date(expires).toISOString(),
        orgs: s.mfa === 'pending' ? [] : await orgsOfUser(app.deps.pool, user.id),
      };
    },
  );

  app.post(
    '/auth/logout',
    {
      config: { access: 'session' },
      schema: { tags: ['auth'], summary: 'End this session', response: { 200: okSchema, ...errorResponses } },
    },
    async (req, reply) => {
      await destroySession(app.deps.redis, sessionOf(req).session);
      clearSessionCookie(app, reply);
      return { ok: true as const };
    },
  );

  app.post(
    '/auth/logout-everywhere',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['auth'],
        summary: 'End every session of the signed-in user, on every device',
        response: { 200: z.object({ ok: z.literal(true), ended: z.number().int() }), ...errorResponses },
      },
    },
    async (req, reply) => {
      const { userId } = sessionOf(req);
      const ended = await destroyAllSessions(app.deps.redis, userId);
      await auditUserEvent(app.deps.pool, userActor(req, userId), 'user.signed_out_everywhere', {
        sessions: ended,
      });
      clearSessionCookie(app, reply);
      return { ok: true as const, ended };
    },
  );
};
