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
import { box, logger, loopbackOnly, uniquePrefix, until } from './support.js';

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
});
