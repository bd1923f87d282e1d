import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { permissionsForScopes } from '../../db/api-tokens.js';
import type { Actor } from '../../db/changes.js';
import { memberAccess } from '../../db/memberships.js';
import { isUuid, withTenant } from '../../db/tenant.js';
import { isUserDisabled } from '../../db/users.js';
import { AppError } from '../../lib/errors.js';
import { resolveBearer } from '../bearer.js';
import { type ApiSettings, acceptedPermissions } from '../context.js';
import { cookieOf } from '../cookies.js';
import { isRatingToken } from '../rating-sessions.js';
import { destroyAllSessions, readSession, type SessionTimes } from '../sessions.js';
import { authFailureLimiter, DEFAULT_RATE_LIMITS, type RateLimit } from './rate-limit.js';
import { addRouteHook } from './route-hooks.js';

export const SESSION_COOKIE = 'gm_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const sessionTimes = (s: ApiSettings): SessionTimes => ({
  idleSeconds: s.sessionIdleSeconds,
  absoluteSeconds: s.sessionAbsoluteSeconds,
  now: s.now,
});

/** httpOnly so scripts can't read it; SameSite=Lax so cross-site pages can't post with it. */
export function setSessionCookie(
  app: FastifyInstance,
  reply: FastifyReply,
  token: string,
  opts: { secure?: boolean } = {},
) {
  reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    secure: opts.secure ?? app.settings.cookieSecure,
    sameSite: 'lax',
    maxAge: app.settings.sessionAbsoluteSeconds,
  });
}

