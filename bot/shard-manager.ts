import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ShardingManager } from 'discord.js';
import { loadConfig } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { restartDecision } from './start-errors.js';

/**
 * Local multi-process mode: one child process per shard, each a full `bot` role (`main.ts bot`)
 * running exactly one shard, supervised by discord.js's ShardingManager (restarts a dead shard).
 * `SHARD_COUNT` is the total; `SHARD_IDS` (optional) limits this machine to some of them, so
 * several machines can split the shards. Session starts are coordinated through Redis by each
 * child (see identify-throttler.ts), so machines together respect max_concurrency.
 */
/** A shard that stayed up this long counts as healthy again: its next death restarts quickly. */
const HEALTHY_AFTER_MS = 10 * 60_000;

export function createShardManager(config = loadConfig()): ShardingManager {
  const { token, shardCount, shardIds } = config.discord;
  if (!token) throw new Error('set DISCORD_TOKEN to run the shards');
  if (!shardCount) throw new Error('set SHARD_COUNT: the manager needs an explicit shard count');
  // The children run what this process runs: main.ts under tsx, or the compiled dist/main.js.
  const here = fileURLToPath(import.meta.url);
  const fromSources = extname(here) === '.ts';
  const main = fileURLToPath(new URL(fromSources ? '../main.ts' : '../main.js', import.meta.url));
  const manager = new ShardingManager(main, {
    token,
    totalShards: shardCount,
    shardList: shardIds ? [...shardIds] : 'auto',
    mode: 'process',
    shardArgs: ['bot'],
    execArgv: fromSources ? ['--import', 'tsx'] : [],
    // Restarts are ours (below): none after a fatal start error, growing delays otherwise.
    respawn: false,
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
  let stopping = false;
  const total = config.discord.shardIds?.length ?? config.discord.shardCount ?? 1;
  const ready = new Set<number>();
  manager.on('shardCreate', (shard) => {
    logger.info({ shard: shard.id }, 'starting shard process');
    shard.on('ready', () => {
      ready.add(shard.id);
      logger.info(
        { shard: shard.id, ready: ready.size, total },
        `shard ${shard.id} ready (${ready.size}/${total})`,
      );
    });
    shard.on('death', () => ready.delete(shard.id));
    let fatal = false;
    let deaths = 0;
    let startedAt = Date.now();
    shard.on('spawn', () => {
      startedAt = Date.now();
    });
    shard.on('message', (m: unknown) => {
      if ((m as { gamemod?: string } | null)?.gamemod === 'bot_fatal') fatal = true;
    });
    shard.on('death', () => {
      if (stopping) return;
      if (Date.now() - startedAt > HEALTHY_AFTER_MS) deaths = 0;
      const d = restartDecision({ fatal, recentDeaths: deaths });
      if (!d.restart) {
        logger.error(
          { shard: shard.id },
          'shard process stopped on an error restarting cannot fix (see its log); not restarting it',
        );
        return;
      }
      deaths++;
      logger.warn({ shard: shard.id, inMs: d.delayMs }, 'shard process exited; restarting it');
      setTimeout(() => {
        if (!stopping)
          shard.spawn(60_000).catch((err: unknown) => logger.error({ err }, 'shard restart failed'));
      }, d.delayMs);
    });
  });
  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping shard processes');
    stopping = true;
    // Children get SIGTERM and shut down cleanly (main.ts handles it); respawn is off from here.
    for (const shard of manager.shards.values()) shard.kill();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // Explicit count: 'auto' would ask discord.com directly, bypassing DISCORD_API_URL. Every
  // process at once, without waiting for each to be ready (the manager's default, which would
  // start one shard at a time and give up on one still queued for its identify turn): the
  // children take their turns through Redis, `max_concurrency` at a time, and each gives up
  // only when its start stalls (SHARD_START_STALL_MS), then is restarted as any dead shard.
  manager.spawn({ amount: config.discord.shardCount ?? 1, delay: 0, timeout: -1 }).catch((err: unknown) => {
    logger.error({ err }, 'could not start the shards');
    process.exit(1);
  });
}
