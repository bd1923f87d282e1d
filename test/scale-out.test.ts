import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChannelType } from 'discord.js';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApiToken } from '../db/api-tokens.js';
import { SYSTEM } from '../db/changes.js';
import { createGuildLinkCode, redeemGuildLinkCode } from '../db/guild-links.js';
import { updateGuildSettings } from '../db/guilds.js';
import { withTenant } from '../db/tenant.js';
import { WEBHOOK_EVENT_TYPES } from '../db/webhooks.js';
import { randomSecretKey } from '../lib/secret-key.js';
import { createTestDb, type TestDb } from './support/db.js';
import {
  type FakeDiscord,
  type SeededGuild,
  shardOf,
  startFakeDiscord,
} from './support/fake-discord/index.js';
import { makeOrg, type OrgFixture } from './support/fixtures.js';
import { childPort } from './support/ports.js';
import { claimRedisDb, type RedisDb } from './support/redis-db.js';
import {
  connectLive,
  killGroup,
  type LiveSocket,
  runScaleOut,
  type ScaledProcess,
  type ScaleOutRun,
  scrapeSum,
  startWebhookSink,
  type WebhookSink,
} from './support/scale-out.js';

/**
 * `npm run scale-out` against this run's PostgreSQL and Redis and the fake Discord: 2 API,
 * 2 workers and 2 bot shard processes, real child processes on loopback. The whole file is bounded
 * (90 s from the script's start, when its process group is killed whatever the test is doing):
 * the start below, then each check, then Ctrl-C.
 */

let db: TestDb & { drop(): Promise<void> };
let fake: FakeDiscord;
let sink: WebhookSink;
let run: ScaleOutRun;
let procs: ScaledProcess[];
let org: OrgFixture;
let token: string;
let redis: Redis;
let redisUrl: string;
let redisDb: RedisDb | undefined;
const guilds: SeededGuild[] = [];
let player: string;
const dataDir = mkdtempSync(join(tmpdir(), 'gamemod-scale-'));

const byName = (name: string) => procs.find((p) => p.name === name) as ScaledProcess;
const workers = () => procs.filter((p) => p.name.startsWith('workers-'));

