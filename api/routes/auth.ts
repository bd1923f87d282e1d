import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { saveDiscordTokens } from '../../db/discord-tokens.js';
import { acceptDiscordInvites } from '../../db/invites.js';
import { orgsOfUser } from '../../db/memberships.js';
import { forgetPushDevices } from '../../db/push-subscriptions.js';
import { auditUserEvent } from '../../db/user-audit.js';
import {
  accountDisabled,
  getUser,
  isUserDisabled,
  upsertDiscordUser,
  userIdForDiscord,
} from '../../db/users.js';
import { AppError } from '../../lib/errors.js';
import { createSecretBox } from '../../lib/secret-box.js';
import { cookieOf } from '../cookies.js';
import {
  authorizeUrl,
  type DiscordOAuthClient,
  exchangeCode,
  fetchDiscordUser,
  LOGIN_SCOPES,
} from '../discord-oauth.js';
import { storedFrom, syncDiscordRoles } from '../discord-user-tokens.js';
import { clearSessionCookie, SESSION_COOKIE } from '../plugins/auth.js';
import { destroyRatingSession, isRatingToken } from '../rating-sessions.js';
import { destroyAllSessions, destroySession, type Session, sessionRef } from '../sessions.js';
import { signIn, signInToRate } from '../sign-in.js';
import { demoSignInRoutes } from './demo-signin.js';
import { sessionOf, userActor } from './helpers.js';
import { errorResponses, errorSchema, okSchema } from './schemas.js';

const LOGIN_COOKIE = 'gm_login';
const LOGIN_TTL_SECONDS = 600;
const loginKey = (state: string) => `gm:oauth:${state}`;
const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');

/** What the login step keeps under its `state`: the callback trusts this, never its own query. */
const pendingLogin = z.object({
  verifier: z.string(),
  binding: z.string(),
  returnTo: z.string(),
  // Logins started before purposes existed were the panel's.
  purpose: z.enum(['panel', 'rating']).default('panel'),
});

/** Only same-site paths: an open redirect after login is a phishing tool. */
const returnTo = z
  .string()
  .max(500)
  .regex(/^\/(?![/\\])[^\s]*$/, 'a path on this site, such as /panel/')
  .default('/');

