import { ChannelType, PermissionFlagsBits } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, startTestApi, type TestApi } from '../api/support.js';
import { backfillNow, type Harness, settle, startHarness } from '../bot/harness.js';

/**
 * A mirror started through the API, with the real workers against the fake Discord: the backfill
 * of the last 100 messages (oldest first, once, through a 429), a channel the bot cannot read
 * recorded with what it lacks, removal and re-adding, and the panel's "create ticket" action.
 */

let h: Harness;
let api: TestApi;
let owner: Caller;
let announcements: string;
let bugs: string;
const posted: string[] = [];

const base = () => `/v1/orgs/${h.org.orgId}/discord-mirrors`;

function channel(name: string): string {
  const c = h.fake.state.createChannel(h.guild.id, { name, type: ChannelType.GuildText });
  h.fake.dispatch(h.guild.id, 'CHANNEL_CREATE', h.fake.state.channelPayload(c));
  return c.id;
}

const mirrorRow = async (id: string) =>
  (await h.db.admin.query('select * from discord_mirrors where id = $1', [id])).rows[0];

beforeAll(async () => {
  h = await startHarness({ workers: true });
  api = await startTestApi(h.db.app);
  owner = await api.sessionFor(h.org.ownerId);
  announcements = channel('announcements');
  // Written before the mirror: the bot never saw them, only the backfill can bring them in.
  const c = h.fake.state.channels.get(announcements);
  const author = h.fake.state.users.get(h.users.moderator);
  if (!c || !author) throw new Error('seed');
  for (let i = 1; i <= 130; i++) posted.push(h.fake.state.addMessage(c, { author, content: `news ${i}` }).id);
}, 60_000);

afterAll(async () => {
  await api?.close();
  await h?.close();
});

