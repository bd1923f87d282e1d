import {
  type CacheFactory,
  Client,
  type ClientOptions,
  GatewayIntentBits,
  LimitedCollection,
  Options,
  Partials,
} from 'discord.js';
import type { Redis } from 'ioredis';
import { DEFAULT_BOT_CACHE } from '../lib/config.js';
import type { AckTable } from './acks.js';
import { gatewayThreadStrategy } from './gateway.js';
import { IDENTIFY_WINDOW_MS, LocalIdentifyThrottler, RedisIdentifyThrottler } from './identify-throttler.js';
import { exemptInteractionTokens } from './interaction-rest.js';

export interface ClientSettings {
  apiUrl: string;
  /** Shards this client runs; undefined means all of `shardCount` (or Discord's recommendation). */
  shards?: readonly number[] | undefined;
  shardCount?: number | undefined;
  /** The privileged MessageContent intent: needed to mirror what players write in ticket threads. */
  messageContent: boolean;
  /** Coordinates session starts across processes and machines. */
  redis?: Redis | undefined;
  redisPrefix?: string;
  /** discord.js's default caches instead of the lean ones (for the memory benchmark). */
  defaultCache?: boolean;
  cache?: CacheSizes | undefined;
  /**
   * Discord's identify window (5 s). Only tests against the fake Discord shorten it, together
   * with the fake's own window, to start many shards in seconds.
   */
  identifyWindowMs?: number;
  /** Called when another process starts a session this process's shards queue behind. */
  onOthersIdentify?: () => void;
  /** How each interaction is first answered: the gateway thread acknowledges the deferred ones. */
  acks: () => AckTable;
}

/**
 * Intents: guilds (channels, threads, roles), guild messages (ticket conversation sync) and
 * direct messages (modmail: a DM's content needs no MessageContent; its channel arrives as a
 * partial, since the DM channel cache is empty); no
 * GuildMembers or GuildPresences (privileged, and the heaviest caches). Member roles arrive with
 * every interaction and message, so the member cache only keeps recently active members.
 */
export function botIntents(messageContent: boolean): GatewayIntentBits[] {
  return [
    GatewayIntentBits.Guilds,
    GatewayIntentBits.GuildMessages,
    GatewayIntentBits.DirectMessages,
    ...(messageContent ? [GatewayIntentBits.MessageContent] : []),
  ];
}

/** The caches that are off: the bot never reads them (it works by id through REST). */
const OFF = new Set([
  'MessageManager',
  'ReactionManager',
  'ReactionUserManager',
  'PresenceManager',
  'VoiceStateManager',
  'StageInstanceManager',
  'GuildEmojiManager',
  'BaseGuildEmojiManager',
  'GuildStickerManager',
  'GuildScheduledEventManager',
  'GuildBanManager',
  'GuildInviteManager',
  'AutoModerationRuleManager',
  'ApplicationCommandManager',
  'GuildApplicationCommandManager',
  'GuildMessageManager',
  'DMMessageManager',
  'ThreadMemberManager',
  'GuildForumThreadManager',
  'GuildTextThreadManager',
]);
/** Shared by every cache that is off: a maxSize 0 collection never stores an entry. */
const NEVER = new LimitedCollection<unknown, unknown>({ maxSize: 0 });

/** How many members (per guild) and users the lean cache keeps besides the bot's own. */
export interface CacheSizes {
  membersPerGuild: number;
  users: number;
}

/** Caches the bot never reads are off; the few it reads are bounded and swept. */
export function leanCache(
  sizes: CacheSizes = DEFAULT_BOT_CACHE,
): Pick<ClientOptions, 'makeCache' | 'sweepers'> {
  const limited = Options.cacheWithLimits({
    ...Options.DefaultMakeCacheSettings,
    // Recent message authors only: a message's member is found here when its event arrives
    // (the handler holds it from then on); interactions carry their own. The bot's own member
    // stays (permission checks read it).
    GuildMemberManager: { maxSize: sizes.membersPerGuild, keepOverLimit: (m) => m.id === m.client.user.id },
    UserManager: { maxSize: sizes.users, keepOverLimit: (u) => u.id === u.client.user.id },
  });
  return {
    // A cache that is off holds nothing, yet discord.js makes one collection per manager: per
    // channel (messages, threads) and per guild (emojis, stickers, bans, invites...), ~15 empty
    // Maps per guild plus 2 per text channel. They all share one that never stores anything.
    makeCache: ((...args: Parameters<CacheFactory>) =>
      OFF.has(args[2].name) || OFF.has(args[0].name) ? NEVER : limited(...args)) as CacheFactory,
    sweepers: {
      ...Options.DefaultSweeperSettings,
      threads: { interval: 3600, lifetime: 3600 },
      users: { interval: 1800, filter: () => (u) => u.id !== u.client.user.id },
      guildMembers: { interval: 1800, filter: () => (m) => m.id !== m.client.user.id },
    },
  };
}

export function createBotClient(s: ClientSettings): Client {
  const redis = s.redis;
  const client = new Client({
    intents: botIntents(s.messageContent),
    // Edits and deletes of messages the (empty) message cache never saw still reach the handlers.
    partials: [Partials.Message, Partials.Channel, Partials.GuildMember, Partials.User],
    rest: {
      api: s.apiUrl,
      // Every interaction token is a rate-limit bucket of its own (its answer's edits and
      // follow-ups), kept by @discordjs/rest until a sweep: hourly by default, so 200
      // interactions/s held ~700,000 idle handlers. A token lives 15 minutes; sweep every minute.
      handlerSweepInterval: 60_000,
      hashSweepInterval: 600_000,
      hashLifetime: 900_000,
    },
    ...(s.shards ? { shards: [...s.shards] } : {}),
    ...(s.shardCount ? { shardCount: s.shardCount } : {}),
    ...(s.defaultCache ? {} : leanCache(s.cache)),
    ws: {
      // The shards run in a thread of their own, which acknowledges interactions on arrival.
      buildStrategy: (manager) => gatewayThreadStrategy(manager, s.apiUrl, s.acks),
      buildIdentifyThrottler: async (manager) => {
        const info = await manager.fetchGatewayInformation();
        const max = info.session_start_limit.max_concurrency;
        const windowMs = s.identifyWindowMs ?? IDENTIFY_WINDOW_MS;
        return redis
          ? new RedisIdentifyThrottler(redis, max, s.redisPrefix, windowMs, s.onOthersIdentify)
          : new LocalIdentifyThrottler(max, windowMs);
      },
    },
    allowedMentions: { parse: [] },
  });
  exemptInteractionTokens(client);
  return client;
}
