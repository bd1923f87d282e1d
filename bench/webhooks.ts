import { fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createPool, type Pool } from '../db/pool.js';
import { withTenant } from '../db/tenant.js';
import { openTicket } from '../db/tickets.js';
import { createSubscription } from '../db/webhooks.js';
import { createLogger } from '../lib/logger.js';
import { createSecretBox } from '../lib/secret-box.js';
import { randomSecretKey } from '../lib/secret-key.js';
import { jobIds } from '../workers/jobs.js';
import { startWorkerRuntime } from '../workers/runtime.js';
import type { Benchmark } from './lib/benchmark.js';
import { withCluster } from './lib/cluster.js';
import { median } from './lib/load.js';
import { makeBenchOrg, withRedis } from './outbox.js';

const RECEIVERS = 20;
const EVENTS_PER_ROUND = 100;
const ROUNDS = 3;
const CONCURRENCY = 400;
const TARGET = 0.7;

/** Loopback receivers answering 204 after 5–50 ms, counting what they got by webhook-id. */
async function serveSinks(n: number) {
  const got = new Map<string, number>();
  const servers = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const server = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          const key = `${i}:${String(req.headers['webhook-id'])}`;
          got.set(key, (got.get(key) ?? 0) + 1);
          setTimeout(() => res.writeHead(204).end(), 5 + Math.random() * 45);
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return server;
    }),
  );
  return {
    got,
    urls: servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/hook`),
    close: () => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))),
  };
}

// The receivers run in a child process (this file, started with --sinks), so their work does
// not share the workers' event loop, as with real endpoints on other machines.
if (process.argv.includes('--sinks')) {
  const sinks = await serveSinks(RECEIVERS);
  process.send?.({ urls: sinks.urls });
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'counts') process.send?.({ counts: [...sinks.got] });
    if (m.cmd === 'exit') void sinks.close().then(() => process.exit(0));
  });
}

async function startReceivers() {
  const child = fork(fileURLToPath(import.meta.url), ['--sinks'], { execArgv: ['--import', 'tsx'] });
  const next = <T>() => new Promise<T>((resolve) => child.once('message', (m) => resolve(m as T)));
  const { urls } = await next<{ urls: string[] }>();
  return {
    urls,
    async counts(): Promise<Map<string, number>> {
      const reply = next<{ counts: Array<[string, number]> }>();
      child.send({ cmd: 'counts' });
      return new Map((await reply).counts);
    },
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ cmd: 'exit' });
      await exited;
    },
  };
}

async function succeeded(admin: Pool, sinceId: number): Promise<number> {
  const r = await admin.query<{ n: number }>(
    `select count(*)::int as n from webhook_deliveries where status = 'succeeded' and outbox_id > $1`,
    [sinceId],
  );
  return r.rows[0]?.n ?? 0;
}

async function run(log: (msg: string) => void): Promise<void> {
  await withCluster(log, async (pgh) => {
    await withRedis(async (redis) => {
      const pool = createPool({
        url: pgh.urlFor('app'),
        max: 40,
        statementTimeoutMs: 10_000,
        connectTimeoutMs: 5_000,
      });
      const admin = createPool({
        url: pgh.urlFor('super'),
        max: 2,
        statementTimeoutMs: 10_000,
        connectTimeoutMs: 5_000,
      });
      const receivers = await startReceivers();
      const box = createSecretBox(randomSecretKey());
      const org = await makeBenchOrg(pool, 'Fanout');
      for (const url of receivers.urls) {
        await withTenant(pool, org.orgId, (tx) =>
          createSubscription(tx, { url, eventTypes: ['ticket.created'] }, org.actor, box),
        );
      }
      // Events are committed first and fanned out by enqueueing their jobs directly, so the
      // figure is the webhook path (fan-out, signing, HTTP, delivery log), not the relay.
      const runtime = await startWorkerRuntime({
        pool,
        redisUrl: redis.url,
        logger: createLogger('silent'),
        box,
        webhookTargets: { allowLoopback: true, allowPrivate: false },
        schedulers: false,
        relay: { enabled: false },
        concurrency: CONCURRENCY,
        prefix: 'benchwh',
      });
      const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
      const noopQueue = new Queue('bench-noop', { connection: conn, prefix: 'benchnoop' });
      let noopDone = 0;
      const noopWorker = new Worker('bench-noop', async () => {}, {
        connection: conn,
        prefix: 'benchnoop',
        concurrency: CONCURRENCY,
      });
      noopWorker.on('completed', () => {
        noopDone++;
      });
      const jobsPerRound = EVENTS_PER_ROUND * RECEIVERS;

      const baselineRound = async (round: number) => {
        const target = noopDone + jobsPerRound;
        const t0 = performance.now();
        await noopQueue.addBulk(
          Array.from({ length: jobsPerRound }, (_, i) => ({
            name: 'noop',
            data: { i },
            opts: { jobId: `r${round}-${i}`, removeOnComplete: { count: 10_000 } },
          })),
        );
        while (noopDone < target) await new Promise((r) => setTimeout(r, 5));
        return jobsPerRound / ((performance.now() - t0) / 1000);
      };

      const realRound = async () => {
        const since = Number(
          (await admin.query<{ m: number }>('select coalesce(max(id), 0)::bigint as m from outbox')).rows[0]
            ?.m ?? 0,
        );
        const ids: number[] = [];
        for (let i = 0; i < EVENTS_PER_ROUND; i++) {
          await withTenant(pool, org.orgId, (tx) =>
            openTicket(tx, { subject: `Fan-out ${i}`, origin: 'api' }, org.actor),
          );
        }
        const r = await admin.query<{ id: number }>(
          `select id from outbox where id > $1 and event_type = 'ticket.created' order by id`,
          [since],
        );
        for (const row of r.rows) ids.push(Number(row.id));
        const t0 = performance.now();
        await runtime.queues.enqueueMany(
          ids.map((id) => ({
            name: 'webhook.fanout' as const,
            payload: { orgId: org.orgId, outboxId: id },
            opts: { jobId: jobIds.fanout(id) },
          })),
        );
        while ((await succeeded(admin, since)) < ids.length * RECEIVERS)
          await new Promise((res) => setTimeout(res, 10));
        return (ids.length * RECEIVERS) / ((performance.now() - t0) / 1000);
      };

      try {
        log(
          `${RECEIVERS} loopback receivers (5–50 ms each), ${EVENTS_PER_ROUND} events × ${RECEIVERS} subscriptions = ${jobsPerRound} deliveries per round, concurrency ${CONCURRENCY}`,
        );
        await baselineRound(0);
        await realRound();
        const base: number[] = [];
        const real: number[] = [];
        for (let i = 1; i <= ROUNDS; i++) {
          const order = i % 2 ? ['noop', 'real'] : ['real', 'noop'];
          for (const which of order) {
            if (which === 'noop') {
              const v = await baselineRound(i);
              base.push(v);
              log(`  round ${i} BullMQ no-op   ${v.toFixed(0).padStart(6)} jobs/s`);
            } else {
              const v = await realRound();
              real.push(v);
              log(`  round ${i} webhook fan-out ${v.toFixed(0).padStart(6)} deliveries/s`);
            }
          }
        }
        // Every delivery arrived exactly once per receiver.
        let lost = 0;
        let dup = 0;
        const events = await admin.query<{ id: number }>(
          `select id from outbox where event_type = 'ticket.created'`,
        );
        const got = await receivers.counts();
        for (const e of events.rows) {
          for (let k = 0; k < RECEIVERS; k++) {
            const n = got.get(`${k}:msg_${e.id}`) ?? 0;
            if (n === 0) lost++;
            if (n > 1) dup++;
          }
        }
        const ratio = median(real) / median(base);
        log(
          `median: fan-out ${median(real).toFixed(0)} deliveries/s, no-op ${median(base).toFixed(0)} jobs/s`,
        );
        log(`deliveries lost: ${lost}, duplicated: ${dup}`);
        log(
          `ratio fan-out ÷ no-op = ${ratio.toFixed(2)} (target ≥ ${TARGET}, 0 lost): ${ratio >= TARGET && lost === 0 ? 'PASS' : 'FAIL'}`,
        );
      } finally {
        await noopWorker.close();
        await noopQueue.close();
        conn.disconnect();
        await runtime.stop();
        await receivers.close();
        await admin.end();
        await pool.end();
      }
    });
  });
}

export const webhooks: Benchmark = {
  name: 'webhooks',
  description: 'webhook fan-out to 20 loopback receivers vs raw BullMQ no-op processing (target ≥ 0.7)',
  run,
};
