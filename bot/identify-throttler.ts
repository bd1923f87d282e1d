import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IIdentifyThrottler } from 'discord.js';
import type { Redis } from 'ioredis';

/** Discord's identify window: `max_concurrency` IDENTIFYs per 5 s, one per bucket. */
export const IDENTIFY_WINDOW_MS = 5_000;
// A turn is given a little before the IDENTIFY is sent (and, through Redis, on another machine's
// clock), so the margin keeps a faster next sender from landing inside Discord's window.
const MARGIN_MS = 500;

/**
 * Discord lets `max_concurrency` shards identify per 5 s, one per bucket (`shard_id %
 * max_concurrency`), counted across every process and machine of the bot. Each bucket is a Redis
 * key taken with SET NX PX for the window: whoever holds it may identify, the others wait for it
 * to expire. Buckets are independent, so `max_concurrency` shards start side by side.
 *
 * `onOthersProgress` is called when another process took a bucket this one is waiting for: the
 * bot as a whole is starting sessions, so this process's start is queued, not stalled.
 */
export class RedisIdentifyThrottler implements IIdentifyThrottler {
  private readonly instance = randomUUID();
  private readonly keyTtlMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly maxConcurrency: number,
    private readonly prefix = 'gm:bot',
    identifyWindowMs = IDENTIFY_WINDOW_MS,
    private readonly onOthersProgress: () => void = () => {},
  ) {
    this.keyTtlMs = identifyWindowMs + MARGIN_MS;
  }

  async waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    const key = `${this.prefix}:identify:${shardId % Math.max(1, this.maxConcurrency)}`;
    const me = `${this.instance}:${shardId}:${randomUUID()}`;
    let lastHolder: string | null = null;
    for (;;) {
      signal.throwIfAborted();
      const ok = await this.redis.set(key, me, 'PX', this.keyTtlMs, 'NX');
      if (ok === 'OK') return;
      const [holder, ttl] = await Promise.all([this.redis.get(key), this.redis.pttl(key)]);
      if (holder && holder !== lastHolder && !holder.startsWith(this.instance)) this.onOthersProgress();
      lastHolder = holder;
      // Small jitter so several waiting machines do not hammer Redis in lockstep.
      await sleep(Math.max(50, ttl) + Math.floor(Math.random() * 50), undefined, { signal });
    }
  }
}

/**
 * Without Redis (one process runs every shard): the same rule in memory. Unlike
 * @discordjs/ws's SimpleIdentifyThrottler it adds no random wait (up to 1.5 s per identify there)
 * and takes the window as a parameter, so tests against the fake Discord can shorten it.
 */
export class LocalIdentifyThrottler implements IIdentifyThrottler {
  /** Per bucket: when its window next opens, and the tail of its queue. */
  private readonly buckets = new Map<number, { opensAt: number; tail: Promise<void> }>();

  constructor(
    private readonly maxConcurrency: number,
    identifyWindowMs = IDENTIFY_WINDOW_MS,
  ) {
    this.windowMs = identifyWindowMs + MARGIN_MS;
  }

  private readonly windowMs: number;

  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    const key = shardId % Math.max(1, this.maxConcurrency);
    const bucket = this.buckets.get(key) ?? { opensAt: 0, tail: Promise.resolve() };
    this.buckets.set(key, bucket);
    const turn = bucket.tail.then(async () => {
      signal.throwIfAborted();
      const wait = bucket.opensAt - Date.now();
      if (wait > 0) await sleep(wait, undefined, { signal });
      bucket.opensAt = Date.now() + this.windowMs;
    });
    // A waiter that gave up (its shard closed) must not block the ones behind it.
    bucket.tail = turn.catch(() => {});
    return turn;
  }
}