describe('discord.mirror_backfill', () => {
  it('copies the last 100 messages, oldest first, through a rate limit, once', async () => {
    h.fake.rateLimitNext({ method: 'GET', path: `/channels/${announcements}/messages` }, 1, { count: 1 });
    const res = await api.call(owner, {
      method: 'POST',
      url: base(),
      payload: { guildId: h.guild.id, discordChannelId: announcements, name: 'announcements' },
    });
    expect(res.statusCode).toBe(201);
    const mirror = res.json();
    expect(mirror).toMatchObject({ backfillState: 'pending', name: 'announcements' });
    await backfillNow(h, mirror.id);
    await settle(h, async () => (await mirrorRow(mirror.id)).backfill_state === 'done', 20_000);
    expect((await mirrorRow(mirror.id)).backfilled_count).toBe(100);
    const rows = await h.db.admin.query(
      // Seeded in one loop, many share a millisecond: Discord's own order is the id's.
      'select external_id, body, author_type, created_at from messages where channel_id = $1 order by created_at, external_id::numeric',
      [mirror.channelId],
    );
    expect(rows.rows.map((r) => r.external_id)).toEqual(posted.slice(30));
    expect(rows.rows[0]).toMatchObject({ body: 'news 31' });
    // Each keeps the time it was written on Discord, not the time of the copy.
    const seeded = h.fake.state.messages.get(announcements)?.get(posted[30] ?? '');
    expect(rows.rows[0].created_at.toISOString()).toBe(new Date(seeded?.timestamp ?? 0).toISOString());
    // Discord answered the first list with a 429; the shared REST client waited and asked again.
    expect(
      h.fake.requests({ method: 'GET', path: `/channels/${announcements}/messages` }).map((r) => r.status),
    ).toEqual([429, 200]);
    // A replay of the job adds nothing.
    await h.workers?.queues.enqueue(
      'discord.mirror_backfill',
      { orgId: h.org.orgId, mirrorId: mirror.id },
      { jobId: 'mb-replay' },
    );
    await settle(h, async () => (await mirrorRow(mirror.id)).backfilled_count === 0, 10_000);
    const again = await h.db.admin.query('select count(*)::int as n from messages where channel_id = $1', [
      mirror.channelId,
    ]);
    expect(again.rows[0].n).toBe(100);
    // Read-only: the inbox refuses a post into a mirrored conversation.
    const post = await api.call(owner, {
      method: 'POST',
      url: `/v1/orgs/${h.org.orgId}/channels/${mirror.channelId}/messages`,
      payload: { body: 'hello from the panel' },
    });
    expect(post.statusCode).toBe(400);
    expect(post.json().error.message).toMatch(/read-only/);
    const list = await api.call(owner, { method: 'GET', url: base() });
    expect(list.json().mirrors).toEqual([expect.objectContaining({ id: mirror.id, backfillState: 'done' })]);
  });

  it('refuses a second mirror of a channel and a channel of a server the org did not link', async () => {
    const dup = await api.call(owner, {
      method: 'POST',
      url: base(),
      payload: { guildId: h.guild.id, discordChannelId: announcements },
    });
    expect(dup.statusCode).toBe(409);
    const foreign = await api.call(owner, {
      method: 'POST',
      url: base(),
      payload: { guildId: '123456789012345678', discordChannelId: '123456789012345679' },
    });
    expect(foreign.statusCode).toBe(404);
  });

  it('records a channel the bot cannot read with what it needs, and copies nothing', async () => {
    const secret = channel('leads');
    const c = h.fake.state.channels.get(secret);
    const author = h.fake.state.users.get(h.users.moderator);
    if (!c || !author) throw new Error('seed');
    h.fake.state.addMessage(c, { author, content: 'private plans' });
    const botRole = [...(h.fake.state.guilds.get(h.guild.id)?.roles.values() ?? [])].find(
      (r) => r.managed,
    )?.id;
    h.fake.updateChannel(secret, {
      permission_overwrites: [
        { id: botRole ?? '', type: 0, allow: '0', deny: String(PermissionFlagsBits.ReadMessageHistory) },
      ],
    });
    const res = await api.call(owner, {
      method: 'POST',
      url: base(),
      payload: { guildId: h.guild.id, discordChannelId: secret },
    });
    const mirror = res.json();
    await backfillNow(h, mirror.id);
    await settle(h, async () => (await mirrorRow(mirror.id)).backfill_state === 'refused', 20_000);
    expect((await mirrorRow(mirror.id)).backfill_problem).toBe(
      `GameMod's bot cannot read <#${secret}>: it needs View Channel and Read Message History there. A server admin can give them to its role or in the channel's permissions; then press Try again next to the mirror in the panel's Discord settings.`,
    );
    const n = await h.db.admin.query('select count(*)::int as n from messages where channel_id = $1', [
      mirror.channelId,
    ]);
    expect(n.rows[0].n).toBe(0);
  });

  it('asked again once the bot can read the channel, copies what it could not (audited, one at a time)', async () => {
    const refused = (await api.call(owner, { method: 'GET', url: base() }))
      .json()
      .mirrors.find((m: { backfillState: string }) => m.backfillState === 'refused');
    h.fake.updateChannel(refused.discordChannelId, { permission_overwrites: [] });
    const url = `${base()}/${refused.id}/backfill`;
    // Two at once: the second finds the first's backfill waiting.
    const both = await Promise.all([
      api.call(owner, { method: 'POST', url }),
      api.call(owner, { method: 'POST', url }),
    ]);
    expect(both.map((r) => r.statusCode).sort()).toEqual([202, 409]);
    const accepted = both.find((r) => r.statusCode === 202)?.json();
    expect(accepted).toMatchObject({ id: refused.id, backfillState: 'pending', backfillProblem: null });
    await settle(h, async () => (await mirrorRow(refused.id)).backfill_state === 'done', 20_000);
    expect((await mirrorRow(refused.id)).backfilled_count).toBe(1);
    const copied = await h.db.admin.query('select body from messages where channel_id = $1', [
      refused.channelId,
    ]);
    expect(copied.rows).toEqual([{ body: 'private plans' }]);
    const audit = await h.db.admin.query(
      "select count(*)::int as n from audit_logs where org_id = $1 and action = 'discord_mirror.backfill_requested'",
      [h.org.orgId],
    );
    expect(audit.rows[0].n).toBe(1);
    const gone = await api.call(owner, { method: 'POST', url: `${base()}/${crypto.randomUUID()}/backfill` });
    expect(gone.statusCode).toBe(404);
  });

  it('copies the threads too: active and recently archived public ones, each into its conversation, never a ticket’s', async () => {
    bugs = channel('bug-reports');
    const parent = h.fake.state.channels.get(bugs);
    const author = h.fake.state.users.get(h.users.moderator);
    if (!parent || !author) throw new Error('seed');
    h.fake.state.addMessage(parent, { author, content: 'report your bugs in threads' });
    const thread = (name: string, type: number) => {
      const t = h.fake.state.createThread(parent, { name, type, ownerId: h.users.moderator });
      h.fake.state.addMessage(t, { author, content: `${name}: first` });
      h.fake.state.addMessage(t, { author, content: `${name}: second` });
      return t;
    };
    thread('crash on start', ChannelType.PublicThread);
    const old = thread('old lag', ChannelType.PublicThread);
    if (old.thread_metadata) old.thread_metadata.archived = true;
    // Private: the bot sees it (it holds Manage Threads), as the live mirror does.
    thread('moderators only', ChannelType.PrivateThread);
    // A ticket's thread under the mirrored channel is the ticket's conversation, not copied again.
    const ticketThread = thread('ticket 0042', ChannelType.PrivateThread);
    const opened = await api.call(owner, {
      method: 'POST',
      url: `/v1/orgs/${h.org.orgId}/tickets`,
      payload: { subject: 'Crash on start', origin: 'panel' },
    });
    expect(opened.statusCode, opened.body).toBe(201);
    await h.db.admin.query('update tickets set discord_channel_id = $2 where id = $1', [
      opened.json().id,
      ticketThread.id,
    ]);
    const res = await api.call(owner, {
      method: 'POST',
      url: base(),
      payload: { guildId: h.guild.id, discordChannelId: bugs, name: 'bug-reports' },
    });
    const mirror = res.json();
    await backfillNow(h, mirror.id);
    await settle(h, async () => (await mirrorRow(mirror.id)).backfill_state === 'done', 20_000);
    expect((await mirrorRow(mirror.id)).backfilled_count).toBe(7);
    const conversations = await h.db.admin.query(
      `select c.name, array_agg(m.body order by m.created_at, m.external_id::numeric) as bodies
         from message_channels c join messages m on m.channel_id = c.id
        where c.org_id = $1 and c.discord_mirror_id = $2 group by c.id, c.name order by c.name`,
      [h.org.orgId, mirror.id],
    );
    expect(conversations.rows).toEqual([
      { name: 'bug-reports', bodies: ['report your bugs in threads'] },
      { name: 'crash on start', bodies: ['crash on start: first', 'crash on start: second'] },
      { name: 'moderators only', bodies: ['moderators only: first', 'moderators only: second'] },
      { name: 'old lag', bodies: ['old lag: first', 'old lag: second'] },
    ]);
    // Read-only still: nothing was posted to Discord for any of it.
    expect(h.fake.requests({ method: 'POST' }).filter((r) => r.path.includes(bugs))).toEqual([]);
  });

  it('the inbox lists a thread under its channel, and shows messages by name with their files', async () => {
    const list = await api.call(owner, {
      method: 'GET',
      url: `/v1/orgs/${h.org.orgId}/channels?kind=discord_mirror`,
    });
    const channels = list.json().channels as Array<{
      id: string;
      name: string;
      mirrorId: string;
      threadOf: string;
    }>;
    const main = channels.find((c) => c.name === 'bug-reports');
    const crash = channels.find((c) => c.name === 'crash on start');
    expect(main).toMatchObject({ threadOf: null, archivedAt: null, mirrorId: expect.any(String) });
    expect(crash).toMatchObject({ threadOf: main?.id, mirrorId: main?.mirrorId });
    const m = h.fake.userMessage(bugs, h.users.player, 'see the screenshot', {
      attachments: [{ filename: 'bug.png', size: 64, contentType: 'image/png' }],
    });
    await settle(
      h,
      async () =>
        (await h.db.admin.query('select 1 from messages where external_id = $1', [m.id])).rowCount === 1,
    );
    const page = await api.call(owner, {
      method: 'GET',
      url: `/v1/orgs/${h.org.orgId}/channels/${main?.id}/messages`,
    });
    expect(page.statusCode, page.body).toBe(200);
    const messages = page.json().messages;
    const player = h.fake.state.users.get(h.users.player);
    expect(messages.at(-1)).toMatchObject({
      body: 'see the screenshot',
      authorType: 'player',
      authorName: player?.global_name ?? player?.username,
      attachments: [
        expect.objectContaining({ filename: 'bug.png', contentType: 'image/png', url: expect.any(String) }),
      ],
    });
    expect(messages[0]).toMatchObject({ body: 'report your bugs in threads', attachments: [] });
    expect(typeof messages[0].authorName).toBe('string');
  });

  it('removing keeps the conversation archived; adding again reuses it without duplicates', async () => {
    const [first] = (await api.call(owner, { method: 'GET', url: base() })).json().mirrors;
    const del = await api.call(owner, { method: 'DELETE', url: `${base()}/${first.id}` });
    expect(del.statusCode).toBe(200);
    const archived = await h.db.admin.query('select archived_at from message_channels where id = $1', [
      first.channelId,
    ]);
    expect(archived.rows[0].archived_at).not.toBeNull();
    const res = await api.call(owner, {
      method: 'POST',
      url: base(),
      payload: { guildId: h.guild.id, discordChannelId: announcements },
    });
    const back = res.json();
    expect(back.channelId).toBe(first.channelId);
    await backfillNow(h, back.id);
    await settle(h, async () => (await mirrorRow(back.id)).backfill_state === 'done', 20_000);
    expect((await mirrorRow(back.id)).backfilled_count).toBe(0);
    const audit = await h.db.admin.query(
      "select action from audit_logs where org_id = $1 and action like 'discord_mirror.%' order by id",
      [h.org.orgId],
    );
    expect(audit.rows.map((r) => r.action)).toEqual([
      'discord_mirror.created',
      'discord_mirror.created',
      'discord_mirror.backfill_requested',
      'discord_mirror.created',
      'discord_mirror.removed',
      'discord_mirror.created',
    ]);
  });

  it('the panel action opens one ticket from a mirrored message, whoever asks again', async () => {
    const msg = await h.db.admin.query('select id from messages where external_id = $1', [posted.at(-1)]);
    const url = `/v1/orgs/${h.org.orgId}/messages/${msg.rows[0].id}/ticket`;
    const first = await api.call(owner, { method: 'POST', url });
    expect(first.statusCode).toBe(201);
    // Number 2: the threads' test opened number 1.
    expect(first.json()).toMatchObject({ number: 2, created: true });
    const second = await api.call(owner, { method: 'POST', url });
    expect(second.statusCode).toBe(200);
    expect(second.json()).toEqual({ ...first.json(), created: false });
    const t = await h.db.admin.query(
      `select t.subject, (select body from messages where ticket_id = t.id) as body from tickets t
        where t.org_id = $1 and t.number = 2`,
      [h.org.orgId],
    );
    expect(t.rows).toEqual([
      {
        subject: '#announcements: news 130',
        body: `news 130\n\n(from Discord: https://discord.com/channels/${h.guild.id}/${announcements}/${posted.at(-1)})`,
      },
    ]);
    // A ticket made from a mirrored message has no Discord side: nothing was posted anywhere.
    expect(h.fake.requests({ method: 'POST' }).filter((r) => r.path.includes(announcements))).toEqual([]);
  });
});
