import { type Client, Events, Status } from 'discord.js';
import type { Logger } from '../lib/logger.js';
import { gauge } from '../lib/metrics.js';
import { BotStartError, closeCodeError } from './start-errors.js';

/**
 * Clients of this process, read by the shard gauges at scrape time (tests and the all-in-one
 * process's restarts build more than one over a process's life).
 */
const clients = new Set<Client>();

const countShards = (ready: boolean) => {
  let n = 0;
  for (const c of clients)
    for (const shard of c.ws.shards.values()) if (!ready || shard.status === Status.Ready) n++;
  return n;
};

gauge('gamemod_bot_shards', 'Discord shards this process runs', [], function () {
  this.set(countShards(false));
});
gauge('gamemod_bot_shards_ready', 'Discord shards of this process with a ready session', [], function () {
  this.set(countShards(true));
});

/** Counts the client's shards in the gauges until `forget` is called (the bot stopped). */
export function trackShards(client: Client): { forget(): void } {
  clients.add(client);
  return { forget: () => void clients.delete(client) };
}

export interface ShardStart {
  /** Resolves when every shard is ready; rejects on a close Discord will not let reconnect, or a stall. */
  readonly done: Promise<void>;
  /** Another process started a session this one queues behind (identify-throttler.ts): progress. */
  othersProgressed(): void;
  /** Stops watching (listeners and timer). */
  close(): void;
}

/**
 * Watches a client's shards come up. Shards start as fast as Discord's `max_concurrency` allows
 * (one IDENTIFY per bucket per 5 s, buckets side by side), so 1,000 shards with max_concurrency 1
 * take over 80 minutes: there is no deadline for the whole start. Instead the start fails when no
 * shard became ready, and no other process took an identify slot, for `stallMs`: then something
 * is wrong (the network, the gateway, a shard Discord never answers), and the error names the
 * shards that are not ready and what they are doing.
 */
export function watchShardStart(client: Client, o: { stallMs: number; logger: Logger }): ShardStart {
  const ready = new Set<number>();
  let lastProgress = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let fail: (err: Error) => void = () => {};
  let succeed: () => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    succeed = resolve;
    fail = reject;
  });
  done.catch(() => {});

  const total = () => client.ws.shards.size;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => fail(stallError(client, ready, o.stallMs)), o.stallMs);
  };
  const onShardReady = (shardId: number) => {
    if (ready.has(shardId)) return;
    ready.add(shardId);
    lastProgress = Date.now();
    o.logger.info(
      { shardId, ready: ready.size, total: total() },
      `shard ${shardId} ready (${ready.size}/${total()})`,
    );
    arm();
  };
  const onClientReady = () => succeed();
  const onDisconnect = (ev: { code: number }, shardId: number) => fail(closeCodeError(ev.code, shardId));
  client.on(Events.ShardReady, onShardReady);
  client.once(Events.ClientReady, onClientReady);
  client.on(Events.ShardDisconnect, onDisconnect);
  arm();
  return {
    done,
    othersProgressed() {
      // Throttled: waiting machines see each other's turns every few seconds.
      if (Date.now() - lastProgress < Math.min(1_000, o.stallMs / 4)) return;
      lastProgress = Date.now();
      o.logger.debug(
        { ready: ready.size, total: total() },
        'waiting for an identify slot another process holds',
      );
      arm();
    },
    close() {
      clearTimeout(timer);
      client.off(Events.ShardReady, onShardReady);
      client.off(Events.ClientReady, onClientReady);
      client.off(Events.ShardDisconnect, onDisconnect);
    },
  };
}

function stallError(client: Client, ready: Set<number>, stallMs: number): BotStartError {
  const shards = [...client.ws.shards.values()];
  if (!shards.length)
    return new BotStartError(
      `the Discord gateway did not answer for ${stallMs} ms (no shard was started); check DISCORD_API_URL and the network`,
      false,
    );
  const waiting = shards
    .filter((s) => !ready.has(s.id) && s.status !== Status.Ready)
    .map((s) => `${s.id} (${Status[s.status]?.toLowerCase() ?? s.status})`);
  return new BotStartError(
    `no shard became ready for ${stallMs} ms (SHARD_START_STALL_MS): ${ready.size} of ${shards.length} ready; ` +
      `not ready: shard ${waiting.join(', shard ')}; check the network and the gateway`,
    false,
  );
}
