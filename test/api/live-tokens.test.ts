import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { type LiveEvent, publishLive } from '../../lib/live.js';
import { createRedis } from '../../lib/redis.js';
import { OutboxRelay } from '../../workers/outbox-relay.js';
import { createQueues } from '../../workers/queues.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

/**
 * `/v1/live` for integrations: an API token in `Authorization: Bearer` on the upgrade request,
 * with a scope that reads tickets, follows its own org and nothing else, and its socket ends when
 * the token is revoked, on every instance.
 */
const db = useTestDb();
let one: TestApi;
let two: TestApi;
let org: OrgFixture;
let other: OrgFixture;
let owner: Caller;
let ticketId: string;
let otherTicketId: string;
let nextId = Math.floor(Date.now() / 1000) * 1000 + 500;

beforeAll(async () => {
  one = await startTestApi(db.app);
  two = await startTestApi(db.app);
  for (const api of [one, two]) await api.app.listen({ host: '127.0.0.1', port: 0 });
  org = await makeOrg(db.app, 'Tokenlive');
  other = await makeOrg(db.app, 'Elsewhere');
  owner = await one.sessionFor(org.ownerId);
  ticketId = (
    await withTenant(db.app, org.orgId, (tx) =>
      openTicket(tx, { subject: 'For the token', origin: 'panel' }, org.owner),
    )
  ).ticket.id;
  otherTicketId = (
    await withTenant(db.app, other.orgId, (tx) =>
      openTicket(tx, { subject: 'Not for the token', origin: 'panel' }, other.owner),
    )
  ).ticket.id;
});
afterAll(async () => {
  await one.close();
  await two.close();
});

interface Socket {
  ws: WebSocket;
  received: Record<string, unknown>[];
  closed: Promise<{ code: number; reason: string }>;
  send(m: object): void;
  waitFor(pred: (m: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>>;
}

/** Connects like an integration would: a bearer token, no cookie, no Origin. */
async function connect(api: TestApi, headers: Record<string, string>): Promise<Socket> {
  const port = (api.app.server.address() as AddressInfo).port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/live`, { headers });
  const received: Record<string, unknown>[] = [];
  ws.on('message', (m) => received.push(JSON.parse(String(m))));
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => {
        body += String(d);
      });
      res.on('end', () => reject(new Error(`HTTP ${res.statusCode} ${body}`)));
    });
  });
  return {
    ws,
    received,
    closed,
    send: (m) => ws.send(JSON.stringify(m)),
    async waitFor(pred, what) {
      const until = Date.now() + 5000;
      while (Date.now() < until) {
        const found = received.find(pred);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(received).slice(0, 500)}`);
    },
  };
}

const bearer = (who: Caller) => ({ authorization: `Bearer ${who.token}` });

function ticketEvent(orgId: string, id: string): LiveEvent {
  nextId += 1;
  return {
    id: nextId,
    orgId,
    type: 'ticket.updated',
    aggregateType: 'ticket',
    aggregateId: id,
    payload: { ticket: { id } },
    createdAt: new Date().toISOString(),
  };
}

async function tokenIdOf(orgId: string): Promise<string> {
  const rows = await db.admin.query(
    'select id from api_tokens where org_id = $1 order by created_at desc limit 1',
    [orgId],
  );
  return rows.rows[0].id;
}

