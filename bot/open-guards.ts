import { randomUUID } from 'node:crypto';
import { playerTicketLoad } from '../db/discord-sync.js';
import { DEFAULT_LIMITS, type Guild } from '../db/guilds.js';
import type { Tx } from '../db/tenant.js';
import type { BotDeps } from './context.js';
import { refuse } from './say.js';

/**
 * What may stop a player opening a ticket: another open of theirs still in progress (a short
 * lock), or the guild's limits (blocked, too many open, cooldown).
 */

const localLocks = new Set<string>();
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** A short lock in Redis (or in this process without Redis); null when someone else holds it. */
export async function acquireLock(
  deps: BotDeps,
  name: string,
  ttlMs: number,
): Promise<(() => Promise<void>) | null> {
  if (!deps.redis) {
    if (localLocks.has(name)) return null;
    localLocks.add(name);
    return async () => {
      localLocks.delete(name);
    };
  }
  const redis = deps.redis;
  const key = `${deps.redisPrefix}:lock:${name}`;
  const token = randomUUID();
  if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') return null;
  return async () => {
    await redis.eval(RELEASE, 1, key, token);
  };
}

/** The player's limits (blocked, open tickets, cooldown); `lock` holds the profile row for the open. */
export async function checkPlayerLimits(
  tx: Tx,
  guild: Guild,
  playerId: string,
  lock: boolean,
): Promise<void> {
  const max = guild.settings.maxOpenPerPlayer ?? DEFAULT_LIMITS.maxOpenPerPlayer;
  const cooldown = guild.settings.cooldownSeconds ?? DEFAULT_LIMITS.cooldownSeconds;
  const load = await playerTicketLoad(tx, playerId, { lock });
  if (load.blocked) {
    throw load.blockedReason
      ? refuse('forbidden', 'open.blockedReason', { reason: load.blockedReason })
      : refuse('forbidden', 'open.blocked');
  }
  if (load.open >= max) {
    throw refuse('limit_reached', load.open === 1 ? 'open.limitOne' : 'open.limitMany', {
      open: load.open,
      max,
    });
  }
  if (load.lastCreatedAt) {
    const wait = Math.ceil(cooldown - (Date.now() - load.lastCreatedAt.getTime()) / 1000);
    if (wait > 0) throw refuse('rate_limited', 'open.cooldown', { seconds: wait });
  }
}
