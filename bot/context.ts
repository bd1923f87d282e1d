import type { Client } from 'discord.js';
import type { Redis } from 'ioredis';
import type { Category } from '../db/categories.js';
import { MIRROR_LOOKUP_TTL_MS } from '../db/discord-mirrors.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../lib/logger.js';
import type { SecretBox } from '../lib/secret-box.js';
import type { TicketPages } from '../lib/ticket-links.js';
import { TtlCache } from './cache.js';

/** What every handler gets: the database, Redis, the logger and the process-wide caches. */
export interface BotDeps {
  pool: Pool;
  redis?: Redis | undefined;
  /** Prefix of the bot's Redis keys (session-start buckets, locks). */
  redisPrefix: string;
  logger: Logger;
  client: Client;
  /** Seals and opens channel webhook tokens stored on tickets (lib/secret-box.ts). */
  box: SecretBox;
  /** Signed links to a ticket's web pages (its transcript for the player). */
  ticketPages: TicketPages;
  /** Guild id → org id (null: not linked). Short-lived, so /setup elsewhere shows up quickly. */
  orgs: TtlCache<string, string | null>;
  /** Org id → categories, for building modals without a database round trip inside the 3 s. */
  categories: TtlCache<string, Category[]>;
  /**
   * Channels known not to carry a ticket, so chatter in a busy server costs no database round
   * trip per message. Only channels older than a few minutes are remembered: a ticket's channel is
   * always new, and may see a message just before its ticket is committed.
   */
  nonTicketChannels: TtlCache<string, true>;
  /**
   * Org id → its mirrored Discord channels (channel id → mirror and conversation). Short-lived
   * (`MIRROR_LOOKUP_TTL_MS`): a new mirror is seen within that, and the backfill waits longer than it.
   */
  mirrors: TtlCache<string, Map<string, { mirrorId: string; guildId: string; channelId: string }>>;
  /** Parent channel id → the channel webhook the bot posts staff replies through. */
  webhooks: Map<string, { id: string; token: string }>;
  /** True for a webhook id the bot created or uses (its posts are never mirrored back). */
  isOurWebhook: (webhookId: string) => boolean;
  /**
   * How long a first DM's server search may wait for its member look-ups behind other searches
   * (bot/dm-open.ts); past it the player is asked to write again. Unset: 10 s.
   */
  dmSearchMaxWaitMs?: number;
}

export function createCaches() {
  return {
    orgs: new TtlCache<string, string | null>(60_000, 10_000),
    categories: new TtlCache<string, Category[]>(60_000, 10_000),
    nonTicketChannels: new TtlCache<string, true>(300_000, 50_000),
    mirrors: new TtlCache<string, Map<string, { mirrorId: string; guildId: string; channelId: string }>>(
      MIRROR_LOOKUP_TTL_MS,
      10_000,
    ),
    webhooks: new Map<string, { id: string; token: string }>(),
  };
}
