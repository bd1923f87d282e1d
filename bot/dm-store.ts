import { z } from 'zod';
import { attachmentMeta } from '../db/discord-sync.js';
import { snowflake } from '../db/schemas.js';
import { LOCALES, type Locale } from '../lib/i18n/locales.js';
import type { BotDeps } from './context.js';

/**
 * Short-lived modmail state in Redis (shared by every shard and machine; in this process when
 * there is no Redis): what a player wrote before choosing a server and category, and the per-user
 * DM rate.
 */

/** How long a player has to choose a server and category before what they wrote is forgotten. */
export const PENDING_TTL_MS = 15 * 60_000;
/** DMs per user per minute the bot records; past it the sender is asked (once) to slow down. */
export const DM_RATE_PER_MINUTE = 20;
/** DMs kept while a player chooses: a flood waits here rather than making tickets. */
const MAX_PENDING = 10;

export const pendingDm = z.object({
  id: snowflake,
  body: z.string().max(16_000),
  attachments: z.array(attachmentMeta).max(10),
});
export type PendingDm = z.infer<typeof pendingDm>;
const pendingSchema = z.object({ messages: z.array(pendingDm).min(1).max(MAX_PENDING) });

const local = new Map<string, { value: string; expires: number }>();
const localGet = (key: string) => {
  const hit = local.get(key);
  if (!hit || hit.expires < Date.now()) return null;
  return hit.value;
};

const key = (deps: BotDeps, kind: string, userId: string) => `${deps.redisPrefix}:dm:${kind}:${userId}`;

/**
 * Two lists of DMs kept while the player chooses: `pending`, written before a ticket exists
 * (while choosing a server and category), and `unrouted`, written while the player has open
 * tickets with more than one organization (while choosing which one a message is for).
 */
type Kept = 'pending' | 'unrouted';

async function readKept(deps: BotDeps, kind: Kept, userId: string): Promise<PendingDm[]> {
  const k = key(deps, kind, userId);
  const raw = deps.redis ? await deps.redis.get(k) : localGet(k);
  if (!raw) return [];
  // Read back through the schema: a value written by another version of the bot may differ.
  const parsed = pendingSchema.safeParse(JSON.parse(raw));
  return parsed.success ? parsed.data.messages : [];
}

async function addKept(deps: BotDeps, kind: Kept, userId: string, m: PendingDm): Promise<PendingDm[] | null> {
  const list = await readKept(deps, kind, userId);
  if (list.some((x) => x.id === m.id)) return list;
  if (list.length >= MAX_PENDING) return null;
  const next = [...list, m];
  const k = key(deps, kind, userId);
  const value = JSON.stringify({ messages: next });
  if (deps.redis) await deps.redis.set(k, value, 'PX', PENDING_TTL_MS);
  else local.set(k, { value, expires: Date.now() + PENDING_TTL_MS });
  return next;
}

async function clearKept(deps: BotDeps, kind: Kept, userId: string): Promise<void> {
  const k = key(deps, kind, userId);
  if (deps.redis) await deps.redis.del(k);
  else local.delete(k);
}

/** The DMs a player wrote while choosing a server, oldest first; [] when none or expired. */
export const readPending = (deps: BotDeps, userId: string) => readKept(deps, 'pending', userId);

/**
 * Adds a DM to the player's pending ones (idempotent on its id). Returns the list, or null when
 * it is full: the sender is told to choose first.
 */
export const addPending = (deps: BotDeps, userId: string, m: PendingDm) =>
  addKept(deps, 'pending', userId, m);

export const clearPending = (deps: BotDeps, userId: string) => clearKept(deps, 'pending', userId);

/** The DMs waiting for the player to say which of their tickets they are for, oldest first. */
export const readUnrouted = (deps: BotDeps, userId: string) => readKept(deps, 'unrouted', userId);

/** Keeps a DM until the player chooses its ticket; null when 10 are already waiting. */
export const addUnrouted = (deps: BotDeps, userId: string, m: PendingDm) =>
  addKept(deps, 'unrouted', userId, m);

export const clearUnrouted = (deps: BotDeps, userId: string) => clearKept(deps, 'unrouted', userId);

/**
 * The language a player's DM conversation was started in (worked out once, at their first DM,
 * from the servers it could go to), so the messages that follow it keep to it.
 */
export async function rememberLocale(deps: BotDeps, userId: string, locale: Locale): Promise<void> {
  const k = key(deps, 'locale', userId);
  if (deps.redis) await deps.redis.set(k, locale, 'PX', PENDING_TTL_MS);
  else local.set(k, { value: locale, expires: Date.now() + PENDING_TTL_MS });
}

export async function rememberedLocale(deps: BotDeps, userId: string): Promise<Locale | null> {
  const k = key(deps, 'locale', userId);
  const raw = deps.redis ? await deps.redis.get(k) : localGet(k);
  return raw && (LOCALES as readonly string[]).includes(raw) ? (raw as Locale) : null;
}

/**
 * Counts a DM against the sender's minute. `over` past the limit; `warn` only for the first DM
 * past it, so a flood gets one answer, not one per message.
 */
export async function countDm(deps: BotDeps, userId: string): Promise<{ over: boolean; warn: boolean }> {
  const k = key(deps, 'rate', `${userId}:${Math.floor(Date.now() / 60_000)}`);
  let n: number;
  if (deps.redis) {
    const [[, count]] = (await deps.redis.multi().incr(k).pexpire(k, 61_000).exec()) as [[unknown, number]];
    n = count;
  } else {
    n = Number(localGet(k) ?? 0) + 1;
    local.set(k, { value: String(n), expires: Date.now() + 61_000 });
  }
  return { over: n > DM_RATE_PER_MINUTE, warn: n === DM_RATE_PER_MINUTE + 1 };
}
