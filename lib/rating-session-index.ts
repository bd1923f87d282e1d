import type { Redis } from 'ioredis';

/**
 * Which rating sign-in sessions (api/rating-sessions.ts) served which player of an organization:
 * such a session holds the person's Discord id for the idle timeout, and erasing the player must
 * not leave it there that long. The API files a session under the player it proved to be the
 * moment the rating page sees it do so; the workers end what is filed when the player is erased
 * (`rating.sessions_end`, fed by `player.erased`). Ids only: the index names no Discord account.
 */
const indexKey = (orgId: string, playerId: string) => `gm:rate-sess-of:${orgId}:${playerId}`;
/** Only a rating session's own key is ever deleted through the index. */
const SESSION_PREFIX = 'gm:rate-sess:';

/** Files a rating session's Redis key under a player, for as long as such a session can live. */
export async function indexRatingSession(
  redis: Redis,
  orgId: string,
  playerId: string,
  sessionKey: string,
  lifeMs: number,
): Promise<void> {
  const key = indexKey(orgId, playerId);
  // Sessions are never renewed, so the latest one filed outlives every earlier one.
  await redis.multi().sadd(key, sessionKey).pexpire(key, lifeMs).exec();
}

/** Ends every rating session filed under the player, and the index. Returns how many were live. */
export async function endRatingSessionsOf(redis: Redis, orgId: string, playerId: string): Promise<number> {
  const key = indexKey(orgId, playerId);
  const sessions = (await redis.smembers(key)).filter((k) => k.startsWith(SESSION_PREFIX));
  const [ended] = await Promise.all([sessions.length ? redis.del(...sessions) : 0, redis.del(key)]);
  return ended;
}
