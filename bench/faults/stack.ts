import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChannelType } from 'discord.js';
import pino from 'pino';
import { type Bot, createBot } from '../../bot/bot.js';
import { createApiToken } from '../../db/api-tokens.js';
import { SYSTEM } from '../../db/changes.js';
import { createGuildLinkCode, redeemGuildLinkCode } from '../../db/guild-links.js';
import { updateGuildSettings } from '../../db/guilds.js';
import { createOrganization } from '../../db/organizations.js';
import { createPool, type Pool } from '../../db/pool.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { createUser } from '../../db/users.js';
import { createSubscription } from '../../db/webhooks.js';
import type { RedisHandle } from '../../lib/local-stack/index.js';
import { type PostgresHandle, startPostgres } from '../../lib/local-stack/index.js';
import { createSecretBox } from '../../lib/secret-box.js';
import { randomSecretKey } from '../../lib/secret-key.js';
import { createTicketPages } from '../../lib/ticket-links.js';
import { type FakeDiscord, startFakeDiscord } from '../../test/support/fake-discord/index.js';
import { startWorkerRuntime } from '../../workers/runtime.js';
import { startBenchApi } from '../lib/api-app.js';

/** What a loopback webhook receiver does with a request: answer 204, never answer, or 500. */
export type SinkMode = 'ok' | 'hang' | '500';

/** A loopback webhook receiver that records the first arrival of each webhook-id. */
export class Receiver {
  mode: SinkMode = 'ok';
  /** webhook-id -> first successful arrival (Date.now()). */
  readonly firstOk = new Map<string, number>();
  /** webhook-id -> requests received (any outcome). */
  readonly attempts = new Map<string, number>();
  /** hash of the event's `data` -> the webhook-ids it arrived under. */
  readonly idsPerEvent = new Map<string, Set<string>>();
  url = '';
  private readonly server: http.Server;