async function api(port: number, method: string, path: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const openTicket = (port: number, subject: string) =>
  api(port, 'POST', `/v1/orgs/${org.orgId}/tickets`, { subject }) as Promise<{ id: string }>;

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function outboxSettled(): Promise<{ total: number; maxId: number }> {
  return until('every outbox row relayed', async () => {
    const r = await db.admin.query<{ waiting: number; total: number; max: string | null }>(
      `select count(*) filter (where relayed_at is null)::int as waiting, count(*)::int as total,
              max(id)::text as max from outbox`,
    );
    const row = r.rows[0];
    return row && row.waiting === 0 ? { total: row.total, maxId: Number(row.max ?? 0) } : undefined;
  });
}

const sumOver = async (ps: ScaledProcess[], name: string, labels: Record<string, string> = {}) => {
  const each = await Promise.all(ps.map((p) => scrapeSum(p.metricsPort as number, name, labels)));
  return { each, total: each.reduce((a, b) => a + b, 0) };
};
// Fan-out runs that finished. A run that failed and was retried is at-least-once doing its job;
// two that both finished (two workers on one job) are what must never happen.
const FANOUT = { name: 'webhook.fanout', outcome: 'ok' };
/** The last outbox id before the webhook subscriptions: every webhook event after it fans out. */
let beforeSubscriptions = 0;

beforeAll(async () => {
  db = await createTestDb(4);
  // A database index of its own: these processes' queues use the default key prefix. Pub/sub is
  // shared across indexes, but live channels are named by org, and these orgs exist only here.
  redisDb = await claimRedisDb(inject('services').redisUrl, 20 * 60_000);
  redisUrl = redisDb.url;
  redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  fake = await startFakeDiscord({ sessionStartLimit: { max_concurrency: 2 }, shards: 2 });
  player = fake.addUser({ username: 'player' }).id;
  // Two guilds per shard, each linked to its own org.
  for (const shard of [0, 0, 1, 1]) {
    const g = fake.addGuild({
      name: `Guild ${guilds.length} (shard ${shard})`,
      shard: [shard, 2],
      channels: [{ name: 'support', type: ChannelType.GuildText }],
      members: [player],
    });
    guilds.push(g);
    const owner = await makeOrg(db.app, `Guild ${guilds.length}`);
    const { code } = await withTenant(db.app, owner.orgId, (tx) => createGuildLinkCode(tx, owner.owner));
    await redeemGuildLinkCode(db.app, { code, guildId: g.id, guildName: 'g' }, owner.owner);
    await withTenant(db.app, owner.orgId, (tx) =>
      updateGuildSettings(tx, g.id, { supportChannelId: g.channels['support'], cooldownSeconds: 0 }, SYSTEM),
    );
  }
  org = await makeOrg(db.app, 'Scaled');
  token = (
    await withTenant(db.app, org.orgId, (tx) =>
      createApiToken(tx, { name: 'scale-out', scopes: ['tickets:write', 'webhooks:manage'] }, SYSTEM),
    )
  ).plaintext;
  sink = await startWebhookSink();
  const apiPorts = [await childPort(), await childPort()];
  const metricsPorts: number[] = [];
  for (let i = 0; i < 6; i++) metricsPorts.push(await childPort());
  run = runScaleOut(
    ['--api-ports', apiPorts.join(','), '--metrics-ports', metricsPorts.join(',')],
    {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      DATABASE_URL: db.appUrl,
      REDIS_URL: redisUrl,
      SECRET_KEY: randomSecretKey(),
      SEED_DEMO: 'false',
      WEBHOOK_ALLOW_LOOPBACK: 'true',
      DISCORD_TOKEN: fake.botToken,
      DISCORD_APPLICATION_ID: fake.applicationId,
      DISCORD_API_URL: `${fake.url}/api`,
    },
    { readyTimeoutMs: 70_000, killAfterMs: 90_000 },
  );
  const spawnedAt = Date.now();
  procs = await run.ready;
  console.log(`npm run scale-out: 6 processes ready in ${Date.now() - spawnedAt} ms`);
  beforeSubscriptions = (await outboxSettled()).maxId;
  // Two subscriptions, made through the first API: each event must reach each exactly once.
  for (const name of ['sub-a', 'sub-b']) {
    await api(byName('api-1').port as number, 'POST', `/v1/orgs/${org.orgId}/webhooks`, {
      url: `${sink.url}/${name}`,
      eventTypes: ['ticket.created'],
    });
  }
}, 85_000);

afterAll(async () => {
  // Normally the last test has stopped everything; this is the bound if it did not.
  if (run) killGroup(run.child);
  await fake?.close();
  await sink?.close();
  if (redis) {
    await redis.flushdb();
    redis.disconnect();
  }
  await redisDb?.release();
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

describe('npm run scale-out: 2 API, 2 workers, 2 bot shard processes on one Postgres and one Redis', () => {
  it('started every process, each its own PID, the APIs on their own ports', () => {
    expect(procs.map((p) => p.name)).toEqual([
      'api-1',
      'api-2',
      'workers-1',
      'workers-2',
      'shard-0',
      'shard-1',
    ]);
    expect(new Set(procs.map((p) => p.pid)).size).toBe(6);
    expect(byName('api-1').port).not.toBe(byName('api-2').port);
  });

  it('a ticket opened through API 1 reaches a WebSocket client of API 2', async () => {
    const live: LiveSocket = await connectLive(byName('api-2').port as number, token);
    live.send({ type: 'subscribe', orgId: org.orgId });
    await live.waitFor(() => live.received.find((m) => m.type === 'subscribed'), 'subscribed');
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const ticket = await openTicket(byName('api-1').port as number, `Across instances ${i}`);
      const frame = await live.waitFor(
        () =>
          live.received.find(
            (m) =>
              m.type === 'event' && m.event?.type === 'ticket.created' && m.event.aggregateId === ticket.id,
          ),
        `ticket.created of ${ticket.id} on API 2`,
      );
      expect(frame.topic).toBe(`org:${org.orgId}`);
      latencies.push(frame.at - t0);
    }
    live.close();
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(
      `POST on API 1 -> live frame on API 2, ms: ${latencies.map((l) => l.toFixed(1)).join(', ')} (median ${sorted[2]?.toFixed(1)})`,
    );
  });

  it('each outbox event is relayed once and each job runs once, with two relays and two job workers', async () => {
    // Every publish on this org's channel, counted per topic and event id.
    const sub = new Redis(redisUrl, { lazyConnect: true });
    await sub.connect();
    const publishes = new Map<string, number>();
    sub.on('message', (_ch: string, msg: string) => {
      const env = JSON.parse(msg) as { topic: string; event: { id: number } };
      const key = `${env.topic}#${env.event.id}`;
      publishes.set(key, (publishes.get(key) ?? 0) + 1);
    });
    await sub.subscribe(`gm:live:${org.orgId}`);
    const live = await connectLive(byName('api-1').port as number, token);
    live.send({ type: 'subscribe', orgId: org.orgId });
    await live.waitFor(() => live.received.find((m) => m.type === 'subscribed'), 'subscribed');

    // 20 tickets at once, half through each API.
    const n = 20;
    const tickets = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        openTicket(byName(`api-${(i % 2) + 1}`).port as number, `Burst ${i}`),
      ),
    );
    const events = await until('the burst in the outbox', async () => {
      const r = await db.admin.query<{ id: string }>(
        `select id::text from outbox where org_id = $1::uuid and event_type = 'ticket.created'
          and aggregate_id = any($2::uuid[])`,
        [org.orgId, tickets.map((t) => t.id)],
      );
      return r.rows.length === n ? r.rows.map((x) => Number(x.id)) : undefined;
    });
    await until('both deliveries of every event', async () =>
      sink.received.filter((d) => events.includes(Number(d.webhookId.slice(4)))).length >= 2 * n
        ? true
        : undefined,
    );
    const after = await outboxSettled();
    const expectedFanouts = Number(
      (
        await db.admin.query<{ n: number }>(
          `select count(*)::int as n from outbox where org_id = $1::uuid and id > $2::bigint
            and event_type = any($3::text[])`,
          [org.orgId, beforeSubscriptions, [...WEBHOOK_EVENT_TYPES]],
        )
      ).rows[0]?.n,
    );
    await until('the fan-out jobs to finish', async () =>
      (await sumOver(workers(), 'gamemod_job_duration_seconds_count', FANOUT)).total >= expectedFanouts
        ? true
        : undefined,
    );
    // Whatever would run twice has done so by now: the relays poll every second.
    await sleep(1500);

    // Relayed once: the two relays' counts add up to the rows in the outbox, no more.
    const relayed = await sumOver(workers(), 'gamemod_outbox_relayed_total');
    expect(relayed.total).toBe(after.total);
    // Both relays are running (each has claimed, and so set its backlog gauge).
    for (const w of workers()) {
      const text = await (await fetch(`http://127.0.0.1:${w.metricsPort}/metrics`)).text();
      expect(text).toMatch(/^gamemod_outbox_unrelayed \d+$/m);
    }
    // Published once per topic: on the org's topic and on the ticket's.
    for (const id of events) {
      expect(publishes.get(`org:${org.orgId}#${id}`), `event ${id} on the org topic`).toBe(1);
    }
    for (const t of tickets) {
      const onTicket = [...publishes].filter(([k]) => k.startsWith(`ticket:${t.id}#`));
      const created = onTicket.filter(([k]) => events.includes(Number(k.split('#')[1])));
      expect(
        created.map(([, count]) => count),
        `ticket.created on ticket:${t.id}`,
      ).toEqual([1]);
    }
    // The client on the other instance got each once.
    for (const id of events) expect(live.received.filter((m) => m.event?.id === id)).toHaveLength(1);
    // Each job once: one fan-out per webhook event over both workers processes, and one delivery
    // per event and subscription at the receiver.
    const fanoutAfter = await sumOver(workers(), 'gamemod_job_duration_seconds_count', FANOUT);
    expect(fanoutAfter.total).toBe(expectedFanouts);
    for (const id of events) {
      for (const path of ['/sub-a', '/sub-b']) {
        expect(sink.received.filter((d) => d.path === path && d.webhookId === `msg_${id}`)).toHaveLength(1);
      }
    }
    console.log(
      `outbox rows relayed per workers process: ${relayed.each.join(' + ')} = ${relayed.total}; ` +
        `webhook fan-out jobs per process: ${fanoutAfter.each.join(' + ')} = ${expectedFanouts} events`,
    );
    live.close();
    sub.disconnect();
  }, 40_000);

  it('the two shard processes split the guilds: (guild_id >> 22) % 2, each answers only its own', async () => {
    expect(guilds.map((g) => shardOf(g.id, 2))).toEqual([0, 0, 1, 1]);
    const starts = fake.sessionStarts;
    expect(starts.map((s) => [s.shardId, s.shardCount]).sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);
    // Each session's READY listed exactly the guilds of its shard.
    const ready = fake.frames({ direction: 'out', t: 'READY' });
    for (const shard of [0, 1]) {
      const listed = ready
        .filter((f) => f.shardId === shard)
        .flatMap((f) => (f.d as { guilds: Array<{ id: string }> }).guilds.map((g) => g.id));
      expect(listed.sort()).toEqual(
        guilds
          .filter((g) => shardOf(g.id, 2) === shard)
          .map((g) => g.id)
          .sort(),
      );
    }
    const ask = (g: SeededGuild, subject: string) =>
      fake.sendInteraction({
        kind: 'chatInput',
        name: 'ticket',
        subcommand: 'open',
        guildId: g.id,
        channelId: g.channels['support'] ?? '',
        userId: player,
        options: [{ name: 'subject', value: subject }],
      });
    const handles = guilds.map((g, i) => ask(g, `guild ${i}`));
    for (const [i, h] of handles.entries()) {
      expect((await h.response)?.type, `guild ${i} answered`).toBe(5);
      const delivered = fake
        .frames({ direction: 'out', t: 'INTERACTION_CREATE' })
        .filter((f) => (f.d as { id: string }).id === h.id);
      expect(delivered.map((f) => f.shardId)).toEqual([shardOf(guilds[i]?.id ?? '', 2)]);
    }
    // Which process is which: with shard 1's process stopped, its guilds go unanswered while
    // shard 0's process still answers its own.
    const shard1 = byName('shard-1').pid;
    process.kill(shard1, 'SIGTERM');
    await until('shard-1 to exit', async () => {
      try {
        process.kill(shard1, 0);
        return undefined;
      } catch {
        return true;
      }
    });
    const orphan = ask(guilds[2] as SeededGuild, 'nobody home');
    const served = ask(guilds[0] as SeededGuild, 'still served');
    expect((await served.response)?.type).toBe(5);
    expect(await orphan.response).toBeNull();
  }, 25_000);

  it('Ctrl-C stops every process and the script exits 0', async () => {
    run.child.kill('SIGINT');
    const code = await Promise.race([run.exited, sleep(20_000, 'timeout')]);
    expect(code, run.output().slice(-3000)).toBe(0);
    for (const p of procs) expect(() => process.kill(p.pid, 0), `${p.name} stopped`).toThrow();
    await expect(fetch(`http://127.0.0.1:${byName('api-1').port}/health`)).rejects.toThrow();
  }, 25_000);
});
