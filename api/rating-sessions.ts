import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { indexRatingSession } from '../lib/rating-session-index.js';
import type { SessionTimes } from './sessions.js';

/**
 * The sessions of players signed in from a rating link (Discord `identify` only). A player is not
 * staff: no account is made for them (no `users` or `discord_accounts` row, nothing an erasure
 * would have to find), and the session holds what the rating page needs and no more: the Discord
 * id the sign-in proved, and its CSRF token. Kept in Redis apart from the panel's sessions, so it
 * can never be read as one, for the idle timeout at most and never renewed: it serves one rating.
 * Its cookie (the session cookie) starts with `r.`, so the auth hook knows it at sight and counts
 * it as no sign-in at all, without a look-up.
 */
export interface RatingSession {
  discordUserId: string;
  csrf: string;
  createdAt: number;
}

const PREFIX = 'r.';
const stored = z.object({ discordUserId: z.string(), csrf: z.string(), createdAt: z.number() });
const keyOf = (token: string) => `gm:rate-sess:${createHash('sha256').update(token).digest('hex')}`;
const lifeMs = (t: SessionTimes) => Math.min(t.idleSeconds, t.absoluteSeconds) * 1000;

/** Whether a session cookie is a rating sign-in's (no look-up). */
export const isRatingToken = (token: string) => token.startsWith(PREFIX);

export async function createRatingSession(
  redis: Redis,
  discordUserId: string,
  times: SessionTimes,
): Promise<{ token: string; session: RatingSession }> {
  const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
  const session = { discordUserId, csrf: randomBytes(32).toString('base64url'), createdAt: times.now() };
  await redis.set(keyOf(token), JSON.stringify(session), 'PX', lifeMs(times));
  return { token, session };
}

/**
 * Files the session under the player of an organization it proved to be (the rating page, when
 * the session's Discord id is the ticket's player's), so erasing that player ends it at once
 * rather than at the idle timeout (workers, `rating.sessions_end`).
 */
export async function bindRatingSession(
  redis: Redis,
  token: string,
  to: { orgId: string; playerId: string },
  times: SessionTimes,
): Promise<void> {
  await indexRatingSession(redis, to.orgId, to.playerId, keyOf(token), lifeMs(times));
}

/** Ends a rating session (the browser signs in again, as anyone). */
export async function destroyRatingSession(redis: Redis, token: string): Promise<void> {
  await redis.del(keyOf(token));
}

/** The live rating session behind a cookie token, or null (unknown, too old, or not one). */
export async function readRatingSession(
  redis: Redis,
  token: string,
  times: SessionTimes,
): Promise<RatingSession | null> {
  if (!isRatingToken(token) || token.length > 100) return null;
  const raw = await redis.get(keyOf(token));
  const parsed = raw ? stored.safeParse(JSON.parse(raw)) : null;
  if (!parsed?.success) return null;
  // The key's TTL collects it; the app's clock decides (tests move it).
  return times.now() - parsed.data.createdAt < lifeMs(times) ? parsed.data : null;
}
