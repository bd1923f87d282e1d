import type { Config } from '../lib/config.js';
import { AppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { lowerMainThreadPriority } from '../lib/priority.js';
import { createRedis } from '../lib/redis.js';
import type { RoleContext, RunningRole } from '../lib/role.js';
import { createSecretBox } from '../lib/secret-box.js';
import { createTicketPages } from '../lib/ticket-links.js';
import { type Bot, createBot } from './bot.js';
import { BotStartError, restartDecision } from './start-errors.js';

/**
 * The bot role. Without Discord credentials it says how to enable it and stays idle, so a
 * newcomer's `npm start` still brings the rest of the system up. With them it runs the shards
 * this process owns (`SHARD_IDS` of `SHARD_COUNT`, or all) in this process; commands are
 * registered separately with `npm run deploy-commands`, never here.
 */
export async function startBot(config: Config, ctx: RoleContext): Promise<RunningRole> {
  const log = ctx.logger.child({ role: 'bot' });
  if (!config.discord.token) {
    log.warn(
      'the Discord bot is not enabled: set DISCORD_TOKEN and DISCORD_APPLICATION_ID (a bot from the Discord developer ' +
        'portal) and restart; everything else runs without it',
    );
    return { name: 'bot', stop: async () => {} };
  }
  const { shardIds, shardCount } = config.discord;
  if (shardIds && (!shardCount || shardIds.some((id) => id >= shardCount))) {
    throw new AppError(
      'config_invalid',
      `SHARD_IDS (${shardIds.join(',')}) needs SHARD_COUNT, and every id must be below it`,
    );
  }
  const redis = createRedis(ctx.redisUrl, 'worker', 'gamemod-bot');
  await redis.connect();
  const box = createSecretBox(ctx.secretKey);
  const ticketPages = createTicketPages(ctx.secretKey, config.http.publicUrl);
  const token = config.discord.token;
  const launch = async (): Promise<Bot> => {
    const bot = createBot({
      pool: ctx.pool,
      redis,
      logger: log,
      apiUrl: config.discord.apiUrl,
      shards: config.discord.shardIds,
      shardCount: config.discord.shardCount,
      messageContent: config.discord.messageContent,
      startStallMs: config.discord.startStallMs,
      cache: config.discord.cache,
      dmSearchMaxWaitMs: config.discord.dmSearchMaxWaitMs,
      box,
      ticketPages,
    });
    try {
      await bot.start(token);
      return bot;
    } catch (err) {
      await bot.stop(0).catch(() => {});
      throw err;
    }
  };
  let bot: Bot;
  try {
    bot = await launch();
  } catch (err) {
    // Under the shard manager: tell it not to restart this shard, which would fail the same way
    // and burn a session start each time.
    if (isFatal(err) && typeof process.send === 'function')
      process.send({ gamemod: 'bot_fatal', closeCode: (err as BotStartError).closeCode });
    // A process that runs only the bot fails, so its supervisor sees it (and restarts it).
    if (config.roles.length === 1) {
      redis.disconnect();
      throw err;
    }
    // In the all-in-one process the API and the workers keep running without the bot (as they
    // do without a token), and the bot is started again after growing delays, as the shard
    // manager would restart its process; not after a fatal error, which would fail the same way.
    if (isFatal(err)) {
      log.error({ err }, `the Discord bot did not start, everything else keeps running: ${why(err)}`);
      redis.disconnect();
      return { name: 'bot', stop: async () => {} };
    }
    return retryingBot(log, launch, err, () => redis.disconnect());
  }
  log.info('the Discord bot started');
  // The gateway thread runs now (at 0); the process starts no other thread later.
  if (config.roles.length === 1)
    lowerMainThreadPriority(
      config.discord.handlersNice,
      log,
      'bot handlers run below the gateway thread (nice)',
    );
  return {
    name: 'bot',
    async stop() {
      await bot.stop();
      redis.disconnect();
    },
  };
}

const isFatal = (err: unknown) => err instanceof BotStartError && err.fatal;
const why = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The bot role after a first start failed for a reason that may pass (Discord down, a network
 * cut): tries again after 1 s, 2 s, 4 s ... up to 5 minutes, until it starts, fails fatally, or
 * the role is stopped.
 */
function retryingBot(
  log: Logger,
  launch: () => Promise<Bot>,
  firstError: unknown,
  release: () => void,
): RunningRole {
  let stopped = false;
  let bot: Bot | undefined;
  let timer: NodeJS.Timeout | undefined;
  let attempt: Promise<void> | undefined;
  const schedule = (failures: number, err: unknown) => {
    const d = restartDecision({ fatal: isFatal(err), recentDeaths: failures - 1 });
    if (!d.restart) {
      log.error({ err }, `the Discord bot did not start and will not be retried: ${why(err)}`);
      release();
      return;
    }
    log.error(
      { err, attempt: failures },
      `the Discord bot did not start, everything else keeps running; retrying in ${Math.round(d.delayMs / 1000)} s: ${why(err)}`,
    );
    timer = setTimeout(() => {
      attempt = launch().then(
        async (b) => {
          // Stopped while this start was under way: undo it.
          if (stopped) return b.stop();
          bot = b;
          log.info({ attempts: failures + 1 }, 'the Discord bot started');
        },
        (e: unknown) => {
          if (!stopped) schedule(failures + 1, e);
        },
      );
    }, d.delayMs);
  };
  schedule(1, firstError);
  return {
    name: 'bot',
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await attempt;
      await bot?.stop();
      release();
    },
  };
}
