import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { withTenant } from '../../db/tenant.js';
import { openTicket, setPriority } from '../../db/tickets.js';
import { createSubscription, messageIdFor } from '../../db/webhooks.js';
import { orgTopic, readBacklog, ticketTopic } from '../../lib/live.js';
import { type RedisHandle, startRedis } from '../../lib/local-stack/index.js';
import { freePort } from '../../lib/local-stack/ports.js';
import { registry } from '../../lib/metrics.js';
import { createRedis } from '../../lib/redis.js';
import { handlersFor } from '../../workers/handlers.js';
import { jobIds } from '../../workers/jobs.js';
import { createQueues, type Queues, startProcessors } from '../../workers/queues.js';
import { startWorkerRuntime, type WorkerRuntime } from '../../workers/runtime.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { box, logger, loopbackOnly, startReceiver, testDeps, uniquePrefix, until } from './support.js';

const db = useTestDb(20);
const dir = mkdtempSync(join(tmpdir(), 'gm-fault-redis-'));
let redis: RedisHandle | undefined;
let runtime: WorkerRuntime | undefined;
afterAll(async () => {
  await runtime?.stop().catch(() => {});
  await redis?.stop({ kill: true });
  rmSync(dir, { recursive: true, force: true });
});

describe('Redis killed mid-stream', () => {
  it('delivers every committed change exactly once per subscription and once on the live stream', async () => {
    // A private, durable (AOF, fsync every second) Redis this test can SIGKILL.
    redis = await startRedis({ dir, port: await freePort(), install: true, durable: true, log: () => {} });
    const org = await makeOrg(db.app);
    const receivers = [await startReceiver(), await startReceiver()];
    const subs = [];
    for (const rx of receivers) {
      const { subscription } = await withTenant(db.app, org.orgId, (tx) =>
        createSubscription(
          tx,
          { url: rx.url, eventTypes: ['ticket.created', 'ticket.priority_changed'] },
          org.owner,
          box,
        ),
      );
      subs.push(subscription);
    }
    runtime = await startWorkerRuntime({
      pool: db.app,
      redisUrl: redis.url,
      logger,
      box,
      webhookTargets: loopbackOnly,
      prefix: uniquePrefix(),
      schedulers: false,
      // In its own thread, as the workers role runs it.
      relay: { pollMs: 100, thread: true },
      // A job that was running when Redis died lost its lock with the kill: it runs again at the
      // next check for stalled jobs, every 30 s by default.
      stalled: { lockDurationMs: 5_000, checkEveryMs: 1_000 },
    });

    // A stream of changes, each committed on its own, while Redis is killed and restarted.
    let stop = false;
    let committed = 0;
    const writer = (async () => {
      let i = 0;
      while (!stop) {
        await withTenant(db.app, org.orgId, async (tx) => {
          const { ticket } = await openTicket(tx, { subject: `Change ${i}`, origin: 'api' }, org.owner);
          if (i % 3 === 0) await setPriority(tx, { ticketId: ticket.id, priority: 'high' }, org.owner);
        });
        committed++;
        i++;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await until(async () => committed >= 30 && receivers[0]!.requests.length >= 10);
    await redis.stop({ kill: true });
    const atKill = committed;
    await until(async () => committed >= atKill + 30);
    await redis.restart();
    const atRestart = committed;
    await until(async () => committed >= atRestart + 30);
    stop = true;
    await writer;

    const events = await db.admin.query<{ id: number }>(
      `select id from outbox where org_id = $1 and event_type in ('ticket.created', 'ticket.priority_changed') order by id`,
      [org.orgId],
    );
    const expected = events.rows.map((r) => Number(r.id));
    expect(expected.length).toBeGreaterThan(90);

    // Wait until the delivery log has a success for every event and subscription.
    await until(async () => {
      const r = await db.admin.query<{ n: number }>(
        `select count(*)::int as n from webhook_deliveries where org_id = $1 and status = 'succeeded'`,
        [org.orgId],
      );
      return (r.rows[0]?.n ?? 0) >= expected.length * subs.length;
    }, 60_000);
    // Let anything still in flight land before counting duplicates.
    await new Promise((r) => setTimeout(r, 500));

    for (const [k, sub] of subs.entries()) {
      const log = await db.admin.query<{ outbox_id: number; n: number }>(
        `select outbox_id, count(*)::int as n from webhook_deliveries
         where subscription_id = $1 and status = 'succeeded' group by outbox_id order by outbox_id`,
        [sub.id],
      );
      expect(log.rows.map((r) => Number(r.outbox_id))).toEqual(expected);
      expect(log.rows.every((r) => r.n === 1)).toBe(true);
      const ids = receivers[k]!.requests.map((q) => String(q.headers['webhook-id']));
      expect(ids).toHaveLength(expected.length);
      expect(new Set(ids)).toEqual(new Set(expected.map(messageIdFor)));
    }

    // Queue depth and job latency reach the shared Prometheus registry the API serves.
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/gamemod_queue_jobs\{queue="gm-webhooks",state="waiting"\} \d+/);
    expect(metrics).toMatch(
      /gamemod_job_duration_seconds_count\{queue="webhooks",name="webhook.fanout",outcome="ok"\} [1-9]/,
    );
    expect(metrics).toMatch(/gamemod_outbox_relayed_total [1-9]/);

    // Live: the org topic's backlog holds every event exactly once, in gap-free sequence.
    const reader = new Redis(redis.url);
    try {
      const all = await db.admin.query<{ id: number }>(
        'select id from outbox where org_id = $1 order by id',
        [org.orgId],
      );
      const { envelopes } = await readBacklog(reader, orgTopic(org.orgId), 0);
      const live = envelopes.map((e) => e.event.id);
      expect(new Set(live).size).toBe(live.length);
      expect(new Set(live)).toEqual(new Set(all.rows.map((r) => Number(r.id))));
      const seqs = envelopes.map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => (seqs[0] ?? 1) + i));
    } finally {
      reader.disconnect();
      for (const rx of receivers) await rx.close();
    }
  }, 120_000);
});

