import {
  ActionRowBuilder,
  type BaseInteraction,
  ChannelType,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  type Interaction,
  ModalBuilder,
  Routes,
  TextInputBuilder,
  TextInputStyle,
} from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type FakeDiscord,
  type SeededGuild,
  shardOf,
  startFakeDiscord,
} from '../support/fake-discord/index.js';

const DEADLINE_MS = 1000;

let fake: FakeDiscord;
let alpha: SeededGuild;
let beta: SeededGuild;
let playerId: string;
const clients: Client[] = [];

function newClient(extra: { shards?: number[]; shardCount?: number } = {}): Client {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages],
    rest: { api: `${fake.url}/api`, offset: 0 },
    ...extra,
  });
  clients.push(client);
  return client;
}

async function login(extra: { shards?: number[]; shardCount?: number } = {}): Promise<Client> {
  const client = newClient(extra);
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(fake.botToken);
  await ready;
  return client;
}

function nextInteraction(client: Client): Promise<Interaction> {
  return new Promise((resolve) => client.once(Events.InteractionCreate, resolve));
}

beforeAll(async () => {
  fake = await startFakeDiscord({
    interactionDeadlineMs: DEADLINE_MS,
    sessionStartLimit: { max_concurrency: 2 },
  });
  playerId = fake.addUser({ username: 'player1' }).id;
  alpha = fake.addGuild({
    name: 'Alpha Studio',
    shard: [0, 2],
    roles: [{ name: 'Moderator', permissions: '8192' }],
    channels: [
      { name: 'Support', type: ChannelType.GuildCategory },
      { name: 'tickets', parent: 'Support' },
      { name: 'help-forum', type: ChannelType.GuildForum, parent: 'Support' },
    ],
    members: [playerId],
  });
  beta = fake.addGuild({ name: 'Beta Games', shard: [1, 2], channels: [{ name: 'general' }] });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});

afterAll(async () => {
  await fake.close();
});

describe('gateway', () => {
  it('logs in to clientReady with both guilds, their channels, roles and the bot member', async () => {
    const client = await login();
    expect(client.user?.id).toBe(fake.applicationId);
    expect(client.guilds.cache.map((g) => g.id).sort()).toEqual([alpha.id, beta.id].sort());
    const guild = client.guilds.cache.get(alpha.id);
    expect(guild?.available).toBe(true);
    expect(guild?.roles.everyone.id).toBe(alpha.id);
    expect(guild?.members.me?.id).toBe(fake.applicationId);
    const tickets = guild?.channels.cache.get(alpha.channels['tickets'] ?? '');
    expect(tickets?.type).toBe(ChannelType.GuildText);
    expect(tickets?.parentId).toBe(alpha.channels['Support']);
    const identify = fake.frames({ direction: 'in', op: 2 }).at(-1);
    expect(identify?.d).toMatchObject({ token: fake.botToken, shard: [0, 1] });
    expect(fake.requests({ method: 'GET', path: '/gateway/bot' }).length).toBeGreaterThan(0);
  });

  it('routes guilds to their shard when the client runs two shards', async () => {
    const before = fake.sessionStarts.length;
    const framesBefore = fake.log.frames.length;
    const client = await login({ shards: [0, 1], shardCount: 2 });
    expect(shardOf(alpha.id, 2)).toBe(0);
    expect(shardOf(beta.id, 2)).toBe(1);
    expect(client.guilds.cache.get(alpha.id)?.shardId).toBe(0);
    expect(client.guilds.cache.get(beta.id)?.shardId).toBe(1);
    const created = (shardId: number) =>
      fake.log.frames
        .slice(framesBefore)
        .filter((f) => f.shardId === shardId && f.direction === 'out' && f.t === 'GUILD_CREATE')
        .map((f) => (f.d as { id: string }).id);
    expect(created(0)).toContain(alpha.id);
    expect(created(0)).not.toContain(beta.id);
    expect(created(1)).toEqual([beta.id]);
    const starts = fake.sessionStarts.slice(before);
    expect(starts.map((s) => s.shardId).sort()).toEqual([0, 1]);
    expect(starts.every((s) => s.shardCount === 2)).toBe(true);
    // max_concurrency 2 puts shards 0 and 1 in different buckets, so both start at once.
    const [a, b] = starts;
    expect(Math.abs((a?.at ?? 0) - (b?.at ?? 0))).toBeLessThan(5000);
  });

  it('resumes after op 7 and keeps receiving events', async () => {
    const client = await login();
    const resumeFrame = fake.waitForFrame((f) => f.direction === 'in' && f.op === 6);
    const resumed = fake.waitForFrame((f) => f.direction === 'out' && f.t === 'RESUMED');
    const identifiesBefore = fake.frames({ direction: 'in', op: 2 }).length;
    fake.reconnectShard(0);
    const op6 = await resumeFrame;
    await resumed;
    expect(op6.d).toMatchObject({ token: fake.botToken });
    expect(fake.frames({ direction: 'in', op: 2 }).length).toBe(identifiesBefore);
    const got = new Promise<string>((resolve) =>
      client.once(Events.MessageCreate, (m) => resolve(m.channelId)),
    );
    fake.userMessage(alpha.channels['tickets'] ?? '', playerId, 'still there?');
    expect(await got).toBe(alpha.channels['tickets']);
  });

  it('identifies again after a non-resumable op 9, and resumes after a resumable one', async () => {
    const client = await login();
    const identifiesBefore = fake.frames({ direction: 'in', op: 2 }).length;
    const resumesBefore = fake.frames({ direction: 'in', op: 6 }).length;
    // The client waits out its identify window (5 s per max_concurrency bucket) before the new
    // IDENTIFY, so these wait longer than the default.
    const reidentified = fake.waitForFrame((f) => f.direction === 'in' && f.op === 2, 15_000);
    const ready = fake.waitForFrame((f) => f.direction === 'out' && f.t === 'READY', 15_000);
    fake.invalidateSession(0, false);
    await reidentified;
    // The new session serves events like the first one.
    await ready;
    expect(fake.frames({ direction: 'in', op: 6 }).length).toBe(resumesBefore);
    const got = new Promise<string>((resolve) =>
      client.once(Events.MessageCreate, (m) => resolve(m.channelId)),
    );
    fake.userMessage(alpha.channels['tickets'] ?? '', playerId, 'after op 9');
    expect(await got).toBe(alpha.channels['tickets']);

    const resumed = fake.waitForFrame((f) => f.direction === 'out' && f.t === 'RESUMED');
    fake.invalidateSession(0, true);
    await resumed;
    expect(fake.frames({ direction: 'in', op: 2 }).length).toBe(identifiesBefore + 1);
  });
});

