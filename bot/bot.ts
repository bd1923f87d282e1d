import { type Client, Events, type Interaction, MessageFlags } from 'discord.js';
import type { Redis } from 'ioredis';
import type { Pool } from '../db/pool.js';
import { DEFAULT_SHARD_START_STALL_MS } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import type { SecretBox } from '../lib/secret-box.js';
import type { TicketPages } from '../lib/ticket-links.js';
import { type CacheSizes, createBotClient } from './client.js';
import { type BotDeps, createCaches } from './context.js';
import { onDirectMessage } from './events/direct-messages.js';
import { onInteraction } from './events/interaction-create.js';
import { onChannelDeleted, onMessageCreate, onMessageDelete, onMessageUpdate } from './events/messages.js';
import { EarlyAcks } from './gateway.js';
import { ackTable } from './registry.js';
import { trackShards, watchShardStart } from './shard-start.js';
import { loginError } from './start-errors.js';

export interface BotOptions {
  pool: Pool;
  redis?: Redis | undefined;
  redisPrefix?: string;
  logger: Logger;
  apiUrl: string;
  shards?: readonly number[] | undefined;
  shardCount?: number | undefined;
  messageContent: boolean;
  /** Seals channel webhook tokens at rest (lib/secret-box.ts, SECRET_KEY). */
  box: SecretBox;
  /** Signed links to a ticket's web pages (lib/ticket-links.ts). */
  ticketPages: TicketPages;
  /** Start fails when no shard became ready for this long (SHARD_START_STALL_MS). */
  startStallMs?: number;
  /** Discord's identify window, shortened only by tests against the fake Discord. */
  identifyWindowMs?: number;
  /** Members per guild and users the discord.js cache keeps besides the bot's own. */
  cache?: CacheSizes | undefined;
  /** How long a first DM's server search may wait for its turn (DM_SEARCH_MAX_WAIT_SECONDS). */
  dmSearchMaxWaitMs?: number;
}

export interface Bot {
  client: Client;
  deps: BotDeps;
  /**
   * Logs in and waits until every shard is ready, as long as shards keep becoming ready
   * (shard-start.ts). Rejects with a BotStartError: at once for a wrong token or a refused intent
   * (`fatal`: retrying cannot help), or when no shard made progress for `stallMs`.
   */
  start(token: string, opts?: { stallMs?: number }): Promise<void>;
  /** Stops taking new events, lets running handlers finish (up to `graceMs`), then disconnects. */
  stop(graceMs?: number): Promise<void>;
}

/** The bot: a lean discord.js client with every event routed through a handler that cannot crash it. */
export function createBot(o: BotOptions): Bot {
  // Set while start() watches the shards: another process's identify counts as progress.
  let othersProgressed = () => {};
  const client = createBotClient({
    apiUrl: o.apiUrl,
    shards: o.shards,
    shardCount: o.shardCount,
    messageContent: o.messageContent,
    redis: o.redis,
    ...(o.redisPrefix ? { redisPrefix: o.redisPrefix } : {}),
    ...(o.identifyWindowMs ? { identifyWindowMs: o.identifyWindowMs } : {}),
    onOthersIdentify: () => othersProgressed(),
    cache: o.cache,
    acks: ackTable,
  });
  const earlyAcks = new EarlyAcks(client);
  const stallMs = o.startStallMs ?? DEFAULT_SHARD_START_STALL_MS;
  const shardGauges = trackShards(client);
  const caches = createCaches();
  const deps: BotDeps = {
    pool: o.pool,
    redis: o.redis,
    redisPrefix: o.redisPrefix ?? 'gm:bot',
    logger: o.logger,
    client,
    box: o.box,
    ticketPages: o.ticketPages,
    ...(o.dmSearchMaxWaitMs ? { dmSearchMaxWaitMs: o.dmSearchMaxWaitMs } : {}),
    ...caches,
    isOurWebhook: (id) => [...caches.webhooks.values()].some((w) => w.id === id),
  };
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  // One failing handler is logged and forgotten; it never reaches the event emitter or the process.
  const safe = (event: string, fn: () => Promise<void>) => {
    if (stopping) return;
    const p = fn()
      .catch((err) => o.logger.error({ err, event }, 'bot event handler failed'))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  client.on(Events.InteractionCreate, (i) => {
    const early = earlyAcks.take(i);
    // While draining for a stop, new interactions still get an answer (no I/O but the reply),
    // so nobody sees "the application did not respond".
    if (stopping) return void answerWhileStopping(i, o.logger);
    safe('interaction', () => onInteraction(deps, i, early));
  });
  client.on(Events.MessageCreate, (m) =>
    m.guildId
      ? safe('message_create', () => onMessageCreate(deps, m))
      : safe('direct_message', () => onDirectMessage(deps, m)),
  );
  client.on(Events.MessageUpdate, (_old, m) => safe('message_update', () => onMessageUpdate(deps, m)));
  client.on(Events.MessageDelete, (m) =>
    safe('message_delete', () =>
      onMessageDelete(deps, { id: m.id, guildId: m.guildId, channelId: m.channelId }),
    ),
  );
  client.on(Events.Raw, (packet: { t?: string; d?: { id: string; guild_id?: string } }) => {
    if ((packet.t === 'THREAD_DELETE' || packet.t === 'CHANNEL_DELETE') && packet.d)
      safe('channel_delete', () => onChannelDeleted(deps, packet.d as { id: string; guild_id?: string }));
  });
  client.on(Events.Error, (err) => o.logger.error({ err }, 'discord client error'));
  client.on(Events.ShardError, (err, shardId) => o.logger.warn({ err, shardId }, 'shard connection error'));
  client.on(Events.ShardResume, (shardId, replayed) => o.logger.info({ shardId, replayed }, 'shard resumed'));

  return {
    client,
    deps,
    async start(token, opts = {}) {
      const watch = watchShardStart(client, { stallMs: opts.stallMs ?? stallMs, logger: o.logger });
      othersProgressed = () => watch.othersProgressed();
      try {
        await Promise.all([
          client.login(token).catch((err: unknown) => {
            throw loginError(err);
          }),
          watch.done,
        ]);
      } finally {
        watch.close();
        othersProgressed = () => {};
      }
      o.logger.info(
        { user: client.user?.tag, guilds: client.guilds.cache.size, shards: client.ws.shards.size },
        'connected to the Discord gateway',
      );
    },
    async stop(graceMs = 5_000) {
      stopping = true;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
      shardGauges.forget();
      await client.destroy();
    },
  };
}

const RESTARTING = 'GameMod is restarting; please try again in a few seconds.';

function answerWhileStopping(i: Interaction, logger: Logger): void {
  const p = i.isAutocomplete()
    ? i.respond([])
    : i.isRepliable()
      ? i.deferred
        ? i.editReply({ content: RESTARTING })
        : i.reply({ content: RESTARTING, flags: MessageFlags.Ephemeral })
      : Promise.resolve();
  Promise.resolve(p).catch((err: unknown) => logger.debug({ err }, 'could not answer during shutdown'));
}
