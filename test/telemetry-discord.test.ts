import { createRequire } from 'node:module';
import { REST } from '@discordjs/rest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SYSTEM } from '../db/changes.js';
import { withTenant } from '../db/tenant.js';
import { openTicket, reply } from '../db/tickets.js';
import { startTelemetry, type Telemetry, telemetrySettings } from '../lib/telemetry.js';
import { routeTemplate } from '../lib/telemetry-discord.js';
import { startWorkerRuntime } from '../workers/runtime.js';
import { useTestDb } from './support/db.js';
import { type FakeDiscord, startFakeDiscord } from './support/fake-discord/index.js';
import { makeOrg } from './support/fixtures.js';
import { attr, type Exported, SPAN_KIND, startOtlpReceiver, until } from './support/otlp.js';
import { box, logger, loopbackOnly, uniquePrefix } from './workers/support.js';

const db = useTestDb();
const cjsRest = () =>
  (
    createRequire(createRequire(import.meta.url).resolve('discord.js'))('@discordjs/rest') as {
      REST: typeof REST;
    }
  ).REST;
const untouched = { esm: REST.prototype.queueRequest, cjs: cjsRest().prototype.queueRequest };

let fake: FakeDiscord;
beforeAll(async () => {
  fake = await startFakeDiscord();
});
afterAll(() => fake.close());

describe('Discord REST route templates', () => {
  it('names routes without ids or tokens', () => {
    expect(routeTemplate('/channels/1188776655443322110')).toBe('/channels/{id}');
    expect(routeTemplate('/channels/11/messages/22')).toBe('/channels/{id}/messages/{id}');
    expect(routeTemplate('/webhooks/11/aB-c_9xYz/messages/22')).toBe('/webhooks/{id}/{token}/messages/{id}');
    expect(routeTemplate('/interactions/11/aW50ZXJhY3Rpb24/callback')).toBe(
      '/interactions/{id}/{token}/callback',
    );
    expect(routeTemplate('/channels/11/messages/22/reactions/%F0%9F%91%8D/@me')).toBe(
      '/channels/{id}/messages/{id}/reactions/{emoji}/@me',
    );
    expect(routeTemplate('/users/@me/channels')).toBe('/users/@me/channels');
    expect(routeTemplate('/invites/abcDEF')).toBe('/invites/{code}');
  });
});

describe('a client span per Discord REST request', () => {
  it('touches no REST method while tracing is off', async () => {
    const off = await startTelemetry(telemetrySettings({}, 'x'));
    expect(off.enabled).toBe(false);
    expect(REST.prototype.queueRequest).toBe(untouched.esm);
    expect(cjsRest().prototype.queueRequest).toBe(untouched.cjs);
  });

  it("puts each call under the Discord delivery job's span, with the route, status and the 429 it waited out", async () => {
    const otlp = await startOtlpReceiver();
    // The exporter and its batch processor read the standard variables, as in the app.
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = otlp.url;
    process.env.OTEL_BSP_SCHEDULE_DELAY = '600000';
    let telemetry: Telemetry | undefined;
    let channelId = '';
    try {
      telemetry = await startTelemetry(
        telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url }, 'gamemod-workers'),
      );
      expect(telemetry.enabled).toBe(true);
      // Both copies of the dual package: the workers' client and discord.js's.
      expect(REST.prototype.queueRequest).not.toBe(untouched.esm);
      expect(cjsRest().prototype.queueRequest).not.toBe(untouched.cjs);

      const org = await makeOrg(db.app);
      const guild = fake.addGuild({ name: 'Studio', channels: [{ name: 'support' }] });
      channelId = guild.channels.support as string;
      await withTenant(db.app, org.orgId, (tx) =>
        tx.query(
          `insert into discord_guilds (org_id, guild_id, name, settings) values ($1, $2, 'Studio', '{}')`,
          [tx.orgId, guild.id],
        ),
      );
      const message = await withTenant(db.app, org.orgId, async (tx) => {
        const { ticket } = await openTicket(
          tx,
          {
            subject: 'Lost my items',
            origin: 'discord',
            discordGuildId: guild.id,
            discordChannelId: channelId,
          },
          SYSTEM,
        );
        return (await reply(tx, { ticketId: ticket.id, body: 'Restored', origin: 'panel' }, org.owner))
          .message;
      });

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
      try {
        fake.rateLimitNext(`/channels/${channelId}/messages`, 0.1);
        await runtime.queues.enqueue(
          'discord.message',
          { orgId: org.orgId, messageId: message.id },
          { jobId: `traced-${message.id}` },
        );
        await until('the reply to reach Discord', async () => {
          const r = await db.admin.query('select discord_message_id from messages where id = $1', [
            message.id,
          ]);
          return r.rows[0]?.discord_message_id ? true : undefined;
        });
      } finally {
        await runtime.stop();
      }
      // A call outside any trace starts none.
      await new REST({ api: `${fake.url}/api`, retries: 0 }).setToken(fake.botToken).get('/users/@me');
    } finally {
      await telemetry?.shutdown();
      delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      delete process.env.OTEL_BSP_SCHEDULE_DELAY;
      otlp.server.close();
    }

    const spans = otlp.spans.map((e: Exported) => e.span);
    const names = spans.map((s) => s.name);
    const post = spans.find((s) => s.name === 'discord.rest POST /channels/{id}/messages');
    expect(post, `spans: ${names.join(', ')}`).toBeDefined();
    expect(post?.kind).toBe(SPAN_KIND.CLIENT);
    const job = spans.find((s) => s.spanId === post?.parentSpanId);
    expect(job?.name).toBe('job discord.message');
    expect(job?.kind).toBe(SPAN_KIND.CONSUMER);
    expect(attr(post ?? {}, 'http.request.method')).toBe('POST');
    expect(attr(post ?? {}, 'url.template')).toBe('/channels/{id}/messages');
    expect(attr(post ?? {}, 'url.full')).toBe(`${fake.url}/api/v10/channels/${channelId}/messages`);
    expect(attr(post ?? {}, 'server.address')).toBe('127.0.0.1');
    expect(attr(post ?? {}, 'http.response.status_code')).toBe(200);
    // The 429 and the resend after it are on the one span of the call.
    expect(String(attr(post ?? {}, 'http.request.resend_count'))).toBe('1');
    const limited = post?.events?.find((e) => e.name === 'discord.rate_limited');
    expect(limited, JSON.stringify(post?.events)).toBeDefined();
    expect(attr(limited ?? {}, 'discord.rate_limit.retry_after_ms')).toBe(100);
    expect(String(attr(limited ?? {}, 'http.response.status_code'))).toBe('429');
    // Every Discord span of the run is inside a job's trace, none named with a raw id.
    const discord = spans.filter((s) => s.name.startsWith('discord.rest '));
    for (const s of discord) {
      expect(s.name).not.toMatch(/\d{5,}/);
      expect(spans.some((p) => p.spanId === s.parentSpanId)).toBe(true);
    }
    expect(names).not.toContain('discord.rest GET /users/@me');
  }, 60_000);
});