const RATING_PAGE = /^\/rate\/[^/?#]+$/;

const loginQuery = z
  .object({
    returnTo,
    purpose: z
      .enum(Object.keys(LOGIN_SCOPES) as [keyof typeof LOGIN_SCOPES])
      .default('panel')
      .describe(
        `What the sign-in is for. \`panel\` (the default) asks Discord for \`${LOGIN_SCOPES.panel}\` and signs in to the panel and API. \`rating\` is a player rating a ticket: Discord is asked for \`${LOGIN_SCOPES.rating}\` only, no account is made and nothing is kept of the Discord grant (the session holds the Discord id alone), returnTo must be the rating page (/rate/...), and the session serves that page alone.`,
      ),
  })
  .refine((q) => q.purpose !== 'rating' || RATING_PAGE.test(q.returnTo), {
    path: ['returnTo'],
    message: 'a rating sign-in comes back to its rating page (/rate/...)',
  });

export const sessionView = z.object({
  user: z.object({ id: z.uuid(), displayName: z.string(), avatarUrl: z.string().nullable() }),
  csrfToken: z.string(),
  mfa: z.enum(['none', 'pending', 'verified']),
  expiresAt: z.string(),
  orgs: z.array(z.object({ id: z.uuid(), name: z.string(), role: z.string() })),
});

/** The signed-in person as /auth/session (and /v1/me for a session) describe them. */
export async function describeSession(
  app: FastifyInstance,
  auth: { userId: string; session: Session },
): Promise<z.infer<typeof sessionView>> {
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
}

/** The settings "Sign in with Discord" still needs, by their variable names (none when it is on). */
export function missingDiscordSettings(discord: { clientId?: string; clientSecret?: string }): string[] {
  return [
    ...(discord.clientId ? [] : ['DISCORD_APPLICATION_ID']),
    ...(discord.clientSecret ? [] : ['DISCORD_CLIENT_SECRET']),
  ];
}

export const authRoutes: FastifyPluginAsyncZod = async (app) => {
  await app.register(demoSignInRoutes);

  const oauthClient = (): DiscordOAuthClient => {
    const { clientId, clientSecret, apiUrl } = app.settings.discord;
    if (!clientId || !clientSecret) {
      // 501, not 503: nothing is down and a retry won't help; the operator has settings to set.
      throw new AppError(
        'not_configured',
        'Discord sign-in is not configured: set DISCORD_APPLICATION_ID and DISCORD_CLIENT_SECRET',
        { details: { settings: ['DISCORD_APPLICATION_ID', 'DISCORD_CLIENT_SECRET'] } },
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
        operationId: 'startDiscordLogin',
        summary: 'Start signing in with Discord (redirects to Discord)',
        querystring: loginQuery,
        response: { 302: z.null(), ...errorResponses, 501: errorSchema },
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
        JSON.stringify({
          verifier,
          binding: sha256(binding),
          returnTo: req.query.returnTo,
          purpose: req.query.purpose,
        }),
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
      return reply.redirect(authorizeUrl(client, state, sha256(verifier), req.query.purpose), 302);
    },
  );

  app.get(
    '/auth/discord/callback',
    {
      config: { access: 'public', rateLimit: 'auth' },
      schema: {
        tags: ['auth'],
        operationId: 'completeDiscordLogin',
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
      const binding = cookieOf(req, LOGIN_COOKIE);
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
      const grant = await exchangeCode(client, req.query.code, pending.data.verifier);
      const profile = await fetchDiscordUser(client, grant.accessToken);
      if (pending.data.purpose === 'rating') {
        // A player rating a ticket is not staff: no account is made (nor Discord tokens kept, nor
        // invites taken up), only a session holding their Discord id for the rating page. A staff
        // account of theirs that is disabled is refused here as at every other door.
        const account = await userIdForDiscord(app.deps.pool, profile.id);
        if (account && (await isUserDisabled(app.deps.pool, account))) throw accountDisabled();
        await signInToRate(app, req, reply, profile.id);
        return reply.redirect(pending.data.returnTo, 302);
      }
      const user = await upsertDiscordUser(app.deps.pool, {
        discordUserId: profile.id,
        username: profile.username,
        globalName: profile.global_name ?? null,
        avatar: profile.avatar ?? null,
      });
      // Refused before anything is kept for them (Discord tokens, invites): signIn refuses too.
      if (await isUserDisabled(app.deps.pool, user.id)) throw accountDisabled();
      // Kept sealed, so role sync can read the person's roles later (api/discord-user-tokens.ts).
      if (grant.refreshToken) {
        await saveDiscordTokens(
          app.deps.pool,
          createSecretBox(app.settings.secretKey),
          user.id,
          storedFrom(grant, app.settings.now(), grant.refreshToken),
        );
      }
      await acceptDiscordInvites(app.deps.pool, user.id, profile.id);
      await signIn(app, req, reply, user.id, 'discord');
      return reply.redirect(pending.data.returnTo, 302);
    },
  );

  app.post(
    '/auth/discord/sync-roles',
    {
      config: { access: 'authenticated', rateLimit: 'auth' },
      schema: {
        tags: ['auth'],
        operationId: 'syncDiscordRoles',
        summary: 'Read my Discord roles in my organizations’ servers again, with my Discord sign-in',
        response: {
          200: z.object({
            /** Servers whose roles were read; null when Discord sign-in has no usable token. */
            servers: z.number().int().nullable(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => ({ servers: await syncDiscordRoles(app, sessionOf(req).userId) }),
  );

  app.get(
    '/auth/session',
    {
      config: { access: 'session' },
      schema: {
        tags: ['auth'],
        operationId: 'getSession',
        summary: 'The signed-in user, their orgs and the CSRF token for writes',
        response: { 200: sessionView, ...errorResponses },
      },
    },
    async (req) => describeSession(app, sessionOf(req)),
  );

  app.post(
    '/auth/logout',
    {
      config: { access: 'session' },
      // A rating link's sign-in counts as no sign-in to the access check (api/rating-sessions.ts),
      // which would answer 401 and leave its cookie: it is ended here, before that check. It holds
      // nothing to protect with a CSRF token (one rating, and a SameSite=Lax cookie).
      onRequest: async (req, reply) => {
        const cookie = cookieOf(req, SESSION_COOKIE);
        if (!cookie || !isRatingToken(cookie)) return;
        await destroyRatingSession(app.deps.redis, cookie);
        clearSessionCookie(app, reply);
        return reply.send({ ok: true as const });
      },
      schema: {
        tags: ['auth'],
        operationId: 'logout',
        summary: "End this session (and Web Push to this browser), or a rating link's sign-in",
        body: z
          .object({
            /** This browser's push endpoint, when it has one (PushSubscription.endpoint). */
            pushEndpoint: z.url().max(2000).optional(),
          })
          .strict()
          .nullish(),
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { userId, session } = sessionOf(req);
      // Push goes with the session, before it ends (a failure here leaves the person signed in,
      // to try again, rather than signed out with a browser still showing the org's tickets).
      // The server removes what this session subscribed; the page names its endpoint for what it
      // subscribed under an earlier session, then unsubscribes the browser itself (panel/app.js).
      await forgetPushDevices(
        app.deps.pool,
        userId,
        // Someone who has not passed the second factor yet has no say over the person's devices.
        {
          sessionRef: sessionRef(session),
          endpoint: session.mfa === 'pending' ? undefined : req.body?.pushEndpoint,
        },
        userActor(req, userId),
      );
      await destroySession(app.deps.redis, session);
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
        operationId: 'logoutEverywhere',
        summary: 'End every session of the signed-in user, on every device',
        response: { 200: z.object({ ok: z.literal(true), ended: z.number().int() }), ...errorResponses },
      },
    },
    async (req, reply) => {
      const { userId } = sessionOf(req);
      // Every device of the person in every org: a stolen or forgotten browser's push ends with
      // its session, whichever session subscribed it.
      const pushDevices = await forgetPushDevices(
        app.deps.pool,
        userId,
        { all: true },
        userActor(req, userId),
      );
      const ended = await destroyAllSessions(app.deps.redis, userId);
      await auditUserEvent(app.deps.pool, userActor(req, userId), 'user.signed_out_everywhere', {
        sessions: ended,
        pushDevices,
      });
      clearSessionCookie(app, reply);
      return { ok: true as const, ended };
    },
  );
};
