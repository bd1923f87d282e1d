import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { orgFeatures, relayedBetween } from '../../db/outbox.js';
import { erasePlayer } from '../../db/player-privacy.js';
import { upsertPlayer } from '../../db/players.js';
import { createPool } from '../../db/pool.js';
import { createRule } from '../../db/rules.js';
import { createPolicy } from '../../db/sla-policies.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket, reply, setStatus } from '../../db/tickets.js';
import { createSubscription } from '../../db/webhooks.js';
import {
  LIVE_CHANNEL_PATTERN,
  type LiveEnvelope,
  orgTopic,
  readBacklog,
  ticketTopic,
} from '../../lib/live.js';
import { startRedis } from '../../lib/local-stack/index.js';
import { freePort } from '../../lib/local-stack/ports.js';
import { createLogger, type Logger } from '../../lib/logger.js';
import { createRedis } from '../../lib/redis.js';
import { impliedJobs } from '../../workers/event-jobs.js';
import { jobIds } from '../../workers/jobs.js';
import { pruneOutbox } from '../../workers/maintenance.js';
import { OutboxRelay } from '../../workers/outbox-relay.js';
import { createQueues } from '../../workers/queues.js';
import { startWorkerRuntime } from '../../workers/runtime.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { box, logger, loopbackOnly, testDeps, uniquePrefix, until } from './support.js';

const db = useTestDb();
const cleanups: Array<() => Promise<void>> = [];
// Relays serve every org in the database, so each test stops its own before the next starts.
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function relayOn(
  redisUrl: string,
  prefix: string,
  opts: { pollMs?: number; batchSize?: number; logger?: Logger } = {},
) {
  const producer = createRedis(redisUrl, 'producer', 'test-relay');
  producer.on('error', () => {});
  await producer.connect();
  const queues = createQueues(producer, prefix);
  const relay = new OutboxRelay({ pool: db.app, redis: producer, queues, logger, ...opts });
  const stop = async () => {
    await relay.stop();
    await queues.close();
    producer.disconnect();
  };
  cleanups.push(stop);
  return { relay, queues, producer, stop };
}

async function unrelayed(orgId: string) {
  const r = await db.admin.query('select 1 from outbox where org_id = $1 and relayed_at is null', [orgId]);
  return r.rowCount ?? 0;
}

async function outboxIds(orgId: string) {
  const r = await db.admin.query<{ id: number }>('select id from outbox where org_id = $1 order by id', [
    orgId,
  ]);
  return r.rows.map((x) => Number(x.id));
}

