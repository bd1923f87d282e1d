import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { getTotp } from '../db/totp.js';
import { auditUserEvent } from '../db/user-audit.js';
import { accountDisabled, isUserDisabled } from '../db/users.js';
import { cookieOf } from './cookies.js';
import type { LoginPurpose } from './discord-oauth.js';
import { SESSION_COOKIE, sessionTimes, setSessionCookie } from './plugins/auth.js';
import { userActor } from './routes/helpers.js';
import { createSession, destroySession, readSession } from './sessions.js';

/**
 * Starts a session for a person who just proved who they are (Discord, or the development demo
 * sign-in): audited as a sign-in, and rotated, so whatever session this browser had (or was
 * given) ends here. Sign-in routes are public, so the old cookie is read here rather than by the
 * auth hook. A person with TOTP still owes the second factor. A disabled account gets no session
 * (403, reason `account_disabled`), whichever door it came through. A sign-in from a rating link
 * (`purpose` `rating`) makes a session that serves the rating page alone, so it owes no second
 * factor: it opens nothing a second factor protects.
 */
export async function signIn(
  app: FastifyInstance,
  req: FastifyRequest,
  reply: FastifyReply,
  userId: string,
  via: 'discord' | 'demo',
  cookie: { secure?: boolean } = {},
  purpose: LoginPurpose = 'panel',
): Promise<void> {
  if (await isUserDisabled(app.deps.pool, userId)) throw accountDisabled();
  await auditUserEvent(app.deps.pool, userActor(req, userId), 'user.signed_in', {
    via,
    ...(purpose === 'rating' ? { purpose } : {}),
  });
  const previous = cookieOf(req, SESSION_COOKIE);
  const old = previous ? await readSession(app.deps.redis, previous, sessionTimes(app.settings)) : null;
  if (old) await destroySession(app.deps.redis, old);
  if (purpose === 'rating') {
    const { token } = await createSession(
      app.deps.redis,
      userId,
      'none',
      sessionTimes(app.settings),
      'rating',
    );
    setSessionCookie(app, reply, token, cookie);
    return;
  }
  const totp = await getTotp(app.deps.pool, userId);
  const { token } = await createSession(
    app.deps.redis,
    userId,
    totp?.enabled ? 'pending' : 'none',
    sessionTimes(app.settings),
  );
  setSessionCookie(app, reply, token, cookie);
}
