import { randomUUID } from 'node:crypto';
import { playerTicketLoad } from '../db/discord-sync.js';
import { DEFAULT_LIMITS, type Guild } from '../db/guilds.js';
import type { Tx } from '../db/tenant.js';
import { AppError } from '../lib/errors.js';
import type { BotDeps } from './context.js';

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
    throw new AppError(
      'forbidden',
      `You cannot open tickets here${load.blockedReason ? `: ${load.blockedReason}.` : '.'} Contact the server's staff if you think this is a mistake.`,
    );
  }
  if (load.open >= max) {
    throw new AppError(
      'limit_reached',
      `You already have ${load.open} open ticket${load.open === 1 ? '' : 's'} (the limit here is ${max}). Please continue in ${load.open === 1 ? 'it' : 'one of them'}, or wait until staff close one.`,
    );
  }
  if (load.lastCreatedAt) {
    const wait = Math.ceil(cooldown - (Date.now() - load.lastCreatedAt.getTime()) / 1000);
    if (wait > 0) throw new AppError('rate_limited', `Please wait ${wait} s before opening another ticket.`);
  }
}
