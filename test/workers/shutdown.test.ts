import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, inject, it } from 'vitest';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { createSubscription } from '../../db/webhooks.js';
import { jobIds } from '../../workers/jobs.js';
import { startWorkerRuntime } from '../../workers/runtime.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { box, logger, loopbackOnly, startReceiver, uniquePrefix, until } from './support.js';

const db = useTestDb();

describe('graceful shutdown', () => {
  it('interrupts a delivery still waiting for its receiver and puts the job back for a retry', async () => {
    // A receiver that takes the request and never answers.
    const held: http.ServerResponse[] = [];
    const server = http.createServer((_req, res) => {
      held.push(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const org = await makeOrg(db.app);
    const { subscription } = await withTenant(db.app, org.orgId, (tx) =>
      createSubscription(tx, { url, eventTypes: ['ticket.created'] }, org.owner, box),
    );
    const { ticket } = await withTenant(db.app, org.orgId, (tx) =>
      openTicket(tx, { subject: 'Slow receiver', origin: 'api' }, org.owner),
    );
    const ev = await db.admin.query<{ id: number }>(
      `select id from outbox where aggregate_id = $1 and event_type = 'ticket.created'`,
      [ticket.id],
    );
    const outboxId = Number(ev.rows[0]?.id);
    const runtime = await startWorkerRuntime({
      pool: db.app,
      redisUrl: inject('services').redisUrl,
      logger,
      box,
      webhookTargets: loopbackOnly,
      prefix: uniquePrefix(),
      schedulers: false,
      relay: { enabled: false },
      // Far longer than the stop's grace: without interrupting the request, the stop would wait
      // for this timeout and log a failed attempt.
      webhookTimeoutMs: 5_000,
      stopGraceMs: 200,
    });
    const id = jobIds.deliver(outboxId, subscription.id, 1);
    try {
      await runtime.queues.enqueue(
        'webhook.deliver',
        { orgId: org.orgId, outboxId, subscriptionId: subscription.id, attempt: 1 },
        { jobId: id },
      );
      await until(async () => held.length >= 1);
      await runtime.stop();
      // Nothing was logged for the interrupted attempt, and the job waits to run again.
      const log = await db.admin.query('select 1 from webhook_deliveries where outbox_id = $1', [outboxId]);
      expect(log.rowCount).toBe(0);
      const probe = await startWorkerRuntime({
        pool: db.app,
        redisUrl: inject('services').redisUrl,
        logger,
        box,
        webhookTargets: loopbackOnly,
        prefix: runtime.queues.prefix,
        schedulers: false,
        relay: { enabled: false },
        processors: false,
      });
      try {
        const job = await probe.queues.get('webhooks').getJob(id);
        expect(job?.attemptsMade).toBe(1);
        expect(['delayed', 'waiting']).toContain(await probe.queues.get('webhooks').getJobState(id));
        expect(job?.failedReason).toMatch(/shut/);
      } finally {
        await probe.stop();
      }
    } finally {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  }, 60_000);
  it('a fan-out stopped mid-way keeps the attempts that finished and sends only the rest when it runs again', async () => {
    const fast = await startReceiver();
    const held: http.ServerResponse[] = [];
    const slow = http.createServer((_req, res) => {
      held.push(res);
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const slowPort = (slow.address() as AddressInfo).port;
    const org = await makeOrg(db.app);
    const subs = await withTenant(db.app, org.orgId, async (tx) => [
      (await createSubscription(tx, { url: fast.url, eventTypes: ['ticket.created'] }, org.owner, box))
        .subscription,
      (
        await createSubscription(
          tx,
          { url: `http://127.0.0.1:${slowPort}/hook`, eventTypes: ['ticket.created'] },
          org.owner,
          box,
        )
      ).subscription,
    ]);
    const { ticket } = await withTenant(db.app, org.orgId, (tx) =>
      openTicket(tx, { subject: 'Half a fan-out', origin: 'api' }, org.owner),
    );
    const ev = await db.admin.query<{ id: number }>(
      `select id from outbox where aggregate_id = $1 and event_type = 'ticket.created'`,
      [ticket.id],
    );
    const outboxId = Number(ev.rows[0]?.id);
    const options = {
      pool: db.app,
      redisUrl: inject('services').redisUrl,
      logger,
      box,
      webhookTargets: loopbackOnly,
      prefix: uniquePrefix(),
      schedulers: false,
      relay: { enabled: false },
      webhookTimeoutMs: 5_000,
      stopGraceMs: 200,
    } as const;
    const logged = async () =>
      (
        await db.admin.query<{ subscription_id: string; attempt: number; status: string }>(
          'select subscription_id, attempt, status from webhook_deliveries where outbox_id = $1',
          [outboxId],
        )
      ).rows;
    const runtime = await startWorkerRuntime(options);
    let again: Awaited<ReturnType<typeof startWorkerRuntime>> | undefined;
    try {
      await runtime.queues.enqueue(
        'webhook.fanout',
        { orgId: org.orgId, outboxId },
        { jobId: jobIds.fanout(outboxId) },
      );
      await until(async () => held.length >= 1 && (await logged()).length >= 1);
      await runtime.stop();
      // The finished attempt is logged; the interrupted one is not, and the fan-out waits to run again.
      expect((await logged()).map((r) => [r.subscription_id, r.attempt, r.status])).toEqual([
        [subs[0]?.id, 1, 'succeeded'],
      ]);
      for (const res of held) res.destroy();
      held.length = 0;
      // The slow receiver now answers at once; the fan-out runs again and sends only what is missing.
      slow.removeAllListeners('request');
      slow.on('request', (_req, res) => res.writeHead(204).end());
      again = await startWorkerRuntime(options);
      const rows = await until(async () => {
        const r = await logged();
        return r.length >= 2 ? r : undefined;
      });
      expect(rows.every((r) => r.attempt === 1 && r.status === 'succeeded')).toBe(true);
      expect(new Set(rows.map((r) => r.subscription_id))).toEqual(new Set(subs.map((s) => s?.id)));
      expect(fast.requests).toHaveLength(1);
      expect(
        await again.queues.get('webhooks').getJob(jobIds.deliver(outboxId, subs[1]?.id as string, 1)),
      ).toBeUndefined();
    } finally {
      await again?.stop();
      for (const res of held) res.destroy();
      slow.closeAllConnections();
      await new Promise((r) => slow.close(r));
      await fast.close();
    }
  }, 60_000);
});
