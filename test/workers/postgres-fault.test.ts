import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../../db/pool.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { recordAttempts } from '../../db/webhook-attempts.js';
import { listDeliveries } from '../../db/webhook-deliveries.js';
import * as webhooks from '../../db/webhooks.js';
import { manualClock } from '../../workers/clock.js';
import { handlersFor } from '../../workers/handlers.js';
import { jobIds } from '../../workers/jobs.js';
import { RETRY_GRACE_MS, retryFailedJobs, sweepWebhookRetries } from '../../workers/maintenance.js';
import { startProcessors } from '../../workers/queues.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { box, logger, startPgProxy, startReceiver, testDeps, uniquePrefix, until } from './support.js';

/**
 * Postgres going away under running jobs (a failover, a network cut, a statement timeout): the
 * jobs must retry until it is back, and a job that ran out of attempts must be retried by the
 * maintenance sweep rather than stay failed for a week under an id that blocks re-adding it.
 */

const db = useTestDb();
const clock = manualClock(new Date());
let proxy: Awaited<ReturnType<typeof startPgProxy>>;
let pool: Pool;
let env: ReturnType<typeof testDeps>;
let processors: ReturnType<typeof startProcessors>;

beforeAll(async () => {
  proxy = await startPgProxy(db.appUrl);
  pool = createPool({ url: proxy.url, max: 4, statementTimeoutMs: 5_000, connectTimeoutMs: 1_000 });
  env = testDeps(pool, uniquePrefix(), { clock });
  processors = startProcessors({
    connection: env.connection.duplicate(),
    prefix: env.deps.queues.prefix,
    handlers: handlersFor(env.deps, 14),
    concurrency: { webhooks: 2, timers: 2, maintenance: 1 },
    logger,
    backoff: { baseMs: 50, capMs: 200 },
  });
});
afterAll(async () => {
  await processors.close();
  await env.close();
  await pool.end();
  await proxy.close();
});

async function setup() {
  const rx = await startReceiver();
  const org = await makeOrg(db.app);
  const { subscription } = await withTenant(db.app, org.orgId, (tx) =>
    webhooks.createSubscription(tx, { url: rx.url, eventTypes: ['ticket.created'] }, org.owner, box),
  );
  const { ticket } = await withTenant(db.app, org.orgId, (tx) =>
    openTicket(tx, { subject: 'Lag spikes', origin: 'panel' }, org.owner),
  );
  const r = await db.admin.query<{ id: number }>(
    `select id from outbox where org_id = $1 and aggregate_id = $2 and event_type = 'ticket.created'`,
    [org.orgId, ticket.id],
  );
  const outboxId = Number(r.rows[0]?.id);
  const log = () =>
    withTenant(db.app, org.orgId, (tx) => listDeliveries(tx, { outboxId, subscriptionId: subscription.id }));
  return { rx, org, subscription, outboxId, log };
}

const webhookQueue = () => env.deps.queues.get('webhooks');

describe('Postgres faults under running jobs', () => {
  it('retries a webhook fan-out through an outage and delivers once Postgres is back', async () => {
    const { rx, org, outboxId, log } = await setup();
    proxy.down();
    try {
      await env.deps.queues.enqueue(
        'webhook.fanout',
        { orgId: org.orgId, outboxId },
        { jobId: jobIds.fanout(outboxId) },
      );
      // It has failed against the dead database at least twice and is still scheduled to retry.
      await until(async () => {
        const job = await webhookQueue().getJob(jobIds.fanout(outboxId));
        return job && job.attemptsMade >= 2;
      });
      expect(await webhookQueue().getJobState(jobIds.fanout(outboxId))).not.toBe('failed');
    } finally {
      proxy.up();
    }
    await until(async () => rx.requests.length >= 1);
    const rows = await until(async () => {
      const l = await log();
      return l.length ? l : undefined;
    });
    expect(rows.map((d) => d.status)).toEqual(['succeeded']);
    await rx.close();
  });

  it('retries a job that failed for good once Postgres is back (sweep of failed jobs)', async () => {
    const { rx, org, subscription, outboxId, log } = await setup();
    const id = jobIds.deliver(outboxId, subscription.id, 1);
    proxy.down();
    try {
      // One attempt only: as a job looks after it ran out of attempts in a long outage.
      await env.deps.queues.enqueue(
        'webhook.deliver',
        { orgId: org.orgId, outboxId, subscriptionId: subscription.id, attempt: 1 },
        { jobId: id, attempts: 1 },
      );
      await until(async () => (await webhookQueue().getJobState(id)) === 'failed');
    } finally {
      proxy.up();
    }
    // Adding the same job again is a no-op while the failed one is kept: only a retry helps.
    await env.deps.queues.enqueue(
      'webhook.deliver',
      { orgId: org.orgId, outboxId, subscriptionId: subscription.id, attempt: 1 },
      { jobId: id },
    );
    expect(await webhookQueue().getJobState(id)).toBe('failed');
    expect(await retryFailedJobs(env.deps)).toBeGreaterThanOrEqual(1);
    await until(async () => rx.requests.length >= 1);
    const l = await until(async () => ((await log()).length ? log() : undefined));
    expect(l.map((d) => d.status)).toEqual(['succeeded']);
    await rx.close();
  });

  it('has the webhook sweep retry an overdue retry whose job failed instead of re-adding a no-op', async () => {
    const { rx, org, subscription, outboxId, log } = await setup();
    rx.setAnswer(() => ({ status: 500 }));
    // Attempt 1 fails at the receiver and schedules attempt 2; that job then meets the outage.
    proxy.down();
    const id2 = jobIds.deliver(outboxId, subscription.id, 2);
    try {
      await env.deps.queues.enqueue(
        'webhook.deliver',
        { orgId: org.orgId, outboxId, subscriptionId: subscription.id, attempt: 2 },
        { jobId: id2, attempts: 1 },
      );
      await until(async () => (await webhookQueue().getJobState(id2)) === 'failed');
    } finally {
      proxy.up();
    }
    await withTenant(db.app, org.orgId, (tx) =>
      recordAttempts(tx, [
        {
          subscriptionId: subscription.id,
          outboxId,
          eventType: 'ticket.created',
          messageId: `msg_${outboxId}`,
          attempt: 1,
          status: 'failed',
          responseStatus: 500,
          latencyMs: 3,
          responseExcerpt: null,
          error: 'HTTP 500',
          nextAttemptAt: new Date(clock.now().getTime() + 5_000),
          now: clock.now(),
        },
      ]),
    );
    rx.setAnswer(() => ({ status: 204 }));
    clock.advance(5_000 + RETRY_GRACE_MS + 1_000);
    expect(await sweepWebhookRetries(env.deps)).toBe(1);
    await until(async () => rx.requests.length >= 1);
    const l = await until(async () => ((await log()).length >= 2 ? log() : undefined));
    expect(l.map((d) => [d.attempt, d.status]).sort()).toEqual([
      [1, 'failed'],
      [2, 'succeeded'],
    ]);
    await rx.close();
  });
});
