import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { redisScript } from '../lib/redis.js';
import { sessionMarkKey } from '../lib/session-marks.js';

/**
 * Server-side sessions in Redis. The browser holds a 256-bit random id; Redis holds only its
 * SHA-256, so a copy of Redis does not hand out live sessions. Expiry is checked against the
 * stored times (idle and absolute) with the app's clock; the key TTL only collects garbage.
 */
export const sessionSchema = z.object({
  key: z.string(),
  userId: z.uuid(),
  createdAt: z.number(),
  lastSeenAt: z.number(),
  /** Synchronizer token: cookie-authenticated writes must echo it in `x-csrf-token`. */
  csrf: z.string(),
  /** `pending`: signed in with Discord, second factor still owed; `verified`: TOTP done. */
  mfa: z.enum(['none', 'pending', 'verified']),
  /**
   * Stays the same when the session gets a new id (rotateSession), so what is tied to the session
   * (push subscriptions, through sessionRef) stays tied to it. Sessions made before it have none
   * and are known by their key.
   */
  lineage: z.string().optional(),
  /**
   * `rating`: made by a sign-in from a rating link before those had sessions of their own
   * (api/rating-sessions.ts, which make no account); such a session still shows the rating page
   * (api/routes/rating.ts) which Discord account the person is until it times out, and is no
   * sign-in anywhere else (api/plugins/auth.ts). Absent: the panel's sign-in.
   */
  purpose: z.literal('rating').optional(),
});
export type Session = z.infer<typeof sessionSchema>;

export interface SessionTimes {
  idleSeconds: number;
  absoluteSeconds: number;
  now: () => number;
}

const sessionKey = (hash: string) => `gm:sess:${hash}`;
const userIndexKey = (userId: string) => `gm:sess-user:${userId}`;
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');
/** Sliding the idle window costs a write, so it moves at most once a minute. */
const TOUCH_EVERY_MS = 60_000;

function ttlSeconds(s: Session, times: SessionTimes): number {
  const now = times.now();
  const idleLeft = s.lastSeenAt + times.idleSeconds * 1000 - now;
  const absLeft = s.createdAt + times.absoluteSeconds * 1000 - now;
  return Math.max(1, Math.ceil(Math.min(idleLeft, absLeft) / 1000) + 60);
}

/** Seconds the session has left to live: its mark lasts exactly that (lib/session-marks.ts). */
function lifeLeftSeconds(s: Session, times: SessionTimes): number {
  const now = times.now();
  const left =
    Math.min(s.lastSeenAt + times.idleSeconds * 1000, s.createdAt + times.absoluteSeconds * 1000) - now;
  return Math.max(1, Math.ceil(left / 1000));
}

async function save(redis: Redis, s: Session, times: SessionTimes): Promise<void> {
  await redis
    .multi()
    .set(sessionKey(s.key), JSON.stringify(s), 'EX', ttlSeconds(s, times))
    .sadd(userIndexKey(s.userId), s.key)
    .expire(userIndexKey(s.userId), times.absoluteSeconds + 60)
    .set(sessionMarkKey(sessionRef(s)), '1', 'EX', lifeLeftSeconds(s, times))
    .exec();
}

/**
 * Marks the session alive for workers (lib/session-marks.ts) without touching it: a session made
 * before marks existed has none until it next slides its idle window, and something tied to it
 * now (a push subscription) must not look orphaned meanwhile.
 */
export async function markSession(redis: Redis, s: Session, times: SessionTimes): Promise<void> {
  await redis.set(sessionMarkKey(sessionRef(s)), '1', 'EX', lifeLeftSeconds(s, times));
}

/** A new session; returns the token for the cookie (never stored). */
export async function createSession(
  redis: Redis,
  userId: string,
  mfa: Session['mfa'],
  times: SessionTimes,
  purpose?: Session['purpose'],
): Promise<{ token: string; session: Session }> {
  const token = randomBytes(32).toString('base64url');
  const now = times.now();
  const session: Session = {
    key: hashOf(token),
    userId,
    createdAt: now,
    lastSeenAt: now,
    csrf: randomBytes(32).toString('base64url'),
    mfa,
    lineage: randomBytes(16).toString('hex'),
    ...(purpose ? { purpose } : {}),
  };
  await save(redis, session, times);
  return { token, session };
}

/**
 * The live session behind a cookie token, or null when unknown, idle too long or too old. A read
 * counts as the person's activity and slides the idle window, unless `touch` is false: a check
 * made on the person's behalf (an open live socket asking every 30 s) must not keep a session
 * alive past its idle timeout.
 */
