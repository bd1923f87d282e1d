import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../db/tenant.js';
import { overdueRetries } from '../../db/webhook-attempts.js';
import * as deliveries from '../../db/webhook-deliveries.js';
import * as webhooks from '../../db/webhooks.js';
import { manualClock } from '../../workers/clock.js';
import { RETRY_GRACE_MS } from '../../workers/maintenance.js';
import { deliver, fanout } from '../../workers/webhooks.js';
import { useTestDb } from '../support/db.js';
import { startReceiver, subscribedOrg, testDeps, uniquePrefix } from './support.js';

const db = useTestDb();
const clock = manualClock(new Date());
let env: ReturnType<typeof testDeps>;

beforeAll(() => {
  env = testDeps(db.app, uniquePrefix(), { clock });
});
afterAll(async () => {
  await env.close();
});

/** An org subscribed to `eventTypes` at `url`, and a way to open a ticket (a `ticket.created` event). */
async function setup(url: string, eventTypes: webhooks.WebhookEventType[]) {
  const { org, subscription, newEvent } = await subscribedOrg(db, url, eventTypes);
  const update = (change: Omit<Parameters<typeof webhooks.updateSubscription>[1], 'id'>) =>
    withTenant(db.app, org.orgId, (tx) =>
      webhooks.updateSubscription(tx, { ...change, id: subscription.id }, org.owner),
    );
  const overdue = (at: Date) => withTenant(db.app, org.orgId, (tx) => overdueRetries(tx, at, RETRY_GRACE_MS));
  const attempt = (outboxId: number, n: number, replay = false) =>
    deliver(env.deps, { orgId: org.orgId, outboxId, subscriptionId: subscription.id, attempt: n, replay });
  return { org, subscription, newEvent, update, overdue, attempt };
}

describe('event filters', () => {
  it('stops sending an event type once the subscription no longer subscribes to it, retries included', async () => {
    const rx = await startReceiver(() => ({ status: 500 }));
    try {
      const s = await setup(rx.url, ['ticket.created', 'ticket.closed']);
      const outboxId = await s.newEvent();
      const t0 = new Date();
      clock.set(t0);
      expect(await fanout(env.deps, { orgId: s.org.orgId, outboxId })).toBe(1);
      expect(rx.requests).toHaveLength(1);
      await s.update({ eventTypes: ['ticket.closed'] });
      rx.setAnswer(() => ({ status: 204 }));
      clock.set(new Date(t0.getTime() + 10_000));
      const out = await s.attempt(outboxId, 2);
      expect(out.outcome).toBe('skipped');
      expect(out).toMatchObject({ reason: 'event type no longer subscribed' });
      // A replay queued before the change is skipped too, and the sweep finds no lost retry.
      expect((await s.attempt(outboxId, 1, true)).outcome).toBe('skipped');
      expect(rx.requests).toHaveLength(1);
      expect(await s.overdue(new Date(t0.getTime() + 3600_000))).toEqual([]);
      // Subscribed again: the retries pick up where they were.
      await s.update({ eventTypes: ['ticket.created'] });
      expect((await s.attempt(outboxId, 2)).outcome).toBe('succeeded');
      expect(rx.requests).toHaveLength(2);
    } finally {
      await rx.close();
    }
  });

  it('refuses to replay an event of a type the subscription no longer wants', async () => {
    const rx = await startReceiver(() => ({ status: 500 }));
    try {
      const s = await setup(rx.url, ['ticket.created', 'ticket.closed']);
      const outboxId = await s.newEvent();
      clock.set(new Date());
      await fanout(env.deps, { orgId: s.org.orgId, outboxId });
      const [logged] = await withTenant(db.app, s.org.orgId, (tx) =>
        deliveries.listDeliveries(tx, { outboxId, subscriptionId: s.subscription.id }),
      );
      await s.update({ eventTypes: ['ticket.closed'] });
      await expect(
        withTenant(db.app, s.org.orgId, (tx) =>
          deliveries.replayDelivery(tx, { deliveryId: logged?.id as string }, s.org.owner),
        ),
      ).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/ticket\.created/) });
    } finally {
      await rx.close();
    }
  });
});

describe('re-enabling a subscription', () => {
  it('starts fresh: retries pending from before it was disabled are given up, not resent days later', async () => {
    const rx = await startReceiver(() => ({ status: 500 }));
    try {
      const s = await setup(rx.url, ['ticket.created']);
      const outboxId = await s.newEvent();
      const t0 = new Date();
      clock.set(t0);
      expect(await fanout(env.deps, { orgId: s.org.orgId, outboxId })).toBe(1);
      await s.update({ enabled: false });
      // Two days later the receiver is fixed and the subscription is turned back on.
      const later = new Date(t0.getTime() + 2 * 24 * 3600_000);
      clock.set(later);
      rx.setAnswer(() => ({ status: 204 }));
      await s.update({ enabled: true });
      expect(await s.overdue(new Date(later.getTime() + RETRY_GRACE_MS * 2))).toEqual([]);
      // A retry job still queued from before does nothing either.
      expect((await s.attempt(outboxId, 2)).outcome).toBe('skipped');
      expect(rx.requests).toHaveLength(1);
      const [first] = await withTenant(db.app, s.org.orgId, (tx) =>
        deliveries.listDeliveries(tx, { outboxId, subscriptionId: s.subscription.id }),
      );
      expect(first).toMatchObject({ attempt: 1, status: 'dead', nextAttemptAt: null });
      // New events go out, and the old one can still be sent on request.
      const fresh = await s.newEvent();
      expect(await fanout(env.deps, { orgId: s.org.orgId, outboxId: fresh })).toBe(1);
      expect((await s.attempt(outboxId, 1, true)).outcome).toBe('succeeded');
      expect(rx.requests).toHaveLength(3);
    } finally {
      await rx.close();
    }
  });

  it('keeps pending retries when "enabled: true" is sent for a subscription that was not disabled', async () => {
    const rx = await startReceiver(() => ({ status: 500 }));
    try {
      const s = await setup(rx.url, ['ticket.created']);
      const outboxId = await s.newEvent();
      const t0 = new Date();
      clock.set(t0);
      await fanout(env.deps, { orgId: s.org.orgId, outboxId });
      await s.update({ enabled: true });
      expect(await s.overdue(new Date(t0.getTime() + 60_000 + RETRY_GRACE_MS))).toEqual([
        { subscriptionId: s.subscription.id, outboxId, nextAttempt: 2 },
      ]);
    } finally {
      await rx.close();
    }
  });
});