describe('live updates with an API token', () => {
  it('a token that reads tickets follows its org and its tickets, and gets their events', async () => {
    const token = await one.tokenFor(db.app, org.orgId, ['tickets:read']);
    const c = await connect(one, bearer(token));
    c.send({ type: 'subscribe', orgId: org.orgId });
    c.send({ type: 'subscribe', orgId: org.orgId, ticketId });
    await c.waitFor(
      () => c.received.filter((m) => m.type === 'subscribed').length === 2,
      'two subscriptions',
    );
    const event = ticketEvent(org.orgId, ticketId);
    await publishLive(one.redis, event);
    await c.waitFor(
      () => c.received.filter((m) => m.type === 'event').length === 2,
      'the event on both topics',
    );
    const topics = c.received.filter((m) => m.type === 'event').map((m) => m.topic);
    expect(topics.sort()).toEqual([`org:${org.orgId}`, `ticket:${ticketId}`].sort());
    c.ws.close();
  });

  it("a token sees nothing of another org, and can't announce presence (it is nobody)", async () => {
    const token = await one.tokenFor(db.app, org.orgId, ['tickets:write']);
    const c = await connect(one, bearer(token));
    c.send({ type: 'subscribe', orgId: other.orgId });
    c.send({ type: 'subscribe', orgId: other.orgId, ticketId: otherTicketId });
    // Its own org, but another org's ticket id: not found either.
    c.send({ type: 'subscribe', orgId: org.orgId, ticketId: otherTicketId });
    c.send({ type: 'subscribe', orgId: org.orgId, ticketId: randomUUID() });
    c.send({ type: 'presence', orgId: org.orgId, ticketId, state: 'viewing' });
    await c.waitFor(() => c.received.filter((m) => m.type === 'error').length === 5, 'five errors');
    // Messages are handled concurrently, so the answers come in any order.
    const errors = c.received.filter((m) => m.type === 'error').map((m) => String(m.message));
    expect(errors.filter((e) => e === 'not found')).toHaveLength(4);
    expect(errors.filter((e) => /presence/.test(e))).toHaveLength(1);
    expect(c.received.some((m) => m.type === 'subscribed')).toBe(false);
    // Nothing published in the other org reaches it.
    await publishLive(one.redis, ticketEvent(other.orgId, otherTicketId));
    c.send({ type: 'ping' });
    await c.waitFor((m) => m.type === 'pong', 'pong');
    expect(c.received.some((m) => m.type === 'event')).toBe(false);
    c.ws.close();
  });

  it('refuses a token whose scopes do not read tickets (403), and an unknown token (401)', async () => {
    const players = await one.tokenFor(db.app, org.orgId, ['players:read', 'webhooks:manage']);
    await expect(connect(one, bearer(players))).rejects.toThrow(/HTTP 403 .*tickets/);
    await expect(connect(one, bearer({ token: 'gm_nope' }))).rejects.toThrow('HTTP 401');
    await expect(connect(one, { authorization: 'Basic abc' })).rejects.toThrow('HTTP 401');
  });

  it('a session still needs the panel origin; a bearer token does not (no browser can set it cross-site)', async () => {
    await expect(
      connect(one, { cookie: `gm_session=${owner.cookie}`, origin: 'https://evil.example' }),
    ).rejects.toThrow('HTTP 403');
    const token = await one.tokenFor(db.app, org.orgId, ['tickets:read']);
    const c = await connect(one, { ...bearer(token), origin: 'https://integration.example' });
    c.send({ type: 'ping' });
    await c.waitFor((m) => m.type === 'pong', 'pong');
    c.ws.close();
  });

  it("a revoked token's sockets close: at once on the revoking instance, on the other when the relay publishes it", async () => {
    const token = await one.tokenFor(db.app, org.orgId, ['tickets:read']);
    const tokenId = await tokenIdOf(org.orgId);
    const here = await connect(one, bearer(token));
    const there = await connect(two, bearer(token));
    for (const c of [here, there]) {
      c.send({ type: 'subscribe', orgId: org.orgId });
      await c.waitFor((m) => m.type === 'subscribed', 'subscribed');
    }
    let thereClosed = false;
    there.closed.then(() => {
      thereClosed = true;
    });

    const revoked = await one.call(owner, {
      method: 'DELETE',
      url: `/v1/orgs/${org.orgId}/api-tokens/${tokenId}`,
    });
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(await here.closed).toEqual({ code: 4001, reason: 'token revoked' });
    // The other instance hears of it only through the outbox relay, which has not run yet.
    await new Promise((r) => setTimeout(r, 200));
    expect(thereClosed).toBe(false);

    const producer = createRedis(inject('services').redisUrl, 'producer', 'live-token-relay');
    producer.on('error', () => {});
    await producer.connect();
    const queues = createQueues(producer, `livetok-${randomUUID().slice(0, 8)}`);
    try {
      const relay = new OutboxRelay({
        pool: db.app,
        redis: producer,
        queues,
        logger: pino({ level: 'silent' }),
      });
      expect(await relay.relayBatch()).toBeGreaterThan(0);
      expect(await there.closed).toEqual({ code: 4001, reason: 'token revoked' });
    } finally {
      await queues.close();
      producer.disconnect();
    }
    // And it can't come back.
    await expect(connect(two, bearer(token))).rejects.toThrow('HTTP 401');
  });
});
