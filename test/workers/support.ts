import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import type { Pool } from '../../db/pool.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import * as webhooks from '../../db/webhooks.js';
import { createLogger } from '../../lib/logger.js';
import { createSecretBox } from '../../lib/secret-box.js';
import { randomSecretKey } from '../../lib/secret-key.js';
import { type Clock, manualClock } from '../../workers/clock.js';
import type { WorkerDeps } from '../../workers/deps.js';
import { handlersFor } from '../../workers/handlers.js';
import type { QueueName } from '../../workers/jobs.js';
import { createQueues, startProcessors } from '../../workers/queues.js';
import type { TestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

export const logger = createLogger('silent');
export const box = createSecretBox(randomSecretKey());
export const loopbackOnly = { allowLoopback: true, allowPrivate: false };

/** A BullMQ key prefix of this test file's own, so parallel files never share jobs. */
export const uniquePrefix = () => `gmt${randomBytes(4).toString('hex')}`;

export interface ReceivedRequest {
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A loopback webhook receiver whose answer (and how long it takes to give it) each test decides. */
export async function startReceiver(
  answer: (
    req: ReceivedRequest,
    n: number,
  ) => { status: number; headers?: Record<string, string>; delayMs?: number } = () => ({
    status: 204,
  }),
  port = 0,
) {
  const requests: ReceivedRequest[] = [];
  let respond = answer;
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      const r = { headers: req.headers, body, at: Date.now() };
      requests.push(r);
      const a = respond(r, requests.length);
      const send = () => {
        res.writeHead(a.status, a.headers);
        res.end(a.status === 204 ? undefined : 'receiver says hi');
      };
      if (a.delayMs) setTimeout(send, a.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}/hook`,
    port: actual,
    requests,
    setAnswer(a: typeof answer) {
      respond = a;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Processor dependencies on the test database and Redis, with a clock the test moves. */
export function testDeps(pool: Pool, prefix: string, opts: { clock?: Clock; redisUrl?: string } = {}) {
  const connection = new Redis(opts.redisUrl ?? inject('services').redisUrl, { maxRetriesPerRequest: null });
  const queues = createQueues(connection, prefix);
  const clock = opts.clock ?? manualClock();
  const deps: WorkerDeps = {
    pool,
    queues,
    logger,
    clock,
    box,
    webhookTargets: loopbackOnly,
    webhookTimeoutMs: 2_000,
    random: () => 0.5,
    storage: null,
    discordFileHosts: new Set(),
    discord: null,
    ticketPages: null,
    mailer: null,
  };
  return {
    deps,
    connection,
    async close() {
      await queues.close();
      connection.disconnect();
    },
  };
}

/** Polls until `check` returns a truthy value (a condition, not a timing assertion). */
export async function until<T>(
  check: () => Promise<T | undefined | false | null>,
  timeoutMs = 20_000,
  explain?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`condition not met in time${explain ? `\n${explain()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const tenant = <T>(pool: Pool, orgId: string, fn: Parameters<typeof withTenant<T>>[2]) =>
  withTenant(pool, orgId, fn);

/**
 * A TCP proxy in front of the test Postgres that can be cut: while down it resets every open
 * connection and every new one, which is what the client sees of a failover or a network cut.
 */
export async function startPgProxy(dbUrl: string) {
  const net = await import('node:net');
  const target = new URL(dbUrl);
  const open = new Set<import('node:net').Socket>();
  let down = false;
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = new URL(dbUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    down() {
      down = true;
      for (const s of open) s.destroy();
      open.clear();
    },
    up() {
      down = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Job processors for a test's queues (`testDeps`), running every handler on `deps`. */
export function processorsFor(
  env: { connection: Redis; deps: WorkerDeps },
  concurrency: Partial<Record<QueueName, number>>,
  deps: WorkerDeps = env.deps,
) {
  return startProcessors({
    connection: env.connection.duplicate(),
    prefix: env.deps.queues.prefix,
    handlers: handlersFor(deps, 14),
    concurrency,
    logger,
  });
}

/**
 * An org subscribed to `eventTypes` at `url` (the subscription and its secret), and a way to make
 * one event for it: a ticket opened, whose `ticket.created` outbox id is returned.
 */
export async function subscribedOrg(db: TestDb, url: string, eventTypes: webhooks.WebhookEventType[]) {
  const org = await makeOrg(db.app);
  const { subscription, secret } = await withTenant(db.app, org.orgId, (tx) =>
    webhooks.createSubscription(tx, { url, eventTypes }, org.owner, box),
  );
  const newEvent = async () => {
    const { ticket } = await withTenant(db.app, org.orgId, (tx) =>
      openTicket(tx, { subject: 'Crash on start', origin: 'panel' }, org.owner),
    );
    const r = await db.admin.query<{ id: number }>(
      `select id from outbox where org_id = $1 and aggregate_id = $2 and event_type = 'ticket.created'`,
      [org.orgId, ticket.id],
    );
    return Number(r.rows[0]?.id);
  };
  return { org, subscription, secret, newEvent };
}
