import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  choosePresence,
  membersSeen,
  PRESENCE_TTL_S,
  presenceChannel,
  presenceOf,
  staffPresenceMessage,
  touchPresence,
} from '../../lib/presence.js';

const redis = new Redis(inject('services').redisUrl, { maxRetriesPerRequest: 1 });
const sub = new Redis(inject('services').redisUrl, { maxRetriesPerRequest: 1 });
afterAll(() => Promise.all([redis.quit(), sub.quit()]));

const ago = (s: number) => new Date(Date.now() - s * 1000);

/** What the org's presence channel carried while `run` ran. */
async function heard(orgId: string, run: () => Promise<void>) {
  const got: unknown[] = [];
  const listen = (channel: string, message: string) => {
    if (channel === presenceChannel(orgId)) got.push(staffPresenceMessage.parse(JSON.parse(message)));
  };
  sub.on('message', listen);
  await sub.subscribe(presenceChannel(orgId));
  await run();
  // A round trip on the subscriber after the writes: what was published has arrived.
  await sub.ping();
  await sub.unsubscribe(presenceChannel(orgId));
  sub.off('message', listen);
  return got.map((m) => {
    const { userId, state } = m as { userId: string; state: string };
    return { userId, state };
  });
}

describe('staff presence', () => {
  it('is online after activity, offline once the TTL has passed, and keeps when last seen', async () => {
    const [orgId, a, b, never] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await touchPresence(redis, orgId, a, 'panel');
    await touchPresence(redis, orgId, b, 'discord', ago(PRESENCE_TTL_S + 5));
    const p = await presenceOf(redis, orgId, [a, b, never]);
    expect(p.get(a)).toMatchObject({ state: 'online', chosen: null });
    expect(p.get(b)?.state).toBe('offline');
    expect(Date.now() - (p.get(b)?.lastSeenAt?.getTime() ?? 0)).toBeGreaterThanOrEqual(
      (PRESENCE_TTL_S + 5) * 1000,
    );
    expect(p.get(never)).toEqual({ userId: never, state: 'offline', lastSeenAt: null, chosen: null });
    // Later, with nothing heard from `a`, they are offline too.
    const later = await presenceOf(redis, orgId, [a], new Date(Date.now() + PRESENCE_TTL_S * 1000 + 1));
    expect(later.get(a)?.state).toBe('offline');
    // Another org's record of the same person is its own.
    expect((await presenceOf(redis, randomUUID(), [a])).get(a)?.state).toBe('offline');
    expect([...(await membersSeen(redis, orgId)).keys()].sort()).toEqual([a, b].sort());
  });

  it('keeps a chosen away through activity until the member chooses online', async () => {
    const [orgId, a] = [randomUUID(), randomUUID()];
    await choosePresence(redis, orgId, a, 'away');
    const first = (await presenceOf(redis, orgId, [a])).get(a);
    expect(first).toMatchObject({ state: 'away', chosen: 'away' });
    await new Promise((r) => setTimeout(r, 5));
    await touchPresence(redis, orgId, a, 'api');
    const touched = (await presenceOf(redis, orgId, [a])).get(a);
    expect(touched?.state).toBe('away');
    expect(touched?.lastSeenAt?.getTime()).toBeGreaterThan(first?.lastSeenAt?.getTime() ?? 0);
    // Away and gone is offline; the choice is still remembered for their return.
    const gone = await presenceOf(redis, orgId, [a], new Date(Date.now() + PRESENCE_TTL_S * 1000 + 1));
    expect(gone.get(a)).toMatchObject({ state: 'offline', chosen: 'away' });
    await choosePresence(redis, orgId, a, 'online');
    expect((await presenceOf(redis, orgId, [a])).get(a)).toMatchObject({ state: 'online', chosen: null });
  });

  it('never moves last seen backwards for a late, older sighting', async () => {
    const [orgId, a] = [randomUUID(), randomUUID()];
    await touchPresence(redis, orgId, a, 'panel');
    const seen = (await presenceOf(redis, orgId, [a])).get(a)?.lastSeenAt;
    await touchPresence(redis, orgId, a, 'discord', ago(600));
    expect((await presenceOf(redis, orgId, [a])).get(a)?.lastSeenAt).toEqual(seen);
  });

  it('publishes each change of state once, and nothing for activity that changes nothing', async () => {
    const [orgId, a] = [randomUUID(), randomUUID()];
    const got = await heard(orgId, async () => {
      await touchPresence(redis, orgId, a, 'panel');
      await touchPresence(redis, orgId, a, 'panel');
      await choosePresence(redis, orgId, a, 'away');
      await touchPresence(redis, orgId, a, 'discord');
      await choosePresence(redis, orgId, a, 'online');
    });
    expect(got).toEqual([
      { userId: a, state: 'online' },
      { userId: a, state: 'away' },
      { userId: a, state: 'online' },
    ]);
  });

  it('drops members not seen for 30 days when someone comes online', async () => {
    const [orgId, old, recent, back] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await touchPresence(redis, orgId, old, 'panel', ago(31 * 24 * 3600));
    await touchPresence(redis, orgId, recent, 'panel', ago(29 * 24 * 3600));
    await touchPresence(redis, orgId, back, 'panel');
    expect([...(await membersSeen(redis, orgId)).keys()].sort()).toEqual([recent, back].sort());
  });
});
