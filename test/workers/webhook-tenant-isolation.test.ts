import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import * as webhooks from '../../db/webhooks.js';
import { messageIdFor } from '../../db/webhooks.js';
import { registry } from '../../lib/metrics.js';
import type { WorkerDeps } from '../../workers/deps.js';
import { jobIds } from '../../workers/jobs.js';
import { SLOT_TTL_MS, withDeliverySlot } from '../../workers/webhook-slots.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { box, processorsFor, startReceiver, testDeps, uniquePrefix, until } from './support.js';

const db = useTestDb();
let env: ReturnType<typeof testDeps>;

beforeAll(() => {
  env = testDeps(db.app, uniquePrefix());
});
afterAll(async () => {
  await env.close();
});

/** A studio subscribed to `ticket.created` at `url`, and a way to commit one such event. */
async function studio(url: string) {
  const org = await makeOrg(db.app);
  await withTenant(db.app, org.orgId, (tx) =>
    webhooks.createSubscription(tx, { url, eventTypes: ['ticket.created'] }, org.owner, box),
  );
  const newEvent = async () => {
    const { ticket } = await withTenant(db.app, org.orgId, (tx) =>
      openTicket(tx, { subject: 'Lag spike', origin: 'panel' }, org.owner),
    );
    const r = await db.admin.query<{ id: number }>(
      `select id from outbox where org_id = $1 and aggregate_id = $2 and event_type = 'ticket.created'`,
      [org.orgId, ticket.id],
    );
    return Number(r.rows[0]?.id);
  };
  const succeeded = async () => {
    const r = await db.admin.query<{ n: number }>(
      `select count(*)::int as n from webhook_deliveries where org_id = $1 and status = 'succeeded'`,
      [org.orgId],
    );
    return r.rows[0]?.n ?? 0;
  };
  return { orgId: org.orgId, newEvent, succeeded };
}

const fanoutJob = (orgId: string, outboxId: number) => ({
  name: 'webhook.fanout' as const,
  payload: { orgId, outboxId },
  opts: { jobId: jobIds.fanout(outboxId) },
});

describe('webhook delivery slots per organization', () => {
  it("a studio with a slow receiver holds only its share of the slots: another studio's webhook goes out while the backlog waits, in order", async () => {
    // 4 slots; a studio may hold a quarter of them (1) at once.
    const slow = await startReceiver(() => ({ status: 204, delayMs: 700 }));
    const fast = await startReceiver();
    const deps: WorkerDeps = { ...env.deps, webhookSlots: { redis: env.connection, perOrg: 1 } };
    const processors = processorsFor(env, { webhooks: 4 }, deps);
    try {
      const a = await studio(slow.url);
      const b = await studio(fast.url);
      const backlog: number[] = [];
      for (let i = 0; i < 8; i++) backlog.push(await a.newEvent());
      const bEvent = await b.newEvent();
      // Studio A's burst is queued first, studio B's single event right behind it.
      await env.deps.queues.enqueueMany([
        ...backlog.map((id) => fanoutJob(a.orgId, id)),
        fanoutJob(b.orgId, bEvent),
      ]);

      await until(async () => fast.requests.length === 1);
      const bAt = fast.requests[0]?.at ?? 0;
      const aSentBefore = slow.requests.filter((r) => r.at <= bAt).length;
      // Without a cap B waits behind A's whole burst (every slot busy on A's slow receiver).
      expect(aSentBefore, "studio A's events sent before studio B's one").toBeLessThanOrEqual(2);
      // ...and is logged as delivered while A's backlog is still going out.
      await until(async () => (await b.succeeded()) === 1);
      expect(await a.succeeded()).toBeLessThan(backlog.length);

      // A's backlog still goes out, every event once, in the order the events were committed.
      await until(async () => (await a.succeeded()) === backlog.length, 30_000);
      expect(slow.requests.map((r) => r.headers['webhook-id'])).toEqual(backlog.map(messageIdFor));
      // Being put off is not a failed attempt: each job completed on its first.
      const queue = env.deps.queues.get('webhooks');
      for (const id of backlog) {
        const job = await queue.getJob(jobIds.fanout(id));
        expect(await job?.getState()).toBe('completed');
        expect(job?.attemptsMade).toBe(1);
      }
      // Operators see the putting off.
      const metric = await registry.getSingleMetric('gamemod_webhook_deferred_total')?.get();
      const fanoutsPutOff = metric?.values.find((v) => v.labels.name === 'webhook.fanout')?.value ?? 0;
      expect(fanoutsPutOff).toBeGreaterThan(0);
      // Every slot was given back.
      const held = await env.connection.keys(`${env.deps.queues.prefix}:webhook-slots:*:held`);
      const counts = await Promise.all(held.map((k) => env.connection.zcard(k)));
      expect(counts.reduce((x, y) => x + y, 0)).toBe(0);
    } finally {
      await processors.close();
      await slow.close();
      await fast.close();
    }
  }, 60_000);

  it('a slot held by a worker that died lapses, so the studio is not held back for good', async () => {
    const slots = { redis: env.connection, perOrg: 1 };
    const deps = { ...env.deps, webhookSlots: slots };
    const a = await studio('http://127.0.0.1:9/hook');
    const outboxId = await a.newEvent();
    const job = await env.deps.queues
      .get('webhooks')
      .add('webhook.fanout', { orgId: a.orgId, outboxId }, { jobId: `lapse-${outboxId}`, delay: 3_600_000 });
    const held = `${env.deps.queues.prefix}:webhook-slots:{${a.orgId}}:held`;
    // A live holder keeps the studio's only slot: the job does not run.
    await env.connection.zadd(held, Date.now() + SLOT_TTL_MS, 'crashed-job');
    let ran = false;
    const run = () =>
      withDeliverySlot(deps, a.orgId, job, undefined, outboxId, async () => {
        ran = true;
      });
    await run().catch(() => {});
    expect(ran).toBe(false);
    // Its lapse time passed without a release (the process died): the slot is free again.
    await env.connection.zadd(held, Date.now() - 1, 'crashed-job');
    await run();
    expect(ran).toBe(true);
    expect(await env.connection.zcard(held)).toBe(0);
  });
});
