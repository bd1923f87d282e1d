import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { getTotp } from '../db/totp.js';
import { auditUserEvent } from '../db/user-audit.js';
import { accountDisabled, isUserDisabled } from '../db/users.js';
import { cookieOf } from './cookies.js';
import { SESSION_COOKIE, sessionTimes, setSessionCookie } from './plugins/auth.js';
import { createRatingSession, destroyRatingSession, isRatingToken } from './rating-sessions.js';
import { userActor } from './routes/helpers.js';
import { createSession, destroySession, readSession } from './sessions.js';

/**
 * Starts a session for a person who just proved who they are (Discord, or the development demo
 * sign-in): audited as a sign-in, and rotated, so whatever session this browser had (or was
 * given) ends here. Sign-in routes are public, so the old cookie is read here rather than by the
 * auth hook. A person with TOTP still owes the second factor. A disabled account gets no session
 * (403, reason `account_disabled`), whichever door it came through.
 */
export async function signIn(
  app: FastifyInstance,
  req: FastifyRequest,
  reply: FastifyReply,
  userId: string,
  via: 'discord' | 'demo',
  cookie: { secure?: boolean } = {},
): Promise<void> {
  if (await isUserDisabled(app.deps.pool, userId)) throw accountDisabled();
  await auditUserEvent(app.deps.pool, userActor(req, userId), 'user.signed_in', { via });
  await endPreviousSession(app, req);
  const totp = await getTotp(app.deps.pool, userId);
  const { token } = await createSession(
    app.deps.redis,
    userId,
    totp?.enabled ? 'pending' : 'none',
    sessionTimes(app.settings),
  );
  setSessionCookie(app, reply, token, cookie);
}

/**
 * Signs a player in from a rating link (api/rating-sessions.ts): a rating session for the Discord
 * id the sign-in proved, rotated in as any sign-in is. No account is made and nothing is audited:
 * it opens nothing in any organization (so it owes no second factor either), and the rating
 * itself is recorded as the ticket's player.
 */
export async function signInToRate(
  app: FastifyInstance,
  req: FastifyRequest,
  reply: FastifyReply,
  discordUserId: string,
): Promise<void> {
  await endPreviousSession(app, req);
  const { token } = await createRatingSession(app.deps.redis, discordUserId, sessionTimes(app.settings));
  setSessionCookie(app, reply, token);
}

/** Ends the session this browser had, a panel's or a rating's. */
async function endPreviousSession(app: FastifyInstance, req: FastifyRequest): Promise<void> {
  const previous = cookieOf(req, SESSION_COOKIE);
  if (!previous) return;
  if (isRatingToken(previous)) return destroyRatingSession(app.deps.redis, previous);
  const old = await readSession(app.deps.redis, previous, sessionTimes(app.settings));
  if (old) await destroySession(app.deps.redis, old);
}
