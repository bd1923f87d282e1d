import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IIdentifyThrottler } from 'discord.js';
import type { Redis } from 'ioredis';

/**
 * Discord lets `max_concurrency` shards identify per 5 s, one per bucket (`shard_id %
 * max_concurrency`), counted across every process and machine of the bot. Each bucket is a Redis
 * key taken with SET NX PX for the window: whoever holds it may identify, the others wait for it
 * to expire. Without Redis the in-process SimpleIdentifyThrottler of @discordjs/ws is the fallback.
 */
export class RedisIdentifyThrottler implements IIdentifyThrottler {
  constructor(
    private readonly redis: Redis,
    private readonly maxConcurrency: number,
    private readonly prefix = 'gm:bot',
    // Discord's window is 5 s between IDENTIFYs; the key is taken a little before the IDENTIFY
    // is sent, so the margin keeps a faster next sender from landing inside the window.
    private readonly windowMs = 5_500,
  ) {}

  async waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    const key = `${this.prefix}:identify:${shardId % Math.max(1, this.maxConcurrency)}`;
    const me = `${process.pid}:${shardId}:${randomUUID()}`;
    for (;;) {
      signal.throwIfAborted();
      const ok = await this.redis.set(key, me, 'PX', this.windowMs, 'NX');
      if (ok === 'OK') return;
      const ttl = await this.redis.pttl(key);
      // Small jitter so several waiting machines do not hammer Redis in lockstep.
      await sleep(Math.max(50, ttl) + Math.floor(Math.random() * 50), undefined, { signal });
    }
  }
}