describe('the look-back after an outage', () => {
  it('re-enqueues and re-publishes what Redis lost after the rows were marked relayed', async () => {
    // Relays serve every org in the database: the other test's must not take these rows.
    await runtime?.stop();
    runtime = undefined;
    const redisUrl = inject('services').redisUrl;
    const org = await makeOrg(db.app);
    const rx = await startReceiver();
    const { subscription } = await withTenant(db.app, org.orgId, (tx) =>
      createSubscription(tx, { url: rx.url, eventTypes: ['ticket.created'] }, org.owner, box),
    );
    const prefix = uniquePrefix();
    // Relay only: the jobs wait in Redis where the test can make them disappear.
    const relayOnly = await startWorkerRuntime({
      pool: db.app,
      redisUrl,
      logger,
      box,
      webhookTargets: loopbackOnly,
      prefix,
      schedulers: false,
      processors: false,
      relay: { pollMs: 50, lookbackMs: 60_000 },
    });
    const env = testDeps(db.app, prefix);
    let processors: ReturnType<typeof startProcessors> | undefined;
    const admin = new Redis(redisUrl);
    try {
      const created = async (subject: string) => {
        const { ticket } = await withTenant(db.app, org.orgId, (tx) =>
          openTicket(tx, { subject, origin: 'api' }, org.owner),
        );
        const ev = await db.admin.query<{ id: number }>(
          `select id from outbox where aggregate_id = $1 and event_type = 'ticket.created'`,
          [ticket.id],
        );
        const id = Number(ev.rows[0]?.id);
        // The job is enqueued inside the relay's transaction: wait for its commit as well.
        await until(async () => {
          const r = await db.admin.query('select 1 from outbox where id = $1 and relayed_at is not null', [
            id,
          ]);
          return r.rowCount && (await webhooksQ.getJob(jobIds.fanout(id)));
        });
        return { ticket, id };
      };
      const webhooksQ = relayOnly.queues.get('webhooks');
      const older = await created('Relayed a while before');
      const { ticket, id: outboxId } = await created('Lost tail');
      // Relayed 20 s before the outage: its jobs are pushed again, but its live event is not (an
      // AOF tail holds about a second; republishing further back would only duplicate events
      // beyond the topics' dedupe window).
      await db.admin.query(`update outbox set relayed_at = now() - interval '20 seconds' where id = $1`, [
        older.id,
      ]);

      // What an AOF tail lost to a hard kill looks like: the row is marked relayed in Postgres,
      // but its job and its live entries (and their dedupe marks) are gone from Redis.
      await (await webhooksQ.getJob(jobIds.fanout(outboxId)))?.remove();
      await (await webhooksQ.getJob(jobIds.fanout(older.id)))?.remove();
      for (const id of [org.orgId, ticket.id, older.ticket.id]) {
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, found] = await admin.scan(cursor, 'MATCH', `*${id}*`, 'COUNT', 1000);
          cursor = next;
          keys.push(...found.filter((k) => !k.startsWith(`${prefix}:`)));
        } while (cursor !== '0');
        if (keys.length) await admin.del(...keys);
      }
      expect(await webhooksQ.getJob(jobIds.fanout(outboxId))).toBeUndefined();
      expect((await readBacklog(admin, orgTopic(org.orgId), 0)).envelopes).toHaveLength(0);

      // The outage itself: the relay's connection is cut; it reconnects and looks back.
      const clientId = Number(await relayOnly.producer.client('ID'));
      await admin.client('KILL', 'ID', String(clientId));
      await until(async () => webhooksQ.getJob(jobIds.fanout(outboxId)));
      await until(async () => webhooksQ.getJob(jobIds.fanout(older.id)));
      const orgLive = await readBacklog(admin, orgTopic(org.orgId), 0);
      expect(orgLive.envelopes.map((e) => e.event.id)).toContain(outboxId);
      expect(orgLive.envelopes.map((e) => e.event.id)).not.toContain(older.id);
      const ticketLive = await readBacklog(admin, ticketTopic(ticket.id), 0);
      expect(ticketLive.envelopes.map((e) => e.event.id)).toContain(outboxId);

      // And the re-enqueued job is delivered.
      processors = startProcessors({
        connection: env.connection.duplicate(),
        prefix,
        handlers: handlersFor(env.deps, 14),
        concurrency: { webhooks: 2 },
        logger,
      });
      await until(async () => rx.requests.length >= 2);
      expect(new Set(rx.requests.map((q) => q.headers['webhook-id']))).toEqual(
        new Set([messageIdFor(outboxId), messageIdFor(older.id)]),
      );
      // The log is written after the receiver answered.
      const log = await until(async () => {
        const r = await db.admin.query(
          `select status from webhook_deliveries where subscription_id = $1 and outbox_id = $2`,
          [subscription.id, outboxId],
        );
        return r.rowCount ? r : undefined;
      });
      expect(log.rows).toEqual([{ status: 'succeeded' }]);
    } finally {
      await processors?.close();
      await relayOnly.stop();
      await env.close();
      admin.disconnect();
      await rx.close();
    }
  }, 60_000);
});