describe('interactions', () => {
  let client: Client;

  beforeAll(async () => {
    client = new Client({
      intents: [GatewayIntentBits.Guilds],
      rest: { api: `${fake.url}/api`, offset: 0 },
    });
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login(fake.botToken);
    await ready;
  });

  afterAll(async () => {
    await client.destroy();
  });

  /** A chat input command from the player in Alpha's tickets channel, as the client receives it. */
  async function command(name: string) {
    const received = nextInteraction(client);
    const handle = fake.sendInteraction({
      kind: 'chatInput',
      name,
      guildId: alpha.id,
      channelId: alpha.channels['tickets'] ?? '',
      userId: playerId,
    });
    const interaction = await received;
    if (!interaction.isChatInputCommand()) throw new Error('expected a chat input command');
    return { handle, interaction };
  }

  it('delivers a slash command and records the reply and the time to ack', async () => {
    const received = nextInteraction(client);
    const handle = fake.sendInteraction({
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'open',
      options: [{ name: 'subject', value: 'Cannot log in' }],
      guildId: alpha.id,
      channelId: alpha.channels['tickets'] ?? '',
      userId: playerId,
    });
    const interaction = await received;
    if (!interaction.isChatInputCommand()) throw new Error('expected a chat input command');
    expect(interaction.options.getSubcommand()).toBe('open');
    expect(interaction.user.id).toBe(playerId);
    await interaction.reply({ content: `Opened: ${interaction.options.getString('subject', true)}` });
    const response = await handle.response;
    expect(response?.type).toBe(4);
    expect(response?.data).toMatchObject({ content: 'Opened: Cannot log in' });
    expect(response?.ackMs).toBeGreaterThanOrEqual(0);
    expect(response?.ackMs).toBeLessThan(DEADLINE_MS);
    const callback = await fake.waitForRequest({
      method: 'POST',
      path: `/interactions/${handle.id}/${handle.token}/callback`,
    });
    expect(callback.status).toBe(204);
    expect(callback.headers.authorization).toBeUndefined();
  });

  it('defers, then edits @original', async () => {
    const { handle, interaction } = await command('stats');
    await interaction.deferReply({ flags: 64 });
    expect((await handle.response)?.type).toBe(5);
    const edited = await interaction.editReply('3 open tickets');
    expect(edited.content).toBe('3 open tickets');
    const patch = await fake.waitForRequest({
      method: 'PATCH',
      route: '/webhooks/:webhook_id/:webhook_token/messages/:message_id',
    });
    expect(patch.path).toContain('%40original');
    expect(patch.status).toBe(200);
    const stored = fake.state.messages.get(alpha.channels['tickets'] ?? '')?.get(edited.id);
    expect(stored?.content).toBe('3 open tickets');
    expect((stored?.flags ?? 0) & 128).toBe(0);
    expect((stored?.flags ?? 0) & 64).toBe(64);
  });

  it('opens a modal from a button and receives its submission', async () => {
    const channelId = alpha.channels['tickets'] ?? '';
    const button = nextInteraction(client);
    const clickHandle = fake.sendInteraction({
      kind: 'button',
      customId: 'ticket:close',
      guildId: alpha.id,
      channelId,
      userId: playerId,
    });
    const click = await button;
    if (!click.isButton()) throw new Error('expected a button');
    expect(click.message.id).toBe(clickHandle.record.componentMessageId);
    await click.showModal(
      new ModalBuilder()
        .setCustomId('ticket:close-reason')
        .setTitle('Close ticket')
        .addComponents(
          new ActionRowBuilder<TextInputBuilder>().addComponents(
            new TextInputBuilder()
              .setCustomId('reason')
              .setLabel('Reason')
              .setStyle(TextInputStyle.Paragraph),
          ),
        ),
    );
    const shown = await clickHandle.response;
    expect(shown?.type).toBe(9);
    expect(shown?.data).toMatchObject({ custom_id: 'ticket:close-reason' });

    const modal = nextInteraction(client);
    const submitHandle = fake.sendInteraction({
      kind: 'modalSubmit',
      customId: 'ticket:close-reason',
      fields: { reason: 'Solved by patch 1.2' },
      guildId: alpha.id,
      channelId,
      userId: playerId,
    });
    const submit = await modal;
    if (!submit.isModalSubmit()) throw new Error('expected a modal submit');
    await submit.reply({ content: `Closed: ${submit.fields.getTextInputValue('reason')}` });
    expect((await submitHandle.response)?.data).toMatchObject({ content: 'Closed: Solved by patch 1.2' });
  });

  it('rejects a second acknowledgement with 40060', async () => {
    // Two handlers race on the same interaction: one wins, the other gets Discord's error.
    const both = new Promise<PromiseSettledResult<unknown>[]>((resolve) => {
      client.once(Events.InteractionCreate, (i: BaseInteraction) => {
        if (!i.isRepliable()) return;
        void Promise.allSettled([i.reply('first'), i.reply('second')]).then(resolve);
      });
    });
    const handle = fake.sendInteraction({
      kind: 'chatInput',
      name: 'ping',
      guildId: alpha.id,
      channelId: alpha.channels['tickets'] ?? '',
      userId: playerId,
    });
    const results = await both;
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    const error = rejected[0]?.reason as unknown;
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).code).toBe(40060);
    expect((error as DiscordAPIError).status).toBe(400);
    expect(handle.record.rejectedCallbacks).toEqual([expect.objectContaining({ code: 40060 })]);
  });

  it('refuses a callback after the deadline with 10062', async () => {
    const { handle, interaction } = await command('slow');
    expect(await handle.response).toBeNull();
    const error = await interaction.reply('too late').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).code).toBe(10062);
    expect((error as DiscordAPIError).status).toBe(404);
  });

  it('double-acks through the REST client directly with Discord’s error body', async () => {
    const received = nextInteraction(client);
    const handle = fake.sendInteraction({
      kind: 'chatInput',
      name: 'ping',
      guildId: beta.id,
      channelId: beta.channels['general'] ?? '',
      userId: fake.state.guilds.get(beta.id)?.owner_id ?? '',
    });
    const interaction = await received;
    if (!interaction.isChatInputCommand()) throw new Error('expected a chat input command');
    await interaction.deferReply();
    const error = await client.rest
      .post(Routes.interactionCallback(handle.id, handle.token), {
        body: { type: 4, data: { content: 'x' } },
        auth: false,
      })
      .catch((e: unknown) => e);
    expect((error as DiscordAPIError).rawError).toEqual({
      code: 40060,
      message: 'Interaction has already been acknowledged.',
    });
  });
});

