import { REST } from '@discordjs/rest';
import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SYSTEM } from '../../db/changes.js';
import { createPool } from '../../db/pool.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket, reply } from '../../db/tickets.js';
import {
  alertText,
  chunks,
  deliverAlert,
  deliverMessage,
  sweepUndeliveredMessages,
} from '../../workers/discord-delivery.js';
import { startWorkerRuntime } from '../../workers/runtime.js';
import { useTestDb } from '../support/db.js';
import { type FakeDiscord, startFakeDiscord } from '../support/fake-discord/index.js';
import { makeOrg } from '../support/fixtures.js';
import { box, logger, loopbackOnly, startPgProxy, testDeps, uniquePrefix, until } from './support.js';

const db = useTestDb();
let fake: FakeDiscord;
let env: ReturnType<typeof testDeps>;
let rest: REST;
beforeAll(async () => {
  fake = await startFakeDiscord();
  env = testDeps(db.app, uniquePrefix());
  rest = new REST({ api: `${fake.url}/api`, retries: 2, timeout: 5_000 }).setToken(fake.botToken);
  env.deps.discord = rest;
});
afterAll(async () => {
  await env.close();
  await fake.close();
});

async function setup(opts: { webhook?: boolean } = {}) {
  const org = await makeOrg(db.app);
  const guild = fake.addGuild({ name: 'Studio', channels: [{ name: 'support' }, { name: 'alerts' }] });
  const channelId = guild.channels.support as string;
  await withTenant(db.app, org.orgId, (tx) =>
    tx.query(`insert into discord_guilds (org_id, guild_id, name, settings) values ($1, $2, 'Studio', $3)`, [
      tx.orgId,
      guild.id,
      JSON.stringify({ alertChannelId: guild.channels.alerts }),
    ]),
  );
  const { ticket } = await withTenant(db.app, org.orgId, (tx) =>
    openTicket(
      tx,
      { subject: 'Lost my items', origin: 'discord', discordGuildId: guild.id, discordChannelId: channelId },
      SYSTEM,
    ),
  );
  if (opts.webhook) {
    const hook = (await rest.post(`/channels/${channelId}/webhooks`, { body: { name: 'GameMod' } })) as {
      id: string;
      token: string;
    };
    await db.admin.query(
      `update tickets set discord_webhook_id = $2, discord_webhook_token = $3, discord_mode = 'channel' where id = $1`,
      // Stored sealed, as the bot stores it.
      [ticket.id, hook.id, env.deps.box.seal(hook.token)],
    );
  }
  const staffReply = async (body: string, origin: 'panel' | 'discord' = 'panel') => {
    const r = await withTenant(db.app, org.orgId, (tx) =>
      reply(tx, { ticketId: ticket.id, body, origin }, org.owner),
    );
    return r.message;
  };
  const row = async (messageId: string) =>
    (
      await db.admin.query<{ discord_message_id: string | null; delivery_error: string | null }>(
        'select discord_message_id, delivery_error from messages where id = $1',
        [messageId],
      )
    ).rows[0];
  return { org, guild, channelId, ticket, staffReply, row };
}

const posts = (channelId: string) =>
  fake
    .requests({ method: 'POST', path: `/api/v10/channels/${channelId}/messages` })
    .filter((r) => r.status === 200);

