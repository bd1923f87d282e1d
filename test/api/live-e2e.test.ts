import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { createSecretBox } from '../../lib/secret-box.js';
import { randomSecretKey } from '../../lib/secret-key.js';
import { startWorkerRuntime, type WorkerRuntime } from '../../workers/runtime.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

/**
 * The whole path of a live update: a change through one API instance commits its outbox row,
 * the workers' relay publishes it, and a panel connected to another API instance receives it.
 */
const db = useTestDb();
let one: TestApi;
let two: TestApi;
let workers: WorkerRuntime;
let org: OrgFixture;
let owner: Caller;

beforeAll(async () => {
  one = await startTestApi(db.app);
  two = await startTestApi(db.app);
  await two.app.listen({ host: '127.0.0.1', port: 0 });
  workers = await startWorkerRuntime({
    pool: db.app,
    redisUrl: inject('services').redisUrl,
    logger: pino({ level: 'silent' }),
    box: createSecretBox(randomSecretKey()),
    webhookTargets: { allowLoopback: true, allowPrivate: false },
    prefix: `e2e-${randomBytes(4).toString('hex')}`,
    schedulers: false,
    processors: false,
    relay: { pollMs: 200 },
  });
  org = await makeOrg(db.app, 'Endtoend');
  owner = await one.sessionFor(org.ownerId);
});
afterAll(async () => {
  await workers.stop();
  await one.close();
  await two.close();
});

describe('live updates end to end', () => {
  it('a reply made through one instance reaches a ticket watcher on another, through the outbox relay', async () => {
    const ticket = (
      await one.call(owner, {
        method: 'POST',
        url: `/v1/orgs/${org.orgId}/tickets`,
        payload: { subject: 'E2E' },
      })
    ).json();
    const port = (two.app.server.address() as AddressInfo).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/live`, {
      headers: { cookie: `gm_session=${owner.cookie}`, origin: 'http://127.0.0.1:3000' },
    });
    const received: { type: string; event?: { type: string; aggregateId: string } }[] = [];
    ws.on('message', (m) => received.push(JSON.parse(String(m))));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'subscribe', orgId: org.orgId, ticketId: ticket.id }));
    const until = (pred: () => boolean) =>
      new Promise<void>((resolve, reject) => {
        const deadline = Date.now() + 10_000;
        const tick = () =>
          pred()
            ? resolve()
            : Date.now() > deadline
              ? reject(new Error(JSON.stringify(received)))
              : setTimeout(tick, 20);
        tick();
      });
    await until(() => received.some((m) => m.type === 'subscribed'));

    const reply = await one.call(owner, {
      method: 'POST',
      url: `/v1/orgs/${org.orgId}/tickets/${ticket.id}/replies`,
      payload: { body: 'On it' },
    });
    expect(reply.statusCode).toBe(201);
    await until(() => received.some((m) => m.type === 'event' && m.event?.type === 'message.created'));
    const event = received.find((m) => m.event?.type === 'message.created')?.event;
    expect(event?.aggregateId).toBe(ticket.id);
    ws.close();
  });
});
