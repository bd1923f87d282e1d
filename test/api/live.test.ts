import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { addMember } from '../../db/memberships.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { createUser } from '../../db/users.js';
import { type LiveEvent, publishLive } from '../../lib/live.js';
import { choosePresence, membersSeen, presenceOf } from '../../lib/presence.js';
import { createRedis } from '../../lib/redis.js';
import { OutboxRelay } from '../../workers/outbox-relay.js';
import { createQueues } from '../../workers/queues.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
const ORIGIN = 'http://127.0.0.1:3000';
let one: TestApi;
let two: TestApi;
let org: OrgFixture;
let owner: Caller;
let ticketId: string;
let nextId = Math.floor(Date.now() / 1000) * 1000;

beforeAll(async () => {
  one = await startTestApi(db.app);
  two = await startTestApi(db.app);
  for (const api of [one, two]) await api.app.listen({ host: '127.0.0.1', port: 0 });
  org = await makeOrg(db.app, 'Live');
  owner = await one.sessionFor(org.ownerId);
  ticketId = (
    await withTenant(db.app, org.orgId, (tx) =>
      openTicket(tx, { subject: 'Live one', origin: 'panel' }, org.owner),
    )
  ).ticket.id;
});
afterAll(async () => {
  await one.close();
  await two.close();
});

/** A client of the live endpoint that keeps every message it receives. */
class LiveClient {
  readonly received: Record<string, unknown>[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (m) => this.received.push(JSON.parse(String(m))));
  }
  static async connect(api: TestApi, who: Caller, origin = ORIGIN): Promise<LiveClient> {
    const port = (api.app.server.address() as AddressInfo).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/live`, {
      headers: { cookie: `gm_session=${who.cookie}`, origin },
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
    return new LiveClient(ws);
  }
  send(m: object) {
    this.ws.send(JSON.stringify(m));
  }
  /** Waits until a received message matches. */
  async waitFor(pred: (m: Record<string, unknown>) => boolean, what: string, timeoutMs = 5000) {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const found = this.received.find(pred);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.received).slice(0, 500)}`);
  }
  events(topic: string) {
    return this.received.filter((m) => m.type === 'event' && m.topic === topic) as {
      seq: number;
      event: LiveEvent;
    }[];
  }
  close() {
    this.ws.close();
  }
}

/** What the outbox relay publishes for one committed ticket change. */
function ticketEvent(type: string): LiveEvent {
  nextId += 1;
  return {
    id: nextId,
    orgId: org.orgId,
    type,
    aggregateType: 'ticket',
    aggregateId: ticketId,
    payload: { ticket: { id: ticketId } },
    createdAt: new Date().toISOString(),
  };
}

