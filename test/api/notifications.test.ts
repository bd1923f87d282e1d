import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { addMember } from '../../db/memberships.js';
import { withTenant } from '../../db/tenant.js';
import { assign, openTicket } from '../../db/tickets.js';
import { createUser } from '../../db/users.js';
import { createRedis } from '../../lib/redis.js';
import { notifyForEvent } from '../../workers/notifications.js';
import { OutboxRelay } from '../../workers/outbox-relay.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { testDeps, uniquePrefix } from '../workers/support.js';
import { type Caller, errorCode, startTestApi, type TestApi } from './support.js';

/** The notification centre over HTTP and its live bell over the WebSocket. */
const db = useTestDb();
const ORIGIN = 'http://127.0.0.1:3000';
let api: TestApi;
let org: OrgFixture;
let owner: Caller;
let ana: Caller;
let anaId: string;
let outsider: Caller;
let token: Caller;
let env: ReturnType<typeof testDeps>;

beforeAll(async () => {
  api = await startTestApi(db.app);
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  env = testDeps(db.app, uniquePrefix());
  org = await makeOrg(db.app, 'Bell');
  const other = await makeOrg(db.app, 'Other bell');
  owner = await api.sessionFor(org.ownerId);
  outsider = await api.sessionFor(other.ownerId);
  anaId = (await createUser(db.app, { displayName: 'Ana' })).id;
  await withTenant(db.app, org.orgId, (tx) => addMember(tx, { userId: anaId, role: 'agent' }, org.owner));
  ana = await api.sessionFor(anaId);
  token = await api.tokenFor(db.app, org.orgId, ['tickets:read']);
});
afterAll(async () => {
  await env.close();
  await api.close();
});

