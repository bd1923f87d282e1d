import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ChannelType } from 'discord.js';
import { Redis } from 'ioredis';
import pino from 'pino';
import { inject } from 'vitest';
import { type Bot, createBot } from '../../bot/bot.js';
import { type Category, createCategory } from '../../db/categories.js';
import { SYSTEM } from '../../db/changes.js';
import { MIRROR_BACKFILL_DELAY_MS } from '../../db/discord-mirrors.js';
import { createGuildLinkCode, redeemGuildLinkCode } from '../../db/guild-links.js';
import { setRoleMapping } from '../../db/guild-roles.js';
import { updateGuildSettings } from '../../db/guilds.js';
import { withTenant } from '../../db/tenant.js';
import { createSecretBox } from '../../lib/secret-box.js';
import { randomSecretKey } from '../../lib/secret-key.js';
import type { Storage } from '../../lib/storage/index.js';
import { createTicketPages, type TicketPages } from '../../lib/ticket-links.js';
import type { Clock } from '../../workers/clock.js';
import { startWorkerRuntime, type WorkerRuntime } from '../../workers/runtime.js';
import { createTestDb, type TestDb } from '../support/db.js';
import {
  type FakeDiscord,
  type InteractionHandle,
  type InteractionInput,
  READ_ONLY_EVERYONE,
  type SeededGuild,
  startFakeDiscord,
} from '../support/fake-discord/index.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';

export interface Harness {
  db: TestDb & { drop(): Promise<void> };
  fake: FakeDiscord;
  redis: Redis;
  bot: Bot;
  org: OrgFixture;
  guild: SeededGuild;
  category: Category;
  users: { owner: string; moderator: string; agent: string; player: string; other: string };
  objects: Map<string, Buffer>;
  box: ReturnType<typeof createSecretBox>;
  /** The links the bot and the workers hand out (rating, transcript), to check their tokens. */
  ticketPages: TicketPages;
  /** With `workers: true`: the workers role on the same database, Redis and fake Discord. */
  workers?: WorkerRuntime;
  /** Starts (again) the workers role; `close` stops it. */
  startWorkers(): Promise<WorkerRuntime>;
  close(): Promise<void>;
}

/** Storage that keeps objects in the harness's map (transcripts stored by the workers, files sent with replies). */
function mapStorage(objects: Map<string, Buffer>): Storage {
  return {
    driver: 'local',
    async put(key, body) {
      objects.set(key, Buffer.isBuffer(body) ? body : Buffer.from(''));
      return { key, sizeBytes: objects.get(key)?.length ?? 0 } as never;
    },
    async get(key) {
      const data = objects.get(key);
      if (!data) throw new Error(`no object ${key}`);
      return { body: Readable.from([data]), size: data.length, contentType: 'application/octet-stream' };
    },
    async delete(key) {
      objects.delete(key);
    },
    async exists(key) {
      return objects.has(key);
    },
    presignGet: () => null,
  };
}

/**
 * A linked guild with a support channel, a transcript channel, a forum, a channel category, a
 * "Moderator" role mapped to the org's moderator role and an "Agent" role mapped to agent, one
 * category with two questions, and the real bot logged in to the fake Discord.
 */
