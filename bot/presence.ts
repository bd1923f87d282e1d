import { touchPresence } from '../lib/presence.js';
import type { BotDeps } from './context.js';

/**
 * A staff member's activity on Discord (an interaction, a message in a ticket) keeps them online
 * in the org (lib/presence.ts). Per process, at most one write per member per 30 s: presence lasts
 * 120 s, and a busy moderator's every click need not reach Redis. Never awaited by the caller's
 * work: presence is no reason to fail or slow an answer.
 */
const EVERY_MS = 30_000;
const lastTouch = new Map<string, number>();

export function staffActive(deps: BotDeps, orgId: string, userId: string, now = Date.now()): void {
  if (!deps.redis) return;
  const key = `${orgId}:${userId}`;
  if (now - (lastTouch.get(key) ?? Number.NEGATIVE_INFINITY) < EVERY_MS) return;
  // Forget old marks before the map grows with every member a long-running shard has seen.
  if (lastTouch.size > 10_000) for (const [k, at] of lastTouch) if (now - at >= EVERY_MS) lastTouch.delete(k);
  lastTouch.set(key, now);
  touchPresence(deps.redis, orgId, userId, 'discord', new Date(now)).catch((err) =>
    deps.logger.warn({ err }, 'staff presence not recorded'),
  );
}