export async function readSession(
  redis: Redis,
  token: string,
  times: SessionTimes,
  { touch: slide = true }: { touch?: boolean } = {},
): Promise<Session | null> {
  if (token.length < 20 || token.length > 100) return null;
  const raw = await redis.get(sessionKey(hashOf(token)));
  if (!raw) return null;
  const parsed = sessionSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) return null;
  const s = parsed.data;
  const now = times.now();
  if (now - s.lastSeenAt >= times.idleSeconds * 1000 || now - s.createdAt >= times.absoluteSeconds * 1000) {
    await destroySession(redis, s);
    return null;
  }
  if (slide && now - s.lastSeenAt > TOUCH_EVERY_MS) {
    s.lastSeenAt = now;
    await touch(
      redis,
      [sessionKey(s.key), sessionMarkKey(sessionRef(s))],
      [now, ttlSeconds(s, times), lifeLeftSeconds(s, times)],
    );
  }
  return s;
}

/**
 * Slides the idle window by changing only `lastSeenAt` of what Redis holds now: writing back the
 * whole session read at the start of the request would undo a change made meanwhile (TOTP turned
 * off, which takes `verified` away from every session of the person). The session's mark for
 * workers moves with it.
 */
const touch = redisScript<number>(
  'gmSessionTouch',
  `local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local s = cjson.decode(raw)
s.lastSeenAt = tonumber(ARGV[1])
redis.call('SET', KEYS[1], cjson.encode(s), 'EX', ARGV[2])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
return 1`,
);

const downgrade = redisScript<number>(
  'gmSessionDowngrade',
  `local n = 0
for _, key in ipairs(KEYS) do
  local raw = redis.call('GET', key)
  if raw then
    local s = cjson.decode(raw)
    if s.mfa == 'verified' then
      s.mfa = 'none'
      redis.call('SET', key, cjson.encode(s), 'KEEPTTL')
      n = n + 1
    end
  end
end
return n`,
);

/**
 * Every session of the person that had passed TOTP counts as not having passed it any more (TOTP
 * turned off): orgs that require TOTP refuse them from their next request. The ids stay: losing a
 * privilege needs no new id, and the person goes on working where TOTP is not required. Sessions
 * still owing their code stay `pending`: turning TOTP off must not let a sign-in that never gave
 * the code in. Returns how many were downgraded.
 */
export async function downgradeVerifiedSessions(redis: Redis, userId: string): Promise<number> {
  const keys = await redis.smembers(userIndexKey(userId));
  if (keys.length === 0) return 0;
  return downgrade(redis, keys.map(sessionKey), []);
}

/**
 * Replaces a session with a fresh id (on login and on privilege change), so an id planted or
 * seen before the change is worth nothing after it. The absolute lifetime carries over.
 */
export async function rotateSession(
  redis: Redis,
  old: Session,
  changes: Partial<Pick<Session, 'mfa'>>,
  times: SessionTimes,
): Promise<{ token: string; session: Session }> {
  const token = randomBytes(32).toString('base64url');
  const session: Session = {
    ...old,
    ...changes,
    key: hashOf(token),
    lastSeenAt: times.now(),
    csrf: randomBytes(32).toString('base64url'),
  };
  await save(redis, session, times);
  await destroySession(redis, old);
  return { token, session };
}

/**
 * What Postgres keeps of a session to tie things to it (push subscriptions): a hash of its
 * lineage, the same across the new ids rotation gives it (of the key for sessions made before
 * lineages), so the database never holds the name of a live session's Redis entry.
 */
export function sessionRef(s: Pick<Session, 'key' | 'lineage'>): string {
  return createHash('sha256')
    .update(`ref:${s.lineage ?? s.key}`)
    .digest('hex');
}

export async function destroySession(redis: Redis, s: Session): Promise<void> {
  await redis.multi().del(sessionKey(s.key)).srem(userIndexKey(s.userId), s.key).exec();
}

/** Logout everywhere: every session of the user ends now. Returns how many there were. */
export async function destroyAllSessions(redis: Redis, userId: string): Promise<number> {
  const keys = await redis.smembers(userIndexKey(userId));
  if (keys.length === 0) return 0;
  const results = await redis
    .multi()
    .del(...keys.map(sessionKey))
    .del(userIndexKey(userId))
    .exec();
  return Number(results?.[0]?.[1] ?? 0);
}