describe('REST through discord.js', () => {
  it('creates a private thread and adds a member', async () => {
    const client = await login();
    const channel = await client.channels.fetch(alpha.channels['tickets'] ?? '');
    if (channel?.type !== ChannelType.GuildText) throw new Error('expected a text channel');
    const threadCreate = fake.waitForFrame((f) => f.t === 'THREAD_CREATE');
    const thread = await channel.threads.create({
      name: 'ticket-0001',
      type: ChannelType.PrivateThread,
      invitable: false,
      reason: 'ticket opened',
    });
    expect(thread.type).toBe(ChannelType.PrivateThread);
    expect(thread.parentId).toBe(channel.id);
    expect(thread.invitable).toBe(false);
    expect((await threadCreate).d).toMatchObject({ id: thread.id, newly_created: true });
    await thread.members.add(playerId);
    const put = await fake.waitForRequest({
      method: 'PUT',
      path: `/channels/${thread.id}/thread-members/${playerId}`,
    });
    expect(put.status).toBe(204);
    expect(fake.state.threadMembers.get(thread.id)?.has(playerId)).toBe(true);
    expect(fake.state.auditLog.some((a) => a.reason === 'ticket opened')).toBe(true);
  });

  it('rejects a 2,001-character message with 50035', async () => {
    const client = await login();
    const channel = await client.channels.fetch(alpha.channels['tickets'] ?? '');
    if (channel?.type !== ChannelType.GuildText) throw new Error('expected a text channel');
    const error = await channel.send('x'.repeat(2001)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordAPIError);
    const apiError = error as DiscordAPIError;
    expect(apiError.code).toBe(50035);
    expect(apiError.status).toBe(400);
    expect(apiError.rawError).toMatchObject({
      message: 'Invalid Form Body',
      errors: {
        content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 2000 or fewer in length.' }] },
      },
    });
    const ok = await channel.send('x'.repeat(2000));
    expect(ok.content).toHaveLength(2000);
  });

  it('answers a post repeated with an enforced nonce with the first message, and only then', async () => {
    const client = await login();
    const channel = await client.channels.fetch(alpha.channels['tickets'] ?? '');
    if (channel?.type !== ChannelType.GuildText) throw new Error('expected a text channel');
    const nonce = `n${Date.now().toString(36)}`;
    const first = await channel.send({ content: 'once', nonce, enforceNonce: true });
    const again = await channel.send({ content: 'once', nonce, enforceNonce: true });
    expect(again.id).toBe(first.id);
    expect(first.nonce).toBe(nonce);
    // Without enforce_nonce the nonce is only echoed: a second message is made.
    const loose = await channel.send({ content: 'twice', nonce });
    expect(loose.id).not.toBe(first.id);
    const stored = [...(fake.state.messages.get(channel.id)?.values() ?? [])];
    expect(stored.filter((m) => m.content === 'once')).toHaveLength(1);
    const long = await channel
      .send({ content: 'x', nonce: 'n'.repeat(26), enforceNonce: true })
      .catch((e: unknown) => e);
    expect(long).toBeInstanceOf(DiscordAPIError);
    expect((long as DiscordAPIError).code).toBe(50035);
  });

  it('honours Retry-After on a 429', async () => {
    const client = await login();
    const channelId = beta.channels['general'] ?? '';
    const channel = await client.channels.fetch(channelId);
    if (channel?.type !== ChannelType.GuildText) throw new Error('expected a text channel');
    const path = `/channels/${channelId}/messages`;
    fake.rateLimitNext(path, 0.4);
    const before = fake.requests({ method: 'POST', path }).length;
    const started = Date.now();
    const message = await channel.send('after the limit');
    const elapsed = Date.now() - started;
    expect(message.content).toBe('after the limit');
    const seen = fake.requests({ method: 'POST', path }).slice(before);
    expect(seen.map((r) => r.status)).toEqual([429, 200]);
    expect((seen[1]?.at ?? 0) - (seen[0]?.at ?? 0)).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeGreaterThanOrEqual(390);
  });
});

describe('Discord’s global limit and paged lists', () => {
  it('answers past the global limit with a global 429, and pages the bot’s servers by id', async () => {
    const get = (query: string) =>
      fetch(`${fake.url}/api/v10/users/@me/guilds?${query}`, {
        headers: { authorization: `Bot ${fake.botToken}` },
      });
    const ids = [alpha.id, beta.id].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    const first = (await (await get('limit=1')).json()) as { id: string }[];
    expect(first.map((g) => g.id)).toEqual(ids.slice(0, 1));
    const next = (await (await get(`limit=1&after=${ids[0]}`)).json()) as { id: string }[];
    expect(next.map((g) => g.id)).toEqual(ids.slice(1));
    expect((await get('limit=201')).status).toBe(400);

    fake.faults.globalPerSecond = 3;
    try {
      const answers = await Promise.all([1, 2, 3, 4].map(() => get('limit=1')));
      expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 200, 429]);
      const limited = answers.find((r) => r.status === 429);
      expect(limited?.headers.get('x-ratelimit-global')).toBe('true');
      expect(await limited?.json()).toMatchObject({ global: true });
      expect(fake.faults.globalRefusals).toBe(1);
    } finally {
      fake.faults.globalPerSecond = 0;
    }
  });
});
