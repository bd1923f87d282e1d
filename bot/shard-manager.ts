import { fileURLToPath } from 'node:url';
import { ShardingManager } from 'discord.js';
import { loadConfig } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';

/**
 * Local multi-process mode: one child process per shard, each a full `bot` role (`main.ts bot`)
 * running exactly one shard, supervised by discord.js's ShardingManager (restarts a dead shard).
 * `SHARD_COUNT` is the total; `SHARD_IDS` (optional) limits this machine to some of them, so
 * several machines can split the shards. Session starts are coordinated through Redis by each
 * child (see identify-throttler.ts), so machines together respect max_concurrency.
 */
export function createShardManager(config = loadConfig()): ShardingManager {
  const { token, shardCount, shardIds } = config.discord;
  if (!token) throw new Error('set DISCORD_TOKEN to run the shards');
  if (!shardCount) throw new Error('set SHARD_COUNT: the manager needs an explicit shard count');
  const manager = new ShardingManager(fileURLToPath(new URL('../main.ts', import.meta.url)), {
    token,
    totalShards: shardCount,
    shardList: shardIds ? [...shardIds] : 'auto',
    mode: 'process',
    shardArgs: ['bot'],
    execArgv: ['--import', 'tsx'],
    respawn: true,
  });
  // Each child runs only its own shard: SHARD_IDS inherited from this process would name them all.
  manager.on('shardCreate', (shard) => {
    const s = shard as unknown as { env: Record<string, string> };
    s.env = { ...s.env, SHARD_IDS: String(shard.id) };
  });
  return manager;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let config: ReturnType<typeof loadConfig>;
  let manager: ShardingManager;
  try {
    config = loadConfig();
    manager = createShardManager(config);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, { role: 'shard-manager' });
  manager.on('shardCreate', (shard) => {
    logger.info({ shard: shard.id }, 'starting shard process');
    shard.on('death', () => logger.warn({ shard: shard.id }, 'shard process exited'));
  });
  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping shard processes');
    // Children get SIGTERM and shut down cleanly (main.ts handles it); respawn is off from here.
    for (const shard of manager.shards.values()) shard.kill();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // Explicit count: 'auto' would ask discord.com directly, bypassing DISCORD_API_URL.
  manager
    .spawn({ amount: config.discord.shardCount ?? 1, delay: 0, timeout: 60_000 })
    .catch((err: unknown) => {
      logger.error({ err }, 'could not start the shards');
      process.exit(1);
    });
}
