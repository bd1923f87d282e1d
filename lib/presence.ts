import type { Redis } from 'ioredis';
import { z } from 'zod';
import { redisScript } from './redis.js';

/**
 * Staff presence: whether a member is at work right now (online), chose to be left alone (away),
 * or has not been seen for a while (offline). Assignment reads it (workers/), the panel and
 * `/team` show it.
 *
 * One hash per org, `gm:staff-presence:<orgId>`, userId -> `{"at": ms, "chosen": "away"?}`, in
 * the same Redis as the live hub's viewer presence (api/live-hub.ts). The hash has no expiry:
 * "offline for 40 minutes" needs the last sighting after the TTL has run out; entries not seen
 * for 30 days are dropped when a member comes back online, so the hash holds no more than the
 * org's recently active staff. Each call is one round trip (a Lua script or one HMGET/HGETALL).
 * A write that changes a member's state publishes `{ userId, state, lastSeenAt }` on the org's
 * presence channel, where open panels hear it (api/live-hub.ts). Going offline is not a write
 * (nothing happens when someone leaves): readers compute it from `lastSeenAt` and the TTL.
 */

export type PresenceState = 'online' | 'away' | 'offline';
export type PresenceSource = 'panel' | 'discord' | 'api';
export interface MemberPresence {
  userId: string;
  state: PresenceState;
  /** last activity seen from any source; null: never (or expired from the record) */
  lastSeenAt: Date | null;
  /** set by the member ('away' chosen by hand), else null */
  chosen: 'away' | null;
}

/** A member with no activity for this long is offline. */
export const PRESENCE_TTL_S = 120;
/** Entries older than this are dropped from the org's hash on write. */
const FORGET_AFTER_MS = 30 * 24 * 3600 * 1000;

const presenceKey = (orgId: string) => `gm:staff-presence:${orgId}`;
/** The channel the live hub already follows for viewer presence (api/live-hub.ts). */
export const presenceChannel = (orgId: string) => `gm:presence-ch:${orgId}`;

/** What the org's presence channel carries when a member's state changes. */
export const staffPresenceMessage = z.object({
  userId: z.string().min(1),
  state: z.enum(['online', 'away', 'offline']),
  /** ms since the epoch */
  lastSeenAt: z.number(),
});

const entrySchema = z.object({ at: z.number(), chosen: z.literal('away').nullish() });

// KEYS[1] the org's hash. ARGV: userId, now ms, at ms, ttl ms, forget-before ms, channel, mode
// ('touch' | 'online' | 'away'). The state before and after are computed here, inside the
// script, so two writers racing never both miss (or both announce) a change.
// Returns the new state when it changed, else false.
const WRITE_SCRIPT = `
local function stateOf(raw, now, ttl)
  if not raw then return 'offline' end
  local e = cjson.decode(raw)
  if e.at <= now - ttl then return 'offline' end
  if e.chosen == 'away' then return 'away' end
  return 'online'
end
local key, user = KEYS[1], ARGV[1]
local now, at, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local raw = redis.call('hget', key, user)
local before = stateOf(raw, now, ttl)
local seen, chosen = at, nil
if raw then
  local e = cjson.decode(raw)
  if e.at > seen then seen = e.at end
  if e.chosen == 'away' then chosen = 'away' end
end
local mode = ARGV[7]
if mode == 'away' then chosen = 'away' elseif mode == 'online' then chosen = nil end
local entry = cjson.encode({ at = seen, chosen = chosen })
redis.call('hset', key, user, entry)
local after = stateOf(entry, now, ttl)
if after == before then return false end
-- Coming back is rare (a state change), so the sweep of long-gone members rides on it.
local all = redis.call('hgetall', key)
local forget = tonumber(ARGV[5])
for i = 1, #all, 2 do
  if cjson.decode(all[i + 1]).at < forget then redis.call('hdel', key, all[i]) end
end
redis.call('publish', ARGV[6], cjson.encode({ userId = user, state = after, lastSeenAt = seen }))
return after
`;
const writePresence = redisScript<string | null>('gmStaffPresence', WRITE_SCRIPT);

async function write(
  redis: Redis,
  orgId: string,
  userId: string,
  mode: 'touch' | 'online' | 'away',
  at: Date,
): Promise<void> {
  const now = Math.max(Date.now(), at.getTime());
  await writePresence(
    redis,
    [presenceKey(orgId)],
    [userId, now, at.getTime(), PRESENCE_TTL_S * 1000, now - FORGET_AFTER_MS, presenceChannel(orgId), mode],
  );
}

/** Activity from a member (a panel heartbeat, a Discord interaction or message in a ticket, an API call made with their session). Keeps them online for PRESENCE_TTL_S unless they chose away. */
export async function touchPresence(
  redis: Redis,
  orgId: string,
  userId: string,
  _source: PresenceSource,
  at: Date = new Date(),
): Promise<void> {
  await write(redis, orgId, userId, 'touch', at);
}

/** The member's own choice: 'away' sticks until they choose 'online' (their next activity keeps lastSeenAt fresh but not the state). */
export async function choosePresence(
  redis: Redis,
  orgId: string,
  userId: string,
  state: 'online' | 'away',
): Promise<void> {
  await write(redis, orgId, userId, state, new Date());
}

function readEntry(userId: string, raw: string | null | undefined, now: number): MemberPresence {
  const parsed = raw ? entrySchema.safeParse(JSON.parse(raw)) : null;
  if (!parsed?.success) return { userId, state: 'offline', lastSeenAt: null, chosen: null };
  const { at, chosen } = parsed.data;
  const fresh = at > now - PRESENCE_TTL_S * 1000;
  const state: PresenceState = !fresh ? 'offline' : chosen === 'away' ? 'away' : 'online';
  return { userId, state, lastSeenAt: new Date(at), chosen: chosen ?? null };
}

/** Each member's presence (offline with `lastSeenAt: null` for one never seen). `now` is for tests. */
export async function presenceOf(
  redis: Redis,
  orgId: string,
  userIds: string[],
  now: Date = new Date(),
): Promise<Map<string, MemberPresence>> {
  const out = new Map<string, MemberPresence>();
  if (!userIds.length) return out;
  const raws = await redis.hmget(presenceKey(orgId), ...userIds);
  for (const [i, id] of userIds.entries()) out.set(id, readEntry(id, raws[i], now.getTime()));
  return out;
}

/**
 * The members online now (seen within the TTL and not away by choice): whom assignment may hand
 * a ticket, whether a rule runs from the outbox or by hand. One HGETALL of the org's hash, which
 * holds only its recently active staff.
 */
export async function onlineMembers(
  redis: Redis,
  orgId: string,
  now: Date = new Date(),
): Promise<Set<string>> {
  const all = await redis.hgetall(presenceKey(orgId));
  const online = new Set<string>();
  for (const [userId, raw] of Object.entries(all))
    if (readEntry(userId, raw, now.getTime()).state === 'online') online.add(userId);
  return online;
}

/** Members seen in the org at all (for the sweep): userId -> lastSeenAt */
export async function membersSeen(redis: Redis, orgId: string): Promise<Map<string, Date>> {
  const all = await redis.hgetall(presenceKey(orgId));
  const out = new Map<string, Date>();
  for (const [userId, raw] of Object.entries(all)) {
    const seen = readEntry(userId, raw, Date.now()).lastSeenAt;
    if (seen) out.set(userId, seen);
  }
  return out;
}