describe('Discord delivery', () => {
  it('posts a panel reply into the ticket channel once and stores the Discord message id', async () => {
    const s = await setup();
    const m = await s.staffReply('We restored your items.');
    await deliverMessage(env.deps, { orgId: s.org.orgId, messageId: m.id });
    const sent = posts(s.channelId);
    expect(sent).toHaveLength(1);
    expect((sent[0]?.body as { content?: string } | undefined)?.content).toMatch(
      /^\*\*Studio owner:\*\* We restored your items\.$/,
    );
    expect((sent[0]?.response as { id?: string } | undefined)?.id).toBe(
      (await s.row(m.id))?.discord_message_id,
    );
    // Again (a redelivered job): nothing more is posted.
    await deliverMessage(env.deps, { orgId: s.org.orgId, messageId: m.id });
    expect(posts(s.channelId)).toHaveLength(1);
    // A message that came from Discord is never echoed back.
    const fromDiscord = await s.staffReply('typed in Discord', 'discord');
    await deliverMessage(env.deps, { orgId: s.org.orgId, messageId: fromDiscord.id });
    expect(posts(s.channelId)).toHaveLength(1);
  });

  it('waits out a Discord 429 and posts once', async () => {
    const s = await setup();
    const m = await s.staffReply('After the rate limit');
    fake.rateLimitNext(`/channels/${s.channelId}/messages`, 0.2);
    await deliverMessage(env.deps, { orgId: s.org.orgId, messageId: m.id });
    const limited = fake
      .requests({ method: 'POST', path: `/api/v10/channels/${s.channelId}/messages` })
      .filter((r) => r.status === 429);
    expect(limited).toHaveLength(1);
    expect(posts(s.channelId)).toHaveLength(1);
    expect((await s.row(m.id))?.discord_message_id).toBe(
      (posts(s.channelId)[0]?.response as { id?: string } | undefined)?.id,
    );
  });

  it('uses the channel webhook with the staff name when the ticket has one', async () => {
    const s = await setup({ webhook: true });
    const m = await s.staffReply('Hello from the panel');
    await deliverMessage(env.deps, { orgId: s.org.orgId, messageId: m.id });
    const hooks = fake.requests({ method: 'POST' }).filter((r) => r.path.startsWith('/api/v10/webhooks/'));
    expect(hooks.at(-1)?.body).toMatchObject({ content: 'Hello from the panel', username: 'Studio owner' });
    expect(hooks.at(-1)?.query).toMatchObject({ wait: 'true' });
    expect((await s.row(m.id))?.discord_message_id).toBe(
      (hooks.at(-1)?.response as { id?: string } | undefined)?.id,
    );
    expect(posts(s.channelId)).toHaveLength(0);
  });

  it('posts into the ticket thread through the parent channel’s webhook, and records a deleted thread', async () => {
    const s = await setup({ webhook: true });
    const thread = (await rest.post(`/channels/${s.channelId}/threads`, {
      body: { name: 'ticket-1', type: 12 },
    })) as { id: string };
    await db.admin.query(
      `update tickets set discord_channel_id = $2, discord_mode = 'thread' where id = $1`,
      [s.ticket.id, thread.id],
    );
    const m = await s.staffReply('In the thread');
    await deliverMessage(env.deps, { orgId: s.org.orgId, messageId: m.id });
    const hook = fake
      .requests({ method: 'POST' })
      .filter((r) => r.path.startsWith('/api/v10/webhooks/'))
      .at(-1);
    expect(hook?.query).toMatchObject({ wait: 'true', thread_id: thread.id });
    expect(hook?.status).toBe(200);
    expect((await s.row(m.id))?.discord_message_id).not.toBeNull();

    fake.deleteChannel(thread.id);
    const lost = await s.staffReply('Thread is gone');
    await expect(deliverMessage(env.deps, { orgId: s.org.orgId, messageId: lost.id })).rejects.toBeInstanceOf(
      UnrecoverableError,
    );
    expect((await s.row(lost.id))?.delivery_error).toBe('the Discord channel or thread was deleted');
  });

  it('retries a 5xx and records a deleted channel on the ticket instead of retrying forever', async () => {
    const s = await setup();
    fake.failNext(`/channels/${s.channelId}/messages`, 500);
    const m = await s.staffReply('After a hiccup');
    await deliverMessage(env.deps, { orgId: s.org.orgId, messageId: m.id });
    expect((await s.row(m.id))?.discord_message_id).not.toBeNull();
    expect(fake.requests({ method: 'POST', path: `/api/v10/channels/${s.channelId}/messages` })).toHaveLength(
      2,
    );

    fake.deleteChannel(s.channelId);
    const lost = await s.staffReply('Into the void');
    await expect(deliverMessage(env.deps, { orgId: s.org.orgId, messageId: lost.id })).rejects.toBeInstanceOf(
      UnrecoverableError,
    );
    expect(await s.row(lost.id)).toMatchObject({
      discord_message_id: null,
      delivery_error: 'the Discord channel or thread was deleted',
    });
    const t = await db.admin.query('select delivery_error from tickets where id = $1', [s.ticket.id]);
    expect(t.rows[0]?.delivery_error).toBe('the Discord channel or thread was deleted');
    // Recorded like any other change: in the ticket's history and as an event for the panel.
    const history = await db.admin.query<{ data: Record<string, unknown> }>(
      `select data from ticket_events where ticket_id = $1 and type = 'ticket.delivery_failed'`,
      [s.ticket.id],
    );
    expect(history.rows[0]?.data).toMatchObject({
      messageId: lost.id,
      error: 'the Discord channel or thread was deleted',
    });
    const ev = await db.admin.query(
      `select 1 from outbox where aggregate_id = $1 and event_type = 'ticket.delivery_failed'`,
      [s.ticket.id],
    );
    expect(ev.rowCount).toBe(1);
  });

  it('resumes a long message after the chunk that failed, never posting a chunk twice', async () => {
    const s = await setup();
    const body = ['FIRST', 'SECOND', 'THIRD'].map((w) => `${w} ${'x'.repeat(1900)}`).join('\n');
    const m = await s.staffReply(body);
    let failing = true;
    const second = (r: { method: string; body?: unknown }) =>
      failing &&
      r.method === 'POST' &&
      String((r.body as { content?: string })?.content).startsWith('SECOND');
    fake.failNext(second, 500, { count: 100 });
    await expect(deliverMessage(env.deps, { orgId: s.org.orgId, messageId: m.id })).rejects.toThrow();
    failing = false;
    await deliverMessage(env.deps, { orgId: s.org.orgId, messageId: m.id });
    const contents = posts(s.channelId).map((r) => String((r.body as { content?: string })?.content));
    for (const word of ['FIRST ', 'SECOND ', 'THIRD ']) {
      expect(contents.filter((c) => c.includes(word))).toHaveLength(1);
    }
    const first = posts(s.channelId).find((r) =>
      String((r.body as { content?: string })?.content).includes('FIRST'),
    );
    expect((await s.row(m.id))?.discord_message_id).toBe(
      (first?.response as { id?: string } | undefined)?.id,
    );
  });

  it('splits long messages at Discord’s limit', () => {
    const parts = chunks(`${'a'.repeat(1500)}\n${'b'.repeat(1500)}`);
    expect(parts.map((p) => p.length)).toEqual([1500, 1500]);
    expect(chunks('x'.repeat(4500)).map((p) => p.length)).toEqual([2000, 2000, 500]);
  });

  it('posts SLA and webhook alerts to the guild’s alert channel', async () => {
    const s = await setup();
    const r = await db.admin.query<{ id: number }>(
      `insert into outbox (org_id, event_type, aggregate_type, aggregate_id, payload)
       values ($1, 'ticket.sla_breached', 'ticket', $2, $3) returning id`,
      [
        s.org.orgId,
        s.ticket.id,
        JSON.stringify({
          ticket: { number: 1, subject: 'Lost my items' },
          metric: 'first_response',
          dueAt: new Date().toISOString(),
        }),
      ],
    );
    await deliverAlert(env.deps, { orgId: s.org.orgId, outboxId: Number(r.rows[0]?.id) });
    const sent = posts(s.guild.channels.alerts as string);
    expect(sent).toHaveLength(1);
    expect((sent[0]?.body as { content?: string } | undefined)?.content).toMatch(
      /SLA breached: ticket #1 “Lost my items”, first response/,
    );
    expect(
      alertText('webhook.disabled', { url: 'https://x.example/h', reason: 'the endpoint answered 410 Gone' }),
    ).toMatch(/webhook to https:\/\/x\.example\/… was disabled/);
    // An event written before URLs were redacted still shows no token in the alert.
    expect(
      alertText('webhook.disabled', { url: 'https://x.example/hooks/t0ken?sig=abc', reason: 'gone' }),
    ).not.toMatch(/t0ken|abc/);
    expect(alertText('ticket.updated', {})).toBeNull();
  });

  it('posts an alert to each channel once even when a retry follows a partial failure', async () => {
    const s = await setup();
    const other = fake.addGuild({ name: 'Second', channels: [{ name: 'alerts' }] });
    await withTenant(db.app, s.org.orgId, (tx) =>
      tx.query(
        `insert into discord_guilds (org_id, guild_id, name, settings) values ($1, $2, 'Second', $3)`,
        [tx.orgId, other.id, JSON.stringify({ alertChannelId: other.channels.alerts })],
      ),
    );
    const r = await db.admin.query<{ id: number }>(
      `insert into outbox (org_id, event_type, aggregate_type, aggregate_id, payload)
       values ($1, 'ticket.sla_warning', 'ticket', $2, $3) returning id`,
      [
        s.org.orgId,
        s.ticket.id,
        JSON.stringify({
          ticket: { number: 1, subject: 'Lost' },
          metric: 'resolution',
          dueAt: new Date().toISOString(),
        }),
      ],
    );
    const outboxId = Number(r.rows[0]?.id);
    const channels = [s.guild.channels.alerts as string, other.channels.alerts as string];
    // Whichever channel is posted to second fails the first time round.
    let calls = 0;
    let failing = true;
    fake.failNext(
      (q: { method: string; path: string }) =>
        failing &&
        q.method === 'POST' &&
        channels.some((c) => q.path.includes(`/channels/${c}/messages`)) &&
        ++calls > 1,
      500,
      { count: 100 },
    );
    await expect(deliverAlert(env.deps, { orgId: s.org.orgId, outboxId })).rejects.toThrow();
    failing = false;
    await deliverAlert(env.deps, { orgId: s.org.orgId, outboxId });
    for (const c of channels) {
      const attempts = fake.requests({ method: 'POST', path: `/api/v10/channels/${c}/messages` });
      expect(attempts.filter((q) => q.status === 200)).toHaveLength(1);
    }
    // Posted once per channel: a third run posts nothing.
    await deliverAlert(env.deps, { orgId: s.org.orgId, outboxId });
    for (const c of channels) expect(posts(c)).toHaveLength(1);
  });

  it('re-enqueues a message whose delivery job was lost, and only until it is posted', async () => {
    const s = await setup();
    const m = await s.staffReply('My job went missing');
    // Ten minutes later the message still has no Discord id: the sweep enqueues it again.
    const later = { ...env.deps, clock: { now: () => new Date(Date.now() + 10 * 60_000) } };
    expect(await sweepUndeliveredMessages(later)).toBeGreaterThanOrEqual(1);
    const discord = env.deps.queues.get('discord');
    const job = (await discord.getJobs(['waiting', 'prioritized'])).find(
      (j) => j.name === 'discord.message' && j.data.messageId === m.id,
    );
    expect(job?.data).toEqual({ orgId: s.org.orgId, messageId: m.id });
    await deliverMessage(env.deps, job?.data);
    expect(posts(s.channelId)).toHaveLength(1);
    await job?.remove();
    await sweepUndeliveredMessages(later);
    const again = (await discord.getJobs(['waiting', 'prioritized'])).filter(
      (j) => j.data.messageId === m.id,
    );
    expect(again).toHaveLength(0);
  });

  it('posts once when two jobs for the same message run at the same time', async () => {
    const s = await setup({ webhook: true });
    const m = await s.staffReply('Raced');
    const hooks = () =>
      fake.requests({ method: 'POST' }).filter((r) => r.path.startsWith('/api/v10/webhooks/')).length;
    const before = hooks();
    // Hold the message row so both runs get as far as they can before either records anything.
    const holder = await db.admin.connect();
    try {
      await holder.query('begin');
      await holder.query('select 1 from messages where id = $1 for update', [m.id]);
      const runs = Promise.allSettled([
        deliverMessage(env.deps, { orgId: s.org.orgId, messageId: m.id }),
        deliverMessage(env.deps, { orgId: s.org.orgId, messageId: m.id }),
      ]);
      await until(async () => {
        const waiting = await db.admin.query<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
        );
        return (waiting.rows[0]?.n ?? 0) >= 2;
      }, 10_000);
      await holder.query('commit');
      // One posts; the other finds the message claimed (or already posted) and posts nothing.
      const outcomes = await runs;
      expect(outcomes.some((o) => o.status === 'fulfilled')).toBe(true);
    } finally {
      await holder.query('rollback').catch(() => {});
      holder.release();
    }
    expect(hooks() - before).toBe(1);
    expect((await s.row(m.id))?.discord_message_id).not.toBeNull();
  });

  it('after a run died between posting and recording, finds its post instead of posting again', async () => {
    const s = await setup({ webhook: true });
    const m = await s.staffReply('Posted just before the crash');
    // What a run that died right after Discord answered leaves behind: its claim (lapsed) and
    // the post in the channel, with nothing recorded.
    const hook = await db.admin.query<{ id: string; token: string }>(
      'select discord_webhook_id as id, discord_webhook_token as token from tickets where id = $1',
      [s.ticket.id],
    );
    const posted = (await rest.post(
      `/webhooks/${hook.rows[0]?.id}/${env.deps.box.open(hook.rows[0]?.token as string)}`,
      {
        auth: false,
        query: new URLSearchParams({ wait: 'true' }),
        body: { content: 'Posted just before the crash', username: 'Studio owner' },
      },
    )) as { id: string };
    await db.admin.query(
      `update messages set discord_claim = 'a-dead-run', discord_claimed_until = now() - interval '1 minute' where id = $1`,
      [m.id],
    );
    const hooks = () =>
      fake.requests({ method: 'POST' }).filter((r) => r.path.startsWith('/api/v10/webhooks/')).length;
    const before = hooks();
    await deliverMessage(env.deps, { orgId: s.org.orgId, messageId: m.id });
    expect(hooks() - before).toBe(0);
    expect((await s.row(m.id))?.discord_message_id).toBe(posted.id);
  });

  it('a job whose run lost the database after posting takes its claim back on retry and posts once', async () => {
    const s = await setup({ webhook: true });
    const m = await s.staffReply('Posted as the database went away');
    // The run's connections go through a proxy the test cuts while Discord holds the post (a
    // 429 of half a second): the post lands, recording it fails, and so does giving up the claim
    // (pg_terminate_backend or a failover do this). The job's next attempt must not wait out
    // the claim its own earlier attempt left behind.
    const proxy = await startPgProxy(db.appUrl);
    const pool = createPool({ url: proxy.url, max: 2, statementTimeoutMs: 5_000, connectTimeoutMs: 500 });
    const deps = { ...env.deps, pool };
    const hooks = () =>
      fake
        .requests({ method: 'POST' })
        .filter((r) => r.path.startsWith('/api/v10/webhooks/') && r.status === 200);
    const before = hooks().length;
    try {
      const t0 = Date.now();
      fake.rateLimitNext('/webhooks/', 0.5);
      const run = deliverMessage(deps, { orgId: s.org.orgId, messageId: m.id }, 'ds-1');
      await fake.waitForRequest((r) => r.status === 429 && r.path.includes('/webhooks/') && r.at >= t0);
      proxy.down();
      await expect(run).rejects.toThrow();
      expect(hooks().length - before).toBe(1);
      proxy.up();
      await deliverMessage(deps, { orgId: s.org.orgId, messageId: m.id }, 'ds-1');
      expect(hooks().length - before).toBe(1);
      expect((await s.row(m.id))?.discord_message_id).toBe(
        (hooks().at(-1)?.response as { id?: string } | undefined)?.id,
      );
    } finally {
      await pool.end();
      await proxy.close();
    }
  });

  it('a stopping worker interrupts a post waiting out a rate limit and puts the job back', async () => {
    const s = await setup();
    const m = await s.staffReply('Held by a rate limit');
    fake.rateLimitNext(`/channels/${s.channelId}/messages`, 30);
    const runtime = await startWorkerRuntime({
      pool: db.app,
      redisUrl: inject('services').redisUrl,
      logger,
      box,
      webhookTargets: loopbackOnly,
      prefix: uniquePrefix(),
      schedulers: false,
      relay: { enabled: false },
      discord: { token: fake.botToken, apiUrl: `${fake.url}/api` },
      stopGraceMs: 200,
    });
    const id = `test-${m.id}`;
    await runtime.queues.enqueue('discord.message', { orgId: s.org.orgId, messageId: m.id }, { jobId: id });
    await until(async () =>
      fake
        .requests({ method: 'POST', path: `/api/v10/channels/${s.channelId}/messages` })
        .some((r) => r.status === 429),
    );
    const discord = runtime.queues.get('discord');
    await runtime.stop();
    // Stopped without waiting out the 30 s: nothing posted, the job waits for its next attempt.
    expect(posts(s.channelId)).toHaveLength(0);
    expect((await s.row(m.id))?.discord_message_id).toBeNull();
    const probe = testDeps(db.app, discord.opts.prefix as string);
    try {
      const state = await probe.deps.queues.get('discord').getJobState(id);
      expect(['delayed', 'waiting']).toContain(state);
    } finally {
      await probe.close();
    }
  }, 60_000);
});