describe('queues that lose Redis while they start', () => {
  it('enqueue again once Redis is back instead of failing for good', async () => {
    const own = await startRedis({
      dir: mkdtempSync(join(dir, 'starting-')),
      port: await freePort(),
      install: true,
      durable: false,
      log: () => {},
    });
    const producer = createRedis(own.url, 'producer', 'test-starting');
    producer.on('error', () => {});
    const admin = new Redis(own.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    admin.on('error', () => {});
    let queues: Queues | undefined;
    try {
      await producer.connect();
      // Redis holds every command (BullMQ's start-up INFO included) and then dies: the queues'
      // start-up fails while their connection itself reconnects.
      await admin.client('PAUSE', 5_000, 'ALL');
      queues = createQueues(producer, uniquePrefix());
      await new Promise((r) => setTimeout(r, 100));
      await own.stop({ kill: true });
      await own.restart();
      await until(async () => producer.status === 'ready');
      const job = { orgId: '00000000-0000-4000-8000-000000000001', outboxId: 1 };
      await until(
        async () =>
          queues
            ?.enqueue('webhook.fanout', job, { jobId: jobIds.fanout(1) })
            .then(() => true)
            .catch(() => false),
        10_000,
      );
      expect(await queues.get('webhooks').getJob(jobIds.fanout(1))).toBeDefined();
    } finally {
      await queues?.close();
      producer.disconnect();
      admin.disconnect();
      await own.stop({ kill: true });
    }
  });
});