describe('outbox relay', () => {
  it('publishes each event live in order, enqueues the jobs it implies by outbox id, and marks it relayed', async () => {
    const redisUrl = inject('services').redisUrl;
    const org = await makeOrg(db.app);
    const sub = new Redis(redisUrl);
    cleanups.push(async () => sub.disconnect());
    const seen: LiveEnvelope[] = [];
    await sub.psubscribe(LIVE_CHANNEL_PATTERN);
    sub.on('pmessage', (_p, ch, msg) => {
      if (ch.endsWith(org.orgId)) seen.push(JSON.parse(msg));
    });
    // The relay enqueues fan-out and SLA jobs only for orgs that have subscriptions and policies.
    await withTenant(db.app, org.orgId, async (tx) => {
      await createSubscription(
        tx,
        { url: 'https://hooks.example/x', eventTypes: ['ticket.created'] },
        org.owner,
        box,
      );
      await createPolicy(tx, { name: 'All', resolutionMinutes: 600 }, org.owner);
    });
    const prefix = uniquePrefix();
    // Polling once a minute: within this test only a NOTIFY can wake the relay.
    const { relay } = await relayOn(redisUrl, prefix, { pollMs: 60_000 });
    relay.start();
    const ticket = await withTenant(db.app, org.orgId, async (tx) => {
      const { ticket } = await openTicket(tx, { subject: 'Lag spikes', origin: 'panel' }, org.owner);
      await reply(tx, { ticketId: ticket.id, body: 'Looking into it', origin: 'panel' }, org.owner);
      await setStatus(tx, { ticketId: ticket.id, status: 'pending' }, org.owner);
      return ticket;
    });
    const other = await makeOrg(db.app);
    const plain = await withTenant(db.app, other.orgId, (tx) =>
      openTicket(tx, { subject: 'No features', origin: 'panel' }, other.owner),
    );
    // Woken by NOTIFY: the poll interval is a minute, so this passes within 5 s only through LISTEN.
    await until(async () => (await unrelayed(org.orgId)) === 0 && seen.length >= 7, 5_000);
    const ids = await outboxIds(org.orgId);
    const orgSeen = seen.filter((e) => e.topic === orgTopic(org.orgId));
    expect(orgSeen.map((e) => e.event.id)).toEqual(ids);
    expect(orgSeen.map((e) => e.event.type)).toEqual([
      'sla.settings_changed',
      'ticket.created',
      'message.created',
      'ticket.status_changed',
    ]);
    expect(orgSeen.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(seen.filter((e) => e.topic === `ticket:${ticket.id}`)).toHaveLength(3);

    const deps = testDeps(db.app, prefix);
    cleanups.push(deps.close);
    const webhooks = deps.deps.queues.get('webhooks');
    const [settings, created, message] = ids as [number, number, number];
    expect((await webhooks.getJob(jobIds.fanout(created)))?.data).toEqual({
      orgId: org.orgId,
      outboxId: created,
    });
    expect((await deps.deps.queues.get('timers').getJob(jobIds.slaRecompute(created)))?.data).toEqual({
      orgId: org.orgId,
      ticketId: ticket.id,
    });
    // A policy change recomputes the org's tickets.
    expect((await deps.deps.queues.get('timers').getJob(jobIds.slaRecomputeOrg(settings)))?.name).toBe(
      'sla.recompute_org',
    );
    // A panel reply goes to Discord; the job is named after the outbox id.
    expect((await deps.deps.queues.get('discord').getJob(jobIds.discordMessage(message)))?.name).toBe(
      'discord.message',
    );
    // An org without subscriptions or SLA policies gets neither job.
    await until(async () => (await unrelayed(other.orgId)) === 0);
    const [plainEvent] = await outboxIds(other.orgId);
    expect(await webhooks.getJob(jobIds.fanout(plainEvent as number))).toBeUndefined();
    expect(
      await deps.deps.queues.get('timers').getJob(jobIds.slaRecompute(plainEvent as number)),
    ).toBeUndefined();
    expect(plain.ticket.subject).toBe('No features');
  });

  it('derives the implied jobs from the event alone', () => {
    const base = {
      id: 7,
      orgId: '00000000-0000-4000-8000-000000000001',
      aggregateType: 'ticket',
      aggregateId: '00000000-0000-4000-8000-000000000002',
      createdAt: new Date(),
    };
    const noRules = { webhooks: true, sla: true, rules: false };
    const names = (eventType: string, payload: Record<string, unknown>, features = noRules) =>
      impliedJobs({ ...base, eventType, payload }, features).map((j) => `${j.name}@${j.opts.jobId}`);
    // Automation rules: a trigger event in an org with enabled rules, one job per event.
    const withRules = { ...noRules, rules: true };
    expect(names('ticket.updated', {}, withRules)).toContain('rules.run@ru-7');
    expect(
      names('message.created', { message: { id: base.aggregateId, authorType: 'player' } }, withRules),
    ).toContain('rules.run@ru-7');
    expect(names('note.created', {}, withRules)).not.toContain('rules.run@ru-7');
    expect(names('message.created', { message: { id: base.aggregateId, origin: 'discord' } })).toEqual([
      'webhook.fanout@wf-7',
      'sla.recompute@sr-7',
    ]);
    // Modmail: a message on a ticket with a Discord thread may cross to or from a DM, and a staff
    // reply on a game ticket may go to a linked player's DM; keyed by the message, so the first
    // DM's own event and its message.created share one job.
    const msg = { id: base.aggregateId, origin: 'discord', authorType: 'player' };
    const dmRelay = `discord.dm_relay@dr-${base.aggregateId}`;
    expect(
      names('message.created', { message: msg, ticket: { discordChannelId: '1400000000000000001' } }),
    ).toContain(dmRelay);
    expect(names('message.dm_received', { messageId: base.aggregateId })).toEqual([dmRelay]);
    const gameReply = { id: base.aggregateId, origin: 'panel', authorType: 'user' };
    expect(names('message.created', { message: gameReply, ticket: { origin: 'game' } })).toContain(dmRelay);
    expect(
      names('message.created', { message: { ...msg, origin: 'game' }, ticket: { origin: 'game' } }),
    ).not.toContain(dmRelay);
    expect(names('ticket.created', { ticket: { priority: 'urgent' } })).toEqual([
      'webhook.fanout@wf-7',
      'notify.fanout@nt-7',
      'sla.recompute@sr-7',
      'discord.alert@da-7',
    ]);
    const onDiscord = { ticket: { discordChannelId: '1400000000000000001' } };
    expect(names('ticket.sla_breached', onDiscord)).toEqual([
      'webhook.fanout@wf-7',
      'notify.fanout@nt-7',
      'discord.ticket_sync@ts-7',
      'discord.alert@da-7',
    ]);
    // Every ticket change whose Discord side may differ asks the ticket's sync job, once per event.
    expect(names('ticket.closed', onDiscord)).toEqual([
      'webhook.fanout@wf-7',
      'sla.recompute@sr-7',
      'discord.ticket_sync@ts-7',
    ]);
    // A ticket with no Discord side (opened from the API, the game, email) has nothing to sync.
    expect(names('ticket.closed', { ticket: { discordChannelId: null } })).toEqual([
      'webhook.fanout@wf-7',
      'sla.recompute@sr-7',
    ]);
    expect(names('ticket.updated', {})).toEqual(['webhook.fanout@wf-7', 'sla.recompute@sr-7']);
    expect(
      names('webhook.replay_requested', { subscriptionId: base.aggregateId, outboxId: 3 }).map((n) => n),
    ).toEqual(['webhook.deliver@wr-7']);
    expect(names('message.attachments_added', { attachmentIds: [base.aggregateId] })).toEqual([
      'attachment.copy@ac-7',
    ]);
    expect(names('message.attachments_added', { attachmentIds: [] })).toEqual([]);
    // A test ping goes to its one subscription, whatever the org's features.
    expect(names('webhook.test', { subscriptionId: base.aggregateId })).toEqual(['webhook.deliver@wt-7']);
    expect(
      impliedJobs(
        { ...base, eventType: 'webhook.test', payload: { subscriptionId: base.aggregateId } },
        {
          webhooks: false,
          sla: false,
          rules: false,
        },
      ).map((j) => j.payload),
    ).toEqual([
      { orgId: base.orgId, outboxId: 7, subscriptionId: base.aggregateId, attempt: 1, replay: true },
    ]);
  });

  it('shares the work between several relays without publishing anything twice', async () => {
    const redisUrl = inject('services').redisUrl;
    const org = await makeOrg(db.app);
    await withTenant(db.app, org.orgId, async (tx) => {
      for (let i = 0; i < 60; i++) await openTicket(tx, { subject: `Bulk ${i}`, origin: 'api' }, org.owner);
    });
    const prefix = uniquePrefix();
    const relays = await Promise.all(
      [1, 2, 3].map(() => relayOn(redisUrl, prefix, { batchSize: 7, pollMs: 50 })),
    );
    for (const r of relays) r.relay.start();
    await until(async () => (await unrelayed(org.orgId)) === 0);
    const reader = new Redis(redisUrl);
    cleanups.push(async () => reader.disconnect());
    const { envelopes, complete } = await readBacklog(reader, orgTopic(org.orgId), 0);
    expect(complete).toBe(true);
    expect(envelopes.map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    // In outbox order, too: a relay never publishes an org's events ahead of earlier ones that
    // another relay still holds.
    expect(envelopes.map((e) => e.event.id)).toEqual(await outboxIds(org.orgId));
  });

  it('leaves rows waiting while Redis is down and catches up when it returns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gm-relay-redis-'));
    const redis = await startRedis({
      dir,
      port: await freePort(),
      install: true,
      durable: true,
      log: () => {},
    });
    cleanups.push(async () => {
      await redis.stop({ kill: true });
      rmSync(dir, { recursive: true, force: true });
    });
    const org = await makeOrg(db.app);
    // What the relay logged and what its connection went through, for the message of a failure.
    const trail: string[] = [];
    const stamp = (what: string) => trail.push(`${new Date().toISOString()} ${what}`);
    const traced = createLogger('debug', {}, { write: (line: string) => stamp(line.trim()) });
    const { relay, producer } = await relayOn(redis.url, uniquePrefix(), { pollMs: 50, logger: traced });
    for (const e of ['close', 'reconnecting', 'ready', 'end']) producer.on(e, () => stamp(`redis ${e}`));
    producer.on('error', (err) => stamp(`redis error ${err.message}`));
    const explain = () => trail.join('\n');
    relay.start();
    // A first event relayed: the relay and its queues are up before Redis goes away.
    await withTenant(db.app, org.orgId, (tx) =>
      openTicket(tx, { subject: 'Before', origin: 'api' }, org.owner),
    );
    await until(async () => (await unrelayed(org.orgId)) === 0);
    stamp('killing Redis');
    await redis.stop({ kill: true });
    await withTenant(db.app, org.orgId, async (tx) => {
      for (let i = 0; i < 5; i++)
        await openTicket(tx, { subject: `While down ${i}`, origin: 'api' }, org.owner);
    });
    // Give the relay a few polls with Redis gone: nothing may be marked relayed.
    await new Promise((r) => setTimeout(r, 300));
    expect(await unrelayed(org.orgId)).toBe(5);
    stamp('restarting Redis');
    await redis.restart();
    stamp('Redis answers');
    await until(async () => (await unrelayed(org.orgId)) === 0, 20_000, explain);
    const reader = new Redis(redis.url);
    cleanups.push(async () => reader.disconnect());
    const { envelopes } = await readBacklog(reader, orgTopic(org.orgId), 0);
    const published = new Set(envelopes.map((e) => e.event.id));
    for (const id of await outboxIds(org.orgId)) expect(published.has(id)).toBe(true);
  });

  it('relays while the processors and requests hold every connection of the shared pool', async () => {
    const org = await makeOrg(db.app);
    const shared = createPool({
      url: db.appUrl,
      max: 3,
      statementTimeoutMs: 10_000,
      connectTimeoutMs: 30_000,
    });
    const runtime = await startWorkerRuntime({
      pool: shared,
      redisUrl: inject('services').redisUrl,
      logger,
      box,
      webhookTargets: loopbackOnly,
      prefix: uniquePrefix(),
      schedulers: false,
      processors: false,
      relay: { pollMs: 60_000 },
    });
    cleanups.push(async () => {
      await runtime.stop();
      await shared.end();
    });
    const open = (subject: string) =>
      withTenant(db.app, org.orgId, (tx) => openTicket(tx, { subject, origin: 'api' }, org.owner));
    await open('Relay is up');
    await until(async () => (await unrelayed(org.orgId)) === 0);
    // Webhook deliveries, Discord posts and API requests busy on every connection of the pool
    // the process was given: the relay's own connections must not be among them.
    const held: pg.PoolClient[] = [];
    cleanups.push(async () => {
      for (const c of held) c.release();
    });
    while (shared.idleCount > 0 || shared.totalCount < 3) held.push(await shared.connect());
    await open('While the pool is busy');
    await until(async () => (await unrelayed(org.orgId)) === 0, 3_000);
  });

  it('relays a batch in three round trips to Postgres and one exchange with Redis, whatever its size', async () => {
    const org = await makeOrg(db.app);
    // Every event implies a job (a fan-out to the subscription), as most do.
    await withTenant(db.app, org.orgId, (tx) =>
      createSubscription(
        tx,
        { url: 'https://hooks.example/rt', eventTypes: ['ticket.created'] },
        org.owner,
        box,
      ),
    );
    const pool = createPool({ url: db.appUrl, max: 2, statementTimeoutMs: 10_000, connectTimeoutMs: 30_000 });
    const statements: string[] = [];
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: unknown }).query = (...args: unknown[]) => {
        const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text;
        if (!/^listen /.test(text)) statements.push(text.replace(/\s+/g, ' ').slice(0, 60));
        return query(...args);
      };
    });
    const producer = createRedis(inject('services').redisUrl, 'producer', 'test-relay-rt');
    producer.on('error', () => {});
    await producer.connect();
    const queues = createQueues(producer, uniquePrefix());
    const relay = new OutboxRelay({ pool, redis: producer, queues, logger, pollMs: 60_000 });
    cleanups.push(async () => {
      await relay.stop();
      await queues.close();
      producer.disconnect();
      await pool.end();
    });
    relay.start();
    await until(async () => statements.length >= 2); // the first (empty) batch: claim, commit
    await new Promise((r) => setTimeout(r, 200));
    const socket = producer.stream as unknown as { write: (...args: unknown[]) => boolean };
    const write = socket.write.bind(socket);
    let writes = 0;
    socket.write = (...args: unknown[]) => {
      writes++;
      return write(...args);
    };
    statements.length = 0;
    // 50 events in one transaction: one notification, one batch.
    await withTenant(db.app, org.orgId, async (tx) => {
      for (let i = 0; i < 50; i++) await openTicket(tx, { subject: `Batch ${i}`, origin: 'api' }, org.owner);
    });
    await until(async () => (await unrelayed(org.orgId)) === 0);
    await new Promise((r) => setTimeout(r, 200));
    // begin + claim; the rows with the check for earlier ones and the features; mark + commit.
    expect(statements).toHaveLength(3);
    // The live publishes and the job adds, each one pipeline (not a command per event).
    expect(writes).toBeLessThanOrEqual(3);
  });

  it('prunes relayed rows past the retention period only', async () => {
    const org = await makeOrg(db.app);
    await withTenant(db.app, org.orgId, async (tx) => {
      await openTicket(tx, { subject: 'Old', origin: 'api' }, org.owner);
      await openTicket(tx, { subject: 'New', origin: 'api' }, org.owner);
    });
    const ids = await outboxIds(org.orgId);
    await db.admin.query(
      `update outbox set relayed_at = now() - interval '20 days' where id = $1;
       update outbox set relayed_at = now() where id = $2`
        .replace('$1', String(ids[0]))
        .replace('$2', String(ids[1])),
    );
    const deps = testDeps(db.app, uniquePrefix());
    cleanups.push(deps.close);
    expect(await pruneOutbox(deps.deps, 14)).toBeGreaterThanOrEqual(1);
    expect(await outboxIds(org.orgId)).toEqual([ids[1]]);
  });

  it('lets the app read relayed rows across tenants only for a window of at most ten minutes, up to now', async () => {
    const org = await makeOrg(db.app);
    await withTenant(db.app, org.orgId, async (tx) => {
      await openTicket(tx, { subject: 'An hour ago', origin: 'api' }, org.owner);
      await openTicket(tx, { subject: 'Just now', origin: 'api' }, org.owner);
    });
    const ids = await outboxIds(org.orgId);
    const [old, recent] = [ids.at(-2) as number, ids.at(-1) as number];
    await db.admin.query(
      `update outbox set relayed_at = now() - interval '1 hour' where id = $1;`.replace('$1', String(old)),
    );
    await db.admin.query(`update outbox set relayed_at = now() where id = $1`, [recent]);
    const now = Date.now();
    // Asked for a day up to an hour from now: clamped to the ten minutes before the database's now.
    const rows = await relayedBetween(
      db.app,
      new Date(now - 24 * 3600_000),
      new Date(now + 3600_000),
      0,
      1000,
    );
    const got = rows.map((r) => r.id);
    expect(got).toContain(recent);
    expect(got).not.toContain(old);
    // A window in the past keeps its end; its start is clamped to ten minutes before it.
    const back = await relayedBetween(
      db.app,
      new Date(now - 24 * 3600_000),
      new Date(now - 55 * 60_000),
      0,
      1000,
    );
    expect(back.map((r) => r.id)).toContain(old);
  });

  it("opens other tenants' subscriptions and policies to the owner role only inside the features function", async () => {
    const org = await makeOrg(db.app);
    await withTenant(db.app, org.orgId, async (tx) => {
      await createSubscription(
        tx,
        { url: 'https://hooks.example/y', eventTypes: ['ticket.created'] },
        org.owner,
        box,
      );
      await createPolicy(tx, { name: 'All', resolutionMinutes: 600 }, org.owner);
      await createRule(tx, { name: 'r', trigger: 'ticket.created', actions: [{ type: 'close' }] }, org.owner);
    });
    // The owner role, with no tenant set, reads nothing directly...
    for (const table of ['webhook_subscriptions', 'sla_policies', 'rules']) {
      const r = await db.owner.query<{ n: number }>(`select count(*)::int as n from ${table}`);
      expect(r.rows[0]?.n, table).toBe(0);
    }
    // ...while the relay's function still sees which organizations have them.
    const features = await orgFeatures(db.app, [org.orgId]);
    expect(features.get(org.orgId)).toEqual({ webhooks: true, sla: true, rules: true });
  });
});