async function socket(who: Caller) {
  const port = (api.app.server.address() as AddressInfo).port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/live`, {
    headers: { cookie: `gm_session=${who.cookie}`, origin: ORIGIN },
  });
  const received: Record<string, unknown>[] = [];
  ws.on('message', (m) => received.push(JSON.parse(String(m))));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, received, send: (m: object) => ws.send(JSON.stringify(m)) };
}

async function until<T>(check: () => T | undefined | false, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs the notification job on every event so far, then relays the outbox once. */
async function deliver() {
  const rows = await db.admin.query<{ id: string }>(
    `select id from outbox where org_id = $1 and event_type <> 'notification.created' and relayed_at is null order by id`,
    [org.orgId],
  );
  for (const r of rows.rows) await notifyForEvent(env.deps, { orgId: org.orgId, outboxId: Number(r.id) });
  const producer = createRedis(inject('services').redisUrl, 'producer', 'notify-test-relay');
  producer.on('error', () => {});
  await producer.connect();
  try {
    const relay = new OutboxRelay({
      pool: db.app,
      redis: producer,
      queues: env.deps.queues,
      logger: pino({ level: 'silent' }),
    });
    while ((await relay.relayBatch()) > 0);
  } finally {
    producer.disconnect();
  }
}

const url = (path = '', orgId = org.orgId) => `/v1/orgs/${orgId}/notifications${path}`;

describe('notification centre', () => {
  it('rings the member’s bell live, and only theirs, then lists, counts and marks read', async () => {
    const anaLive = await socket(ana);
    const ownerLive = await socket(owner);
    anaLive.send({ type: 'subscribe', orgId: org.orgId, notifications: true });
    ownerLive.send({ type: 'subscribe', orgId: org.orgId, notifications: true });
    ownerLive.send({ type: 'subscribe', orgId: org.orgId });
    // Someone else's topic is not on offer: the subscription always names the caller's own.
    await new Promise((r) => setTimeout(r, 200));
    const t = await withTenant(db.app, org.orgId, async (tx) => {
      const { ticket } = await openTicket(tx, { subject: 'Stuck in a wall', origin: 'panel' }, org.owner);
      await assign(tx, { ticketId: ticket.id, assigneeId: anaId }, org.owner);
      return ticket;
    });
    await deliver();
    const rung = await until(
      () =>
        anaLive.received.find(
          (m) => m.type === 'event' && (m.event as { type: string }).type === 'notification.created',
        ),
      'the live notification',
    );
    expect(rung).toMatchObject({
      topic: `member:${org.orgId}:${anaId}`,
      event: { payload: { userId: anaId, notification: { event: 'assigned', ticketId: t.id } } },
    });
    // The owner's org topic saw the ticket's events, never the notification.
    await until(() => ownerLive.received.some((m) => m.type === 'event'), 'the org events');
    expect(
      ownerLive.received.filter(
        (m) => m.type === 'event' && (m.event as { type: string }).type.startsWith('notification'),
      ),
    ).toEqual([]);
    anaLive.ws.close();
    ownerLive.ws.close();

    const list = await api.call(ana, { method: 'GET', url: url() });
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json()).toMatchObject({
      unread: 1,
      notifications: [{ event: 'assigned', ticketId: t.id, ticketNumber: t.number, readAt: null }],
    });
    const id = list.json().notifications[0].id as string;
    expect((await api.call(ana, { method: 'GET', url: url('/unread-count') })).json()).toEqual({ unread: 1 });
    // The owner cannot mark Ana's notification read.
    expect(
      (await api.call(owner, { method: 'POST', url: url('/read'), payload: { ids: [id] } })).json(),
    ).toEqual({
      updated: 0,
    });
    expect(
      (await api.call(ana, { method: 'POST', url: url('/read'), payload: { ids: [id] } })).json(),
    ).toEqual({
      updated: 1,
    });
    expect((await api.call(ana, { method: 'GET', url: url('?unread=true') })).json().notifications).toEqual(
      [],
    );
    expect((await api.call(ana, { method: 'POST', url: url('/read-all') })).json()).toEqual({ updated: 0 });
    const bad = await api.call(ana, { method: 'POST', url: url('/read'), payload: { ids: ['nope'] } });
    expect(bad.statusCode).toBe(422);
  });

  it('keeps preferences per member, validated, and refuses tokens and outsiders', async () => {
    const got = await api.call(ana, { method: 'GET', url: url('/preferences') });
    expect(got.statusCode, got.body).toBe(200);
    expect(got.json().events.assigned).toEqual({ panel: true, discord: true, email: false, push: true });
    const put = await api.call(ana, {
      method: 'PUT',
      url: url('/preferences'),
      payload: {
        quietStart: 1320,
        quietEnd: 420,
        timeZone: 'Europe/Paris',
        events: { assigned: { email: true } },
      },
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ quietStart: 1320, quietEnd: 420, timeZone: 'Europe/Paris' });
    expect(put.json().events.assigned.email).toBe(true);
    // The owner's are their own.
    expect(
      (await api.call(owner, { method: 'GET', url: url('/preferences') })).json().events.assigned.email,
    ).toBe(false);
    const badZone = await api.call(ana, {
      method: 'PUT',
      url: url('/preferences'),
      payload: { timeZone: 'Nowhere/Land' },
    });
    expect(badZone.statusCode).toBe(422);
    // Node still knows this one, PostgreSQL does not: a clear 422 naming the field, not a 500.
    const oldZone = await api.call(ana, {
      method: 'PUT',
      url: url('/preferences'),
      payload: { timeZone: 'US/Pacific-New' },
    });
    expect(oldZone.statusCode, oldZone.body).toBe(422);
    expect(oldZone.json().error.details).toEqual([
      { path: 'timeZone', message: expect.stringMatching(/time zone/) },
    ]);
    expect((await api.call(ana, { method: 'GET', url: url('/preferences') })).json().timeZone).toBe(
      'Europe/Paris',
    );
    const badChannel = await api.call(ana, {
      method: 'PUT',
      url: url('/preferences'),
      payload: { events: { assigned: { pager: true } } },
    });
    expect(badChannel.statusCode).toBe(422);
    // A token has no notifications: an empty list, and no preferences to change.
    expect((await api.call(token, { method: 'GET', url: url() })).json()).toEqual({
      notifications: [],
      unread: 0,
    });
    expect(
      (await api.call(token, { method: 'GET', url: url('/preferences') })).json().events.assigned,
    ).toEqual({
      panel: true,
      discord: true,
      email: false,
      push: true,
    });
    const tokenPut = await api.call(token, {
      method: 'PUT',
      url: url('/preferences'),
      payload: { quietStart: 1 },
    });
    expect(errorCode(tokenPut)).toBe('forbidden');
    const foreign = await api.call(outsider, { method: 'GET', url: url() });
    expect([403, 404]).toContain(foreign.statusCode);
  });
});
