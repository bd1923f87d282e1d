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
      expect(size, k).toBeLessThanOrEqual(type === 'zset' ? DEDUPE_WINDOW : BACKLOG_LENGTH + 200);
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

  it('tells a client to refetch when the topic expired and started again', async () => {
    const [orgId, ticketId] = [randomUUID(), randomUUID()];
    for (let i = 0; i < 5; i++) await publishLive(redis, event(orgId, ticketId));
    await redis.del(...(await keysOf(ticketId)));
    await publishLive(redis, event(orgId, ticketId));
    expect((await readBacklog(redis, ticketTopic(ticketId), 5)).complete).toBe(false);
  });
});