  constructor() {
    this.server = http.createServer((req, res) => {
      const id = String(req.headers['webhook-id']);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.attempts.set(id, (this.attempts.get(id) ?? 0) + 1);
        const mode = this.mode;
        if (mode === 'hang') return; // never answers; the worker's timeout ends it
        if (mode === '500') {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('sink failing');
          return;
        }
        if (!this.firstOk.has(id)) this.firstOk.set(id, Date.now());
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            type?: string;
            data?: unknown;
          };
          const key = createHash('sha1')
            .update(`${body.type}:${JSON.stringify(body.data)}`)
            .digest('hex');
          const ids = this.idsPerEvent.get(key) ?? new Set<string>();
          ids.add(id);
          this.idsPerEvent.set(key, ids);
        } catch {}
        res.writeHead(204);
        res.end();
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

export interface Stack {
  pg: PostgresHandle;
  redis: RedisHandle;
  /** App-role pool shared by the API, the workers and the bot, as `npm start` runs them. */
  pool: Pool;
  /** Superuser pool for the checks (sees every org). */
  admin: Pool;
  fake: FakeDiscord;
  apiUrl: string;
  token: string;
  orgId: string;
  /** Tickets on the Discord side (origin discord, a channel each): API replies go out through the workers. */
  discordTickets: Array<{ id: string; channelId: string }>;
  guildId: string;
  supportChannelId: string;
  players: string[];
  good: Receiver;
  sink: Receiver;
  sinkSubscriptionId: string;
  bot: Bot;
  restartPostgres(downMs: number): Promise<void>;
  close(): Promise<void>;
}

const DISCORD_TICKETS = 8;

/**
 * Everything `npm start` runs, in this process on loopback: the API (Fastify on a port), the
 * workers (relay, processors, schedulers), the bot against the fake Discord, one Postgres cluster
 * and one durable Redis, and two webhook receivers.
 */
export async function startStack(
  pg: PostgresHandle,
  pgDir: string,
  redis: RedisHandle,
  log: (msg: string) => void,
): Promise<Stack> {
  const closers: Array<() => Promise<unknown>> = [];
  const pool = createPool({
    url: pg.urlFor('app'),
    max: 24,
    statementTimeoutMs: 10_000,
    connectTimeoutMs: 5_000,
    applicationName: 'gamemod-faults',
  });
  closers.push(() => pool.end());
  const admin = createPool({
    url: pg.urlFor('super'),
    max: 2,
    statementTimeoutMs: 10_000,
    connectTimeoutMs: 5_000,
  });
  closers.push(() => admin.end());
  const box = createSecretBox(randomSecretKey());
  const logger = pino({ level: 'silent' });

  const fake = await startFakeDiscord({ interactionDeadlineMs: 3_000 });
  closers.push(() => fake.close());
  const players = Array.from({ length: 400 }, (_, i) => fake.addUser({ username: `player${i}` }).id);
  const guild = fake.addGuild({
    name: 'Faults',
    channels: [
      { name: 'support', type: ChannelType.GuildText },
      ...Array.from({ length: DISCORD_TICKETS }, (_, i) => ({ name: `t${i}`, type: ChannelType.GuildText })),
    ],
    members: players,
  });

  const owner = await createUser(pool, { displayName: 'Faults owner' });
  const org = await createOrganization(
    pool,
    { name: 'Faults', slug: 'faults', ownerUserId: owner.id },
    SYSTEM,
  );
  const { plaintext: token } = await withTenant(pool, org.id, (tx) =>
    createApiToken(tx, { name: 'faults', scopes: ['tickets:write'] }, SYSTEM),
  );
  const { code } = await withTenant(pool, org.id, (tx) => createGuildLinkCode(tx, SYSTEM));
  await redeemGuildLinkCode(pool, { code, guildId: guild.id, guildName: 'Faults' });
  const supportChannelId = guild.channels['support'] as string;
  await withTenant(pool, org.id, (tx) =>
    updateGuildSettings(tx, guild.id, { supportChannelId, maxOpenPerPlayer: 50, cooldownSeconds: 0 }, SYSTEM),
  );
  const discordTickets: Stack['discordTickets'] = [];
  for (let i = 0; i < DISCORD_TICKETS; i++) {
    const channelId = guild.channels[`t${i}`] as string;
    const { ticket } = await withTenant(pool, org.id, (tx) =>
      openTicket(
        tx,
        {
          subject: `Discord ticket ${i}`,
          origin: 'discord',
          discordGuildId: guild.id,
          discordChannelId: channelId,
        },
        SYSTEM,
      ),
    );
    discordTickets.push({ id: ticket.id, channelId });
  }

  const good = new Receiver();
  const sink = new Receiver();
  await good.listen();
  await sink.listen();
  closers.push(
    () => good.close(),
    () => sink.close(),
  );
  const eventTypes = ['ticket.created', 'message.created'] as const;
  await withTenant(pool, org.id, (tx) =>
    createSubscription(
      tx,
      { url: good.url, eventTypes: [...eventTypes] },
      { type: 'user', id: owner.id },
      box,
    ),
  );
  const { subscription } = await withTenant(pool, org.id, (tx) =>
    createSubscription(
      tx,
      { url: sink.url, eventTypes: [...eventTypes] },
      { type: 'user', id: owner.id },
      box,
    ),
  );

  const runtime = await startWorkerRuntime({
    pool,
    redisUrl: redis.url,
    logger,
    box,
    webhookTargets: { allowLoopback: true, allowPrivate: false },
    discord: { token: fake.botToken, apiUrl: `${fake.url}/api` },
    // In its own thread, as the workers role runs it.
    relay: { pollMs: 200, thread: true },
    concurrency: 20,
  });
  closers.push(() => runtime.stop());

  const {
    app,
    redis: appRedis,
    port,
  } = await startBenchApi({
    pool,
    redisUrl: redis.url,
    logger,
    filesPrefix: 'gamemod-faults-files',
    quietRedis: true,
  });
  closers.push(
    async () => appRedis.disconnect(),
    () => app.close(),
  );
  const apiUrl = `http://127.0.0.1:${port}`;

  const bot = createBot({
    pool,
    logger,
    apiUrl: `${fake.url}/api`,
    messageContent: true,
    box,
    ticketPages: createTicketPages(randomSecretKey(), 'http://127.0.0.1'),
  });
  await bot.start(fake.botToken);
  closers.push(() => bot.stop(10_000));
  log(`stack up: API ${apiUrl}, workers, bot on the fake Discord ${fake.url}, Redis ${redis.url}`);

  return {
    pg,
    redis,
    pool,
    admin,
    fake,
    apiUrl,
    token,
    orgId: org.id,
    discordTickets,
    guildId: guild.id,
    supportChannelId,
    players,
    good,
    sink,
    sinkSubscriptionId: subscription.id,
    bot,
    async restartPostgres(downMs) {
      await pg.stop();
      await new Promise((r) => setTimeout(r, downMs));
      await startPostgres({
        dir: pgDir,
        port: pg.port,
        database: 'gm_bench',
        install: true,
        durable: false,
        log: () => {},
      });
    },
    async close() {
      for (const c of closers.reverse()) await c().catch(() => {});
    },
  };
}
