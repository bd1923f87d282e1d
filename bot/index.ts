import type { Config } from '../lib/config.js';
import { AppError } from '../lib/errors.js';
import { createRedis } from '../lib/redis.js';
import { createSecretBox } from '../lib/secret-box.js';
import { createStorage } from '../lib/storage/index.js';
import type { RoleContext, RunningRole } from '../role.js';
import { createBot } from './bot.js';
import { BotStartError } from './start-errors.js';
import { storagePut } from './transcripts.js';

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
  const box = createSecretBox(config.secretKey);
  const bot = createBot({
    pool: ctx.pool,
    redis,
    logger: log,
    apiUrl: config.discord.apiUrl,
    shards: config.discord.shardIds,
    shardCount: config.discord.shardCount,
    messageContent: config.discord.messageContent,
    box,
    putObject: storagePut(createStorage(config.storage)),
  });
  try {
    await bot.start(config.discord.token);
  } catch (err) {
    await bot.stop(0).catch(() => {});
    redis.disconnect();
    const fatal = err instanceof BotStartError && err.fatal;
    // Under the shard manager: tell it not to restart this shard, which would fail the same way
    // and burn a session start each time.
    if (fatal && typeof process.send === 'function')
      process.send({ gamemod: 'bot_fatal', closeCode: (err as BotStartError).closeCode });
    // In the all-in-one process the API and the workers keep running without the bot (as they do
    // without a token); a process that runs only the bot fails, so its supervisor sees it.
    if (config.roles.length > 1) {
      log.error(
        { err },
        `the Discord bot did not start, everything else keeps running: ${err instanceof Error ? err.message : String(err)}`,
      );
      return { name: 'bot', stop: async () => {} };
    }
    throw err;
  }
  return {
    name: 'bot',
    async stop() {
      await bot.stop();
      redis.disconnect();
    },
  };
}