describe('live updates over WebSocket', () => {
  it('delivers an event published once to clients on two API instances, in sequence, without duplicates', async () => {
    const onOne = await LiveClient.connect(one, owner);
    const onTwo = await LiveClient.connect(two, owner);
    onOne.send({ type: 'subscribe', orgId: org.orgId });
    onTwo.send({ type: 'subscribe', orgId: org.orgId, ticketId });
    await onOne.waitFor((m) => m.type === 'subscribed', 'subscribed on one');
    await onTwo.waitFor((m) => m.type === 'subscribed', 'subscribed on two');

    const published = [
      ticketEvent('ticket.updated'),
      ticketEvent('message.created'),
      ticketEvent('ticket.assigned'),
    ];
    for (const e of published) await publishLive(one.redis, e);
    await publishLive(one.redis, published[0] as LiveEvent); // a relay redelivery is dropped

    await onOne.waitFor(() => onOne.events(`org:${org.orgId}`).length === 3, 'three org events');
    await onTwo.waitFor(() => onTwo.events(`ticket:${ticketId}`).length === 3, 'three ticket events');
    for (const [client, topic] of [
      [onOne, `org:${org.orgId}`],
      [onTwo, `ticket:${ticketId}`],
    ] as const) {
      const got = client.events(topic);
      expect(got.map((e) => e.event.id)).toEqual(published.map((e) => e.id));
      const seqs = got.map((e) => e.seq);
      expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] as number) + i));
    }
    onOne.close();
    onTwo.close();
  });

  it('fills a gap after a reconnect from the backlog, then carries on live', async () => {
    const first = await LiveClient.connect(two, owner);
    first.send({ type: 'subscribe', orgId: org.orgId, ticketId });
    const sub = (await first.waitFor((m) => m.type === 'subscribed', 'subscribed')) as { seq: number };
    await publishLive(one.redis, ticketEvent('ticket.updated'));
    await first.waitFor(() => first.events(`ticket:${ticketId}`).length === 1, 'one event');
    const lastSeen = first.events(`ticket:${ticketId}`)[0]?.seq as number;
    expect(lastSeen).toBe(sub.seq + 1);
    first.close();

    const missed = [
      ticketEvent('note.created'),
      ticketEvent('ticket.priority_changed'),
      ticketEvent('ticket.assigned'),
    ];
    for (const e of missed) await publishLive(one.redis, e);

    const back = await LiveClient.connect(one, owner);
    back.send({ type: 'subscribe', orgId: org.orgId, ticketId, after: lastSeen });
    await back.waitFor((m) => m.type === 'subscribed', 'subscribed again');
    const live = ticketEvent('ticket.status_changed');
    await publishLive(two.redis, live);
    await back.waitFor(() => back.events(`ticket:${ticketId}`).length === 4, 'backlog and live');
    const got = back.events(`ticket:${ticketId}`);
    expect(got.map((e) => e.event.id)).toEqual([...missed, live].map((e) => e.id));
    expect(got.map((e) => e.seq)).toEqual([lastSeen + 1, lastSeen + 2, lastSeen + 3, lastSeen + 4]);
    expect(back.received.some((m) => m.type === 'resync')).toBe(false);
    back.close();
  });

  it('tells a client to refetch when the backlog no longer reaches back far enough', async () => {
    const c = await LiveClient.connect(one, owner);
    await one.redis.del(`gm:live:log:ticket:${ticketId}`);
    await publishLive(one.redis, ticketEvent('ticket.updated'));
    c.send({ type: 'subscribe', orgId: org.orgId, ticketId, after: 1 });
    await c.waitFor((m) => m.type === 'resync', 'resync');
    c.close();
  });

  it('shares presence across instances and clears it when the viewer leaves', async () => {
    const watcher = await LiveClient.connect(one, owner);
    watcher.send({ type: 'subscribe', orgId: org.orgId, ticketId });
    await watcher.waitFor((m) => m.type === 'subscribed', 'subscribed');
    const typist = await LiveClient.connect(two, owner);
    typist.send({ type: 'presence', orgId: org.orgId, ticketId, state: 'typing' });
    const seen = (await watcher.waitFor(
      (m) => m.type === 'presence' && (m.viewers as unknown[]).length === 1,
      'presence',
    )) as { viewers: { userId: string; state: string }[] };
    expect(seen.viewers).toEqual([{ userId: org.ownerId, state: 'typing' }]);
    typist.close();
    await watcher.waitFor(
      (m) => m.type === 'presence' && (m.viewers as unknown[]).length === 0,
      'presence cleared',
    );
    watcher.close();
  });

  it('tells a newcomer who is already in the ticket, and forgets viewers who stop refreshing', async () => {
    const typist = await LiveClient.connect(two, owner);
    typist.send({ type: 'presence', orgId: org.orgId, ticketId, state: 'viewing' });
    const arrived = async () => {
      const c = await LiveClient.connect(one, owner);
      c.send({ type: 'subscribe', orgId: org.orgId, ticketId });
      const p = (await c.waitFor((m) => m.type === 'presence', 'presence on arrival')) as {
        viewers: unknown[];
      };
      c.close();
      return p.viewers;
    };
    // The presence message is fire-and-forget: wait until Redis holds it.
    for (let i = 0; i < 200 && (await one.redis.zcard(`gm:presence:${ticketId}`)) === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await arrived()).toEqual([{ userId: org.ownerId, state: 'viewing' }]);
    // The typist's presence was stamped by instance two's clock, which started a little after
    // one's (a whole second later on a loaded machine): measure past two's deadline, not one's.
    one.clock.advance(Math.max(0, two.clock.ms - one.clock.ms) + 31_000);
    expect(await arrived()).toEqual([]);
    typist.close();
  });

  it('keeps a signed-in member online while their socket talks, and tells every panel following the org', async () => {
    const studio = await makeOrg(db.app, 'Presence live');
    const me = await one.sessionFor(studio.ownerId);
    const colleague = await createUser(db.app, { displayName: 'Colleague' });
    await withTenant(db.app, studio.orgId, (tx) =>
      addMember(tx, { userId: colleague.id, role: 'agent' }, studio.owner),
    );
    const watcher = await LiveClient.connect(two, await two.sessionFor(colleague.id));
    const talker = await LiveClient.connect(one, me);
    try {
      watcher.send({ type: 'subscribe', orgId: studio.orgId });
      await watcher.waitFor((m) => m.type === 'subscribed', 'subscribed');
      // The other panel following the org now makes its member online, heard across instances.
      talker.send({ type: 'subscribe', orgId: studio.orgId });
      await watcher.waitFor(
        (m) => m.type === 'staff-presence' && m.userId === studio.ownerId && m.state === 'online',
        'online',
      );
      await talker.waitFor((m) => m.type === 'subscribed', 'subscribed');
      const seen = (await presenceOf(one.redis, studio.orgId, [studio.ownerId])).get(studio.ownerId);
      expect(seen?.state).toBe('online');
      await choosePresence(one.redis, studio.orgId, studio.ownerId, 'away');
      await talker.waitFor((m) => m.type === 'staff-presence' && m.state === 'away', 'away');
      // A socket that follows nothing in an org touches nobody there.
      const elsewhere = await makeOrg(db.app, 'Presence none');
      talker.send({ type: 'ping' });
      await talker.waitFor((m) => m.type === 'pong', 'pong');
      expect((await membersSeen(one.redis, elsewhere.orgId)).size).toBe(0);
    } finally {
      watcher.close();
      talker.close();
    }
  });

  it("refuses other orgs' topics, foreign origins and callers without a session", async () => {
    const c = await LiveClient.connect(one, owner);
    c.send({ type: 'subscribe', orgId: randomUUID() });
    c.send({ type: 'subscribe', orgId: org.orgId, ticketId: randomUUID() });
    c.send('not json' as unknown as object);
    await c.waitFor(() => c.received.filter((m) => m.type === 'error').length === 3, 'three errors');
    c.close();
    await expect(LiveClient.connect(one, owner, 'https://evil.example')).rejects.toThrow('HTTP 403');
    await expect(LiveClient.connect(one, { cookie: 'not-a-session' })).rejects.toThrow('HTTP 401');
  });

  it('a token revoked through one instance stops working there at once, and on the other when the relay publishes the revocation', async () => {
    const token = await one.tokenFor(db.app, org.orgId, ['tickets:read']);
    const list = (api: TestApi) => api.call(token, { method: 'GET', url: `/v1/orgs/${org.orgId}/tickets` });
    expect((await list(two)).statusCode).toBe(200);
    const tokenId = (
      await db.admin.query('select id from api_tokens where org_id = $1 order by created_at desc limit 1', [
        org.orgId,
      ])
    ).rows[0].id;
    const revoked = await one.call(owner, {
      method: 'DELETE',
      url: `/v1/orgs/${org.orgId}/api-tokens/${tokenId}`,
    });
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect((await list(one)).statusCode).toBe(401);
    // The revocation committed its outbox event with it; nothing reached the other instance yet
    // (no direct publish), so its cached entry still answers until the relay runs.
    const events = await db.admin.query(
      'select event_type, aggregate_id, relayed_at from outbox where org_id = $1 and aggregate_id = $2',
      [org.orgId, tokenId],
    );
    expect(events.rows).toEqual([
      { event_type: 'api_token.revoked', aggregate_id: tokenId, relayed_at: null },
    ]);
    await new Promise((r) => setTimeout(r, 200));
    expect((await list(two)).statusCode).toBe(200);

    const producer = createRedis(inject('services').redisUrl, 'producer', 'live-test-relay');
    producer.on('error', () => {});
    await producer.connect();
    const queues = createQueues(producer, `live-${randomUUID().slice(0, 8)}`);
    try {
      const relay = new OutboxRelay({
        pool: db.app,
        redis: producer,
        queues,
        logger: pino({ level: 'silent' }),
      });
      expect(await relay.relayBatch()).toBeGreaterThan(0);
      const until = Date.now() + 5000;
      let status = 200;
      while (status === 200 && Date.now() < until) {
        status = (await list(two)).statusCode;
        if (status === 200) await new Promise((r) => setTimeout(r, 20));
      }
      expect(status).toBe(401);
    } finally {
      await queues.close();
      producer.disconnect();
    }
  });
});