describe('outbox relay and erasure', () => {
  it('drops the live backlogs that quoted an erased player, so a reconnecting panel refetches', async () => {
    const { relay, producer } = await relayOn(inject('services').redisUrl, uniquePrefix(), { pollMs: 200 });
    relay.start();
    const org = await makeOrg(db.app, 'LiveErase');
    const { playerId, ticketId } = await withTenant(db.app, org.orgId, async (tx) => {
      const p = await upsertPlayer(tx, {
        displayName: 'Vantresca',
        email: `vantresca-${org.orgId}@example.com`,
      });
      const { ticket } = await openTicket(
        tx,
        {
          subject: 'Vantresca cannot log in',
          body: 'Vantresca here, my phone is +33 6 12 34 56 78',
          origin: 'game',
          requesterId: p.id,
        },
        { type: 'player', id: p.id },
      );
      return { playerId: p.id, ticketId: ticket.id };
    });
    await until(async () => (await unrelayed(org.orgId)) === 0, 10_000);
    const seen = await readBacklog(producer, orgTopic(org.orgId), 0);
    expect(JSON.stringify(seen.envelopes)).toContain('Vantresca');
    await withTenant(db.app, org.orgId, (tx) => erasePlayer(tx, playerId, org.owner));
    await until(async () => (await unrelayed(org.orgId)) === 0, 10_000);
    for (const topic of [orgTopic(org.orgId), ticketTopic(ticketId)]) {
      const { envelopes, complete } = await readBacklog(producer, topic, 0);
      const quoting = envelopes
        .filter((e) => /Vantresca|12 34 56 78/.test(JSON.stringify(e)))
        .map((e) => `${topic} seq ${e.seq} ${e.event.type}`);
      expect(quoting, `backlog of ${topic} still quoting the erased player`).toEqual([]);
      // A panel that had seen the first events is told to refetch rather than handed a gap.
      expect(complete, topic).toBe(false);
    }
    // The erase itself is announced on the org's topic, ids only.
    const after = await readBacklog(producer, orgTopic(org.orgId), 0);
    expect(after.envelopes).toHaveLength(1);
    expect(after.envelopes[0]?.event).toMatchObject({
      type: 'player.erased',
      payload: { playerId, ticketIds: [ticketId] },
    });
  });
});
