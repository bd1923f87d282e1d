import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  BACKLOG_LENGTH,
  currentSeq,
  DEDUPE_WINDOW,
  type LiveEvent,
  publishLive,
  publishLiveMany,
  readBacklog,
  ticketTopic,
} from '../../lib/live.js';

const redis = new Redis(inject('services').redisUrl, { maxRetriesPerRequest: 1 });
afterAll(() => redis.quit());

let nextId = 1;
const event = (orgId: string, ticketId: string): LiveEvent => ({
  id: nextId++,
  orgId,
  type: 'ticket.updated',
  aggregateType: 'ticket',
  aggregateId: ticketId,
  payload: { ticket: { id: ticketId } },
  createdAt: new Date().toISOString(),
});

async function keysOf(ticketId: string) {
  return redis.keys(`gm:live:*${ticketId}*`);
}

describe('live publishing', () => {
  it('publishes each event once per topic, with gap-free sequences', async () => {
    const [orgId, ticketId] = [randomUUID(), randomUUID()];
    const e = event(orgId, ticketId);
    expect(await publishLive(redis, e)).toEqual([1, 1]);
    expect(await publishLive(redis, e)).toEqual([0, 0]);
    expect(await publishLive(redis, event(orgId, ticketId))).toEqual([2, 2]);
    const { envelopes, complete } = await readBacklog(redis, ticketTopic(ticketId), 0);
    expect(complete).toBe(true);
    expect(envelopes.map((x) => x.seq)).toEqual([1, 2]);
  });

  it('publishes a batch in one pipeline with the same sequences and dedupe as one by one', async () => {
    const [orgId, ticketId, other] = [randomUUID(), randomUUID(), randomUUID()];
    const first = event(orgId, ticketId);
    await publishLive(redis, first);
    const batch = [first, event(orgId, ticketId), event(orgId, other), event(orgId, ticketId)];
    // The one already published gets 0 on both topics; the rest follow on in order.
    expect(await publishLiveMany(redis, batch)).toEqual([
      [0, 0],
      [2, 2],
      [3, 1],
      [4, 3],
    ]);
    expect(await publishLiveMany(redis, batch)).toEqual(batch.map(() => [0, 0]));
    const { envelopes } = await readBacklog(redis, `org:${orgId}`, 0);
    expect(envelopes.map((x) => x.event.id)).toEqual(batch.map((e) => e.id));
    expect(await publishLiveMany(redis, [])).toEqual([]);
  });

  it('keeps a bounded number of keys and entries per topic, all of them expiring', async () => {
    const [orgId, ticketId] = [randomUUID(), randomUUID()];
    const n = BACKLOG_LENGTH + 300;
    for (let i = 0; i < n; i++) await publishLive(redis, event(orgId, ticketId));
    const keys = await keysOf(ticketId);
    expect(keys.length).toBeLessThanOrEqual(3);
    for (const k of keys) {
      expect(await redis.ttl(k), k).toBeGreaterThan(0);
      const type = await redis.type(k);
      const size = type === 'stream' ? await redis.xlen(k) : type === 'zset' ? await redis.zcard(k) : 1;
      expect(size, k).toBeLessThanOrEqual(type === 'zset' ? DEDUPE_WINDOW + 99 : BACKLOG_LENGTH + 200);
    }
    expect(await currentSeq(redis, ticketTopic(ticketId))).toBe(n);
  });

  it('remembers published ids beyond the backlog, up to the dedupe window', async () => {
    const [orgId, ticketId] = [randomUUID(), randomUUID()];
    const first = event(orgId, ticketId);
    await publishLive(redis, first);
    for (let i = 0; i < BACKLOG_LENGTH + 100; i++) await publishLive(redis, event(orgId, ticketId));
    expect(await publishLive(redis, first)).toEqual([0, 0]);
    expect(await redis.zcard(`gm:live:seen:ticket:${ticketId}`)).toBe(BACKLOG_LENGTH + 101);
  });

  it('trims the remembered ids to the dedupe window, every 100th publish', async () => {
    const [orgId, ticketId] = [randomUUID(), randomUUID()];
    const seen = `gm:live:seen:ticket:${ticketId}`;
    const n = DEDUPE_WINDOW + 150;
    for (let i = 0; i < n; i += 5_000) {
      await publishLiveMany(
        redis,
        Array.from({ length: Math.min(5_000, n - i) }, () => event(orgId, ticketId)),
      );
    }
    // Trimmed at sequence 20,100 to the window; 50 more since.
    expect(await redis.zcard(seen)).toBe(DEDUPE_WINDOW + 50);
    expect(Number((await redis.zrange(seen, 0, 0, 'WITHSCORES'))[1])).toBe(n - DEDUPE_WINDOW - 49);
  });

  it('renews the week-long expiry of a topic’s keys once it has run down by an hour', async () => {
    const [orgId, ticketId] = [randomUUID(), randomUUID()];
    await publishLive(redis, event(orgId, ticketId));
    const keys = await keysOf(ticketId);
    expect(keys).toHaveLength(3);
    const week = 7 * 24 * 3600;
    for (const k of keys) expect(await redis.ttl(k)).toBeGreaterThan(week - 60);
    // Ten minutes down: left alone.
    for (const k of keys) await redis.expire(k, week - 600);
    await publishLive(redis, event(orgId, ticketId));
    for (const k of keys) expect(await redis.ttl(k)).toBeLessThanOrEqual(week - 600);
    // Two hours down: all three renewed together.
    for (const k of keys) await redis.expire(k, week - 7_200);
    await publishLive(redis, event(orgId, ticketId));
    for (const k of keys) expect(await redis.ttl(k)).toBeGreaterThan(week - 60);
  });

  it('publishes a notification on its member’s topic alone, in the same pipeline', async () => {
    const [orgId, ticketId, userId] = [randomUUID(), randomUUID(), randomUUID()];
    const note: LiveEvent = {
      ...event(orgId, ticketId),
      type: 'notification.created',
      aggregateType: 'notification',
      aggregateId: randomUUID(),
      payload: { userId },
    };
    const noOne: LiveEvent = { ...note, id: nextId++, payload: {} };
    expect(
      await publishLiveMany(redis, [event(orgId, ticketId), note, noOne, event(orgId, ticketId)]),
    ).toEqual([[1, 1], [1], [], [2, 2]]);
    const { envelopes } = await readBacklog(redis, `member:${orgId}:${userId}`, 0);
    expect(envelopes.map((e) => e.event.id)).toEqual([note.id]);
  });

  it('tells a client to refetch when the topic expired and started again', async () => {
    const [orgId, ticketId] = [randomUUID(), randomUUID()];
    for (let i = 0; i < 5; i++) await publishLive(redis, event(orgId, ticketId));
    await redis.del(...(await keysOf(ticketId)));
    await publishLive(redis, event(orgId, ticketId));
    expect((await readBacklog(redis, ticketTopic(ticketId), 5)).complete).toBe(false);
  });
});