export async function startHarness(
  opts: {
    deadlineMs?: number;
    messageContent?: boolean;
    workers?: boolean;
    clock?: Clock;
    /** The server's own language (`preferred_locale`), set before the bot connects. */
    guildLocale?: string;
  } = {},
): Promise<Harness> {
  const db = await createTestDb(8);
  const fake = await startFakeDiscord({ interactionDeadlineMs: opts.deadlineMs ?? 3000 });
  const redis = new Redis(inject('services').redisUrl, { lazyConnect: true, maxRetriesPerRequest: null });
  await redis.connect();
  const owner = fake.addUser({ username: 'owner' }).id;
  const moderator = fake.addUser({ username: 'mod', globalName: 'Mod Erator' }).id;
  const agent = fake.addUser({ username: 'agent' }).id;
  const player = fake.addUser({ username: 'player', globalName: 'Player One' }).id;
  const other = fake.addUser({ username: 'other' }).id;
  const guild = fake.addGuild({
    name: 'Alpha Studio',
    ownerId: owner,
    // @everyone only looks: the bot works with exactly its documented permissions (its role's).
    everyonePermissions: READ_ONLY_EVERYONE,
    roles: [{ name: 'Moderator' }, { name: 'Agent' }],
    channels: [
      { name: 'Support', type: ChannelType.GuildCategory },
      { name: 'support', parent: 'Support' },
      { name: 'transcripts', parent: 'Support' },
      { name: 'help-forum', type: ChannelType.GuildForum },
      { name: 'Tickets', type: ChannelType.GuildCategory },
      { name: 'Tickets 2', type: ChannelType.GuildCategory },
    ],
    members: [moderator, agent, player, other],
  });
  if (opts.guildLocale) {
    const g = fake.state.guilds.get(guild.id);
    if (g) g.preferred_locale = opts.guildLocale;
  }
  fake.addMember(guild.id, moderator, [guild.roles['Moderator'] ?? '']);
  fake.addMember(guild.id, agent, [guild.roles['Agent'] ?? '']);
  const org = await makeOrg(db.app, 'Alpha');
  const { code } = await withTenant(db.app, org.orgId, (tx) => createGuildLinkCode(tx, org.owner));
  await redeemGuildLinkCode(db.app, { code, guildId: guild.id, guildName: 'Alpha Studio' }, org.owner);
  const category = await withTenant(db.app, org.orgId, async (tx) => {
    await setRoleMapping(
      tx,
      { guildId: guild.id, discordRoleId: guild.roles['Moderator'] ?? '', roleKey: 'moderator' },
      SYSTEM,
    );
    await setRoleMapping(
      tx,
      { guildId: guild.id, discordRoleId: guild.roles['Agent'] ?? '', roleKey: 'agent' },
      SYSTEM,
    );
    await updateGuildSettings(
      tx,
      guild.id,
      {
        supportChannelId: guild.channels['support'],
        transcriptChannelId: guild.channels['transcripts'],
        cooldownSeconds: 0,
        maxOpenPerPlayer: 3,
      },
      SYSTEM,
    );
    return createCategory(
      tx,
      {
        name: 'Bug report',
        questions: [
          { key: 'summary', label: 'What happened?', style: 'short', required: true, maxLength: 100 },
          {
            key: 'steps',
            label: 'How can we reproduce it?',
            style: 'paragraph',
            required: false,
            maxLength: 1000,
          },
        ],
      },
      SYSTEM,
    );
  });
  const objects = new Map<string, Buffer>();
  const secretKey = randomSecretKey();
  const box = createSecretBox(secretKey);
  const ticketPages = createTicketPages(secretKey, 'http://panel.test');
  const bot = createBot({
    pool: db.app,
    redis,
    redisPrefix: `gm:test:${randomBytes(4).toString('hex')}`,
    logger: pino({ level: 'silent' }),
    apiUrl: `${fake.url}/api`,
    messageContent: opts.messageContent ?? true,
    box,
    ticketPages,
  });
  await bot.start(fake.botToken);
  const workersPrefix = `gmt${randomBytes(4).toString('hex')}`;
  const startWorkers = async () => {
    const rt = await startWorkerRuntime({
      pool: db.app,
      redisUrl: inject('services').redisUrl,
      logger: pino({ level: 'silent' }),
      box,
      webhookTargets: { allowLoopback: true, allowPrivate: false },
      prefix: workersPrefix,
      discord: { token: fake.botToken, apiUrl: `${fake.url}/api` },
      storage: mapStorage(objects),
      ticketPages,
      schedulers: false,
      relay: { pollMs: 100 },
      ...(opts.clock ? { clock: opts.clock } : {}),
      stopGraceMs: 500,
    });
    h.workers = rt;
    return rt;
  };
  const h: Harness = {
    db,
    fake,
    redis,
    bot,
    org,
    guild,
    category,
    users: { owner, moderator, agent, player, other },
    objects,
    box,
    ticketPages,
    startWorkers,
    async close() {
      await h.workers?.stop();
      await bot.stop(2000);
      await fake.close();
      redis.disconnect();
      await db.drop();
    },
  };
  if (opts.workers) await startWorkers();
  return h;
}