export function clearSessionCookie(app: FastifyInstance, reply: FastifyReply) {
  reply.clearCookie(SESSION_COOKIE, {
    path: '/',
    httpOnly: true,
    secure: app.settings.cookieSecure,
    sameSite: 'lax',
  });
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const notFoundOrg = () => new AppError('not_found', 'organization not found');

/**
 * Who is calling (onRequest) and what they may do (preValidation: before the body is looked at,
 * so a caller without access learns nothing about what a route would accept).
 * A bearer token wins over a cookie. Ids of orgs the caller can't see answer 404, never 403, so
 * probing can't tell "exists" from "not yours".
 */
export function registerAuth(
  app: FastifyInstance,
  failureLimit: RateLimit = DEFAULT_RATE_LIMITS.authFailures,
) {
  const failures = authFailureLimiter(app, failureLimit);
  app.decorateRequest('auth', null);
  app.decorateRequest('org', null);
  app.decorateRequest('inOrg', function inOrg(this: FastifyRequest, fn) {
    if (!this.org) throw new AppError('internal', 'route used inOrg without an org permission');
    return withTenant(app.deps.pool, this.org.orgId, fn);
  });

  // Public routes need no caller (and /metrics reads its own bearer secret); the game SDK routes
  // check their game key themselves (api/routes/sdk-auth.ts).
  const guarded = (c: { access?: unknown }) =>
    c.access !== 'public' && c.access !== 'game-client' && c.access !== 'game-server';
  addRouteHook(app, 'onRequest', guarded, async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const [scheme, value] = header.split(' ', 2);
      if (scheme?.toLowerCase() !== 'bearer' || !value) {
        await failures.failed(req, reply);
        throw new AppError('unauthenticated', 'Authorization must be "Bearer <API token>"');
      }
      let token = app.tokenCache.get(value) ?? null;
      if (!token) {
        // Failed guesses from this address are limited (plugins/rate-limit.ts).
        await failures.check(req, reply);
        token = await resolveBearer(app, value);
        if (!token) {
          await failures.failed(req, reply);
          throw new AppError('unauthenticated', 'the API token is unknown, revoked or expired');
        }
        app.tokenCache.set(value, token);
      }
      req.auth = {
        kind: 'token',
        tokenId: token.tokenId,
        orgId: token.orgId,
        scopes: token.scopes,
        userId: token.userId ?? null,
        ...(token.via ? { via: token.via } : {}),
      };
      return;
    }
    const cookie = cookieOf(req, SESSION_COOKIE);
    // A rating sign-in (identify only) shows the rating page who the player is, and is no sign-in
    // here: not to the panel, the API, an organization to create or an invite to take up. Its
    // session is not a panel session at all (api/rating-sessions.ts); sessions made as one before
    // carry the rating purpose.
    if (!cookie || isRatingToken(cookie)) return;
    const session = await readSession(app.deps.redis, cookie, sessionTimes(app.settings));
    if (session?.purpose === 'rating') return;
    if (session) req.auth = { kind: 'session', userId: session.userId, session };
    // A cookie naming no session (guessed, or simply expired) counts as a failure too.
    else await failures.failed(req, reply);
  });

  addRouteHook(app, 'preValidation', guarded, async (req: FastifyRequest) => {
    const access = req.routeOptions.config.access;
    // Never true (the hook isn't attached to public or game routes); it narrows the type below.
    if (access === 'public' || access === 'game-client' || access === 'game-server') return;
    // Fail closed: a route that forgot to declare its access serves nobody.
    if (access === undefined)
      throw new AppError('internal', `route ${req.routeOptions.url} declares no access`);
    const auth = req.auth;
    if (!auth) throw new AppError('unauthenticated', 'sign in first (session cookie or API token)');
    if (auth.kind === 'session') {
      // Double-submit is not enough when subdomains can set cookies; the token lives server-side.
      const csrf = req.headers['x-csrf-token'];
      if (
        !SAFE_METHODS.has(req.method) &&
        (typeof csrf !== 'string' || !sameSecret(csrf, auth.session.csrf))
      ) {
        throw new AppError('forbidden', 'missing or wrong x-csrf-token header (GET /auth/session gives it)', {
          details: { reason: 'csrf' },
        });
      }
      if (access !== 'session' && auth.session.mfa === 'pending') {
        throw new AppError(
          'unauthenticated',
          'enter your authenticator code first (POST /auth/totp/verify)',
          {
            details: { reason: 'totp_pending' },
          },
        );
      }
    }
    // A person's own routes (their account, their org list, TOTP, the live socket) read no org
    // membership, so the account's state is read here; org routes get it from memberAccess. These
    // routes are few and not hot, so the look-up costs nothing that matters.
    if (
      auth.kind === 'session' &&
      (access === 'caller' || access === 'session' || access === 'authenticated') &&
      (await isUserDisabled(app.deps.pool, auth.userId))
    ) {
      await destroyAllSessions(app.deps.redis, auth.userId);
      throw new AppError('unauthenticated', 'this account is disabled', {
        details: { reason: 'account_disabled' },
      });
    }
    // Any fully signed-in caller, person or token; the handler tells them apart.
    if (access === 'caller') return;
    if (access === 'session' || access === 'authenticated') {
      if (auth.kind !== 'session')
        throw new AppError('forbidden', 'this route needs a signed-in user, not an API token');
      return;
    }

    const orgId = (req.params as { orgId?: unknown }).orgId;
    if (!isUuid(orgId)) throw notFoundOrg();
    const ip = req.ip;
    const requestId = String(req.id);
    const accepted = acceptedPermissions(access);
    if (auth.kind === 'token') {
      if (auth.orgId !== orgId) throw notFoundOrg();
      let permissions = permissionsForScopes(auth.scopes);
      if (auth.userId) {
        // A token a staff member made, or an OAuth client acting for one, holds no more than that
        // member holds now: read on every request, cached token or not, so a demotion, a role
        // edit, a removal or a disabled account takes effect on the next request.
        const member = await withTenant(app.deps.pool, orgId, (tx) =>
          memberAccess(tx, auth.userId as string),
        );
        if (member.permissions.size === 0) throw notFoundOrg();
        permissions = new Set([...permissions].filter((p) => member.permissions.has(p)));
      }
      if (!accepted.some((p) => permissions.has(p))) {
        throw new AppError('forbidden', `the token's scopes do not grant ${accepted.join(' or ')}`, {
          details: { reason: 'insufficient_scope', permission: accepted[0], anyOf: accepted },
        });
      }
      req.org = { orgId, actor: { type: 'token', id: auth.tokenId, ip, requestId }, permissions };
      return;
    }
    const { permissions, requireTotp } = await withTenant(app.deps.pool, orgId, (tx) =>
      memberAccess(tx, auth.userId),
    );
    if (permissions.size === 0) throw notFoundOrg();
    if (requireTotp && auth.session.mfa !== 'verified') {
      throw new AppError(
        'forbidden',
        'this organization requires two-factor sign-in: enrol TOTP and sign in again',
        {
          details: { reason: 'totp_required' },
        },
      );
    }
    if (!accepted.some((p) => permissions.has(p))) {
      throw new AppError('forbidden', `your role does not grant ${accepted.join(' or ')}`, {
        details: { reason: 'missing_permission', permission: accepted[0], anyOf: accepted },
      });
    }
    const actor: Actor = { type: 'user', id: auth.userId, ip, requestId };
    req.org = { orgId, actor, permissions };
  });
}