export interface Answer {
  type: number;
  /** The final ephemeral text (deferred replies: the edit of @original). */
  content: string;
  data: unknown;
}

/** Sends an interaction and resolves with its final answer: the reply, the modal, or the deferred edit. */
export async function interact(
  h: Harness,
  input: InteractionInput,
): Promise<Answer & { handle: InteractionHandle }> {
  const handle = h.fake.sendInteraction(input);
  return { ...(await answerOf(h, handle)), handle };
}

export async function answerOf(h: Harness, handle: InteractionHandle): Promise<Answer> {
  const first = await handle.response;
  if (!first) throw new Error('the interaction was not acknowledged in time');
  if (first.type !== 5) {
    const data = first.data as { content?: string } | undefined;
    return { type: first.type, content: data?.content ?? '', data: first.data };
  }
  const edit = await h.fake.waitForRequest(
    { method: 'PATCH', path: `/webhooks/${h.fake.applicationId}/${handle.token}/messages/@original` },
    15_000,
  );
  const body = edit.body as { content?: string };
  return { type: 5, content: body.content ?? '', data: edit.body };
}

/** Opens a ticket as the player through the panel button and the category's form. */
export async function openThroughPanel(
  h: Harness,
  fields: Record<string, string> = { summary: 'The game crashes on start', steps: 'Launch it' },
  userId = h.users.player,
) {
  const channelId = h.guild.channels['support'] ?? '';
  const click = await interact(h, {
    kind: 'button',
    guildId: h.guild.id,
    channelId,
    userId,
    customId: `gm:open:${h.category.id}`,
  });
  const submit = await interact(h, {
    kind: 'modalSubmit',
    guildId: h.guild.id,
    channelId,
    userId,
    customId: `gm:form:${h.category.id}`,
    fields,
  });
  return { click, submit };
}

/** The org's ticket (tests that open one) and its Discord thread or channel. */
export async function theTicket(h: Harness): Promise<{ ticketId: string; thread: string }> {
  const r = await h.db.admin.query<{ id: string; discord_channel_id: string }>(
    'select id, discord_channel_id from tickets where org_id = $1',
    [h.org.orgId],
  );
  const row = r.rows[0];
  if (!row) throw new Error('no ticket in the org');
  return { ticketId: row.id, thread: row.discord_channel_id };
}

/** Resolves once the bot's handlers settled on everything dispatched so far (message sync is async). */
export async function settle(_h: Harness, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not reached in time');
}

/**
 * Runs a new mirror's backfill now instead of after its delay. The workers hold it back
 * MIRROR_BACKFILL_DELAY_MS (checked here) so that every bot process has dropped its cached list of
 * the org's mirrors by then; this drops the harness bot's list itself and promotes the delayed
 * job, which is the same state 6 s sooner.
 */
export async function backfillNow(h: Harness, mirrorId: string): Promise<void> {
  const queue = h.workers?.queues.get('discord');
  if (!queue) throw new Error('backfillNow needs the harness started with workers: true');
  const find = async () =>
    (await queue.getDelayed()).find(
      (j) => j.name === 'discord.mirror_backfill' && j.data.mirrorId === mirrorId,
    );
  await settle(h, async () => Boolean(await find()));
  const job = await find();
  if (job?.opts.delay !== MIRROR_BACKFILL_DELAY_MS)
    throw new Error(`the backfill was held back ${job?.opts.delay} ms, not ${MIRROR_BACKFILL_DELAY_MS} ms`);
  h.bot.deps.mirrors.delete(h.org.orgId);
  // Under load the delay may have run out meanwhile: then the job is on its way already.
  await job.promote().catch(async (err: unknown) => {
    if (await job.isDelayed()) throw err;
  });
}
