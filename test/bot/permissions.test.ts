import { readFileSync } from 'node:fs';
import { PermissionFlagsBits as P } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOT_PERMISSIONS, INVITE_PERMISSIONS, REQUIRED_PERMISSIONS } from '../../bot/permissions.js';
import { ticketChannelName, ticketThreadName } from '../../lib/discord/names.js';
import { snowflake } from '../support/fake-discord/index.js';
import { type Harness, interact, openThroughPanel, startHarness } from './harness.js';

// The bot holds exactly its documented permissions in these tests (test/bot/harness.ts). Each
// test takes one away where an admin would (a channel overwrite on the bot's role) and checks
// what the admin or player is told.

describe('the documented permission list', () => {
  it('is the invite link’s integer in docs/discord-app.md, never Administrator', () => {
    const doc = readFileSync(new URL('../../docs/discord-app.md', import.meta.url), 'utf8');
    const links = [...doc.matchAll(/permissions=(\d+)/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(0);
    for (const l of links) expect(l).toBe(INVITE_PERMISSIONS);
    expect(BOT_PERMISSIONS & P.Administrator).toBe(0n);
  });

  it('names every permission in docs/discord-app.md (with its reason) and bot/README.md', () => {
    const read = (path: string) =>
      readFileSync(new URL(path, import.meta.url), 'utf8')
        .replace(/\s+/g, ' ')
        .replace(/’/g, "'");
    const doc = read('../../docs/discord-app.md');
    const readme = read('../../bot/README.md');
    for (const p of REQUIRED_PERMISSIONS) {
      expect(doc).toContain(`| ${p.name} | ${p.why.replace(/’/g, "'")} |`);
      expect(readme).toContain(p.name);
    }
  });
});

describe('ticket names keep the player’s script', () => {
  it('threads and forum posts: only control characters go, at most 100 characters, no half emoji', () => {
    expect(ticketThreadName('Bug report', 'Пётр Иванов')).toBe('Bug report · Пётр Иванов');
    expect(ticketThreadName('バグ', '玩家一号 🎮')).toBe('バグ · 玩家一号 🎮');
    expect(ticketThreadName(null, 'line\none\ttab')).toBe('ticket · line one tab');
    const long = ticketThreadName('x'.repeat(97), '🎮🎮');
    expect(long.length).toBeLessThanOrEqual(100);
    expect(long).toBe('x'.repeat(97));
    // An emoji (two UTF-16 units) that does not fit whole is left out, never halved.
    expect(ticketThreadName('x'.repeat(95), '🎮🎮')).toBe(`${'x'.repeat(95)} · 🎮`);
  });

  it('dedicated channels: lower case and dashes like Discord’s own, letters of any script kept', () => {
    expect(ticketChannelName('Payments', 'Пётр Иванов')).toBe('payments-пётр-иванов');
    expect(ticketChannelName('Payments', '!!!')).toBe('payments');
    expect(ticketChannelName('支付', '玩家')).toBe('支付-玩家');
    expect(ticketChannelName('a'.repeat(120), 'b').length).toBeLessThanOrEqual(100);
  });
});

describe('against the strict fake Discord', () => {
  let h: Harness;
  const ch = (name: string) => h.guild.channels[name] ?? '';
  const denyBot = (channelId: string, deny: bigint) =>
    h.fake.updateChannel(channelId, {
      permission_overwrites: [{ id: h.guild.botRoleId, type: 0, allow: '0', deny: String(deny) }],
    });
  const setup = (subcommand: string, options: { name: string; value: string; type?: number }[]) =>
    interact(h, {
      kind: 'chatInput',
      name: 'setup',
      subcommand,
      guildId: h.guild.id,
      channelId: ch('support'),
      userId: h.users.owner,
      options,
    });
  const ticketCount = async () =>
    Number(
      (await h.db.admin.query('select count(*)::int as n from tickets where org_id = $1', [h.org.orgId]))
        .rows[0].n,
    );

  beforeAll(async () => {
    h = await startHarness();
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('a permission missing when a ticket opens is named to the player, and nothing is recorded', async () => {
    denyBot(ch('support'), P.CreatePrivateThreads);
    const { submit } = await openThroughPanel(h);
    expect(submit.content).toMatch(
      new RegExp(
        `^I am missing the Discord permission \\*\\*Create Private Threads\\*\\* in <#${ch('support')}>\\.`,
      ),
    );
    expect(await ticketCount()).toBe(0);
    h.fake.updateChannel(ch('support'), { permission_overwrites: [] });
  });

  it('a thread name keeps a non-Latin player name', async () => {
    const pyotr = h.fake.addUser({ username: 'pyotr', globalName: 'Пётр 🎮' }).id;
    h.fake.addMember(h.guild.id, pyotr);
    const { submit } = await openThroughPanel(h, { summary: 'Вылет при запуске' }, pyotr);
    expect(submit.content).toMatch(/^Your ticket #\d+ is open/);
    const thread = [...h.fake.state.channels.values()].find((c) => c.owner_id && c.name.includes('Пётр'));
    expect(thread?.name).toBe('Bug report · Пётр 🎮');
  });

  it('/setup names exactly the permissions missing in the chosen channel and saves nothing', async () => {
    denyBot(ch('transcripts'), P.ManageThreads | P.ManageWebhooks);
    const refused = await setup('channels', [{ name: 'support', value: ch('transcripts'), type: 7 }]);
    expect(refused.content).toBe(
      `I am missing **Manage Threads** and **Manage Webhooks** in <#${ch('transcripts')}>. Give them to my role (or in that channel's permissions), then run this again. Nothing was saved.`,
    );
    const settings = await h.db.admin.query('select settings from discord_guilds where guild_id = $1', [
      h.guild.id,
    ]);
    expect(settings.rows[0].settings.supportChannelId).toBe(ch('support'));
    // Transcripts only need posting there.
    expect(
      (await setup('channels', [{ name: 'transcripts', value: ch('transcripts'), type: 7 }])).content,
    ).toBe('Channels saved.');
    h.fake.updateChannel(ch('transcripts'), { permission_overwrites: [] });

    // Channel mode: every permission the bot puts in a ticket channel's overwrites is needed too.
    denyBot(ch('Tickets'), P.ManageRoles | P.AddReactions);
    const chan = await setup('category', [
      { name: 'name', value: 'Payments' },
      { name: 'mode', value: 'channel' },
      { name: 'channel', value: ch('Tickets'), type: 7 },
    ]);
    expect(chan.content).toMatch(
      new RegExp(
        `^I am missing \\*\\*Manage Roles\\*\\* and \\*\\*Add Reactions\\*\\* in <#${ch('Tickets')}>\\.`,
      ),
    );
    h.fake.updateChannel(ch('Tickets'), { permission_overwrites: [] });
  });

  it('a forum that requires tags: /setup asks for one, posts get it, and a lost tag is explained', async () => {
    const forum = ch('help-forum');
    const tag = (name: string) => ({
      id: snowflake(),
      name,
      moderated: false,
      emoji_id: null,
      emoji_name: null,
    });
    const bug = tag('Bug');
    const question = tag('Question');
    h.fake.updateChannel(forum, { flags: 1 << 4, available_tags: [bug, question] });
    const asked = await setup('category', [
      { name: 'name', value: 'Bug report' },
      { name: 'mode', value: 'forum' },
      { name: 'channel', value: forum, type: 7 },
    ]);
    expect(asked.content).toBe(
      `<#${forum}> requires a tag on every post, so its tickets need one: add \`tag:\` with one of **Bug**, **Question**. Nothing was saved.`,
    );
    const unknown = await setup('category', [
      { name: 'name', value: 'Bug report' },
      { name: 'mode', value: 'forum' },
      { name: 'channel', value: forum, type: 7 },
      { name: 'tag', value: 'Crash' },
    ]);
    expect(unknown.content).toMatch(/has no tag “Crash”\. Its tags: \*\*Bug\*\*, \*\*Question\*\*\./);
    const saved = await setup('category', [
      { name: 'name', value: 'Bug report' },
      { name: 'mode', value: 'forum' },
      { name: 'channel', value: forum, type: 7 },
      { name: 'tag', value: 'question' },
    ]);
    expect(saved.content).toMatch(
      /^Category \*\*Bug report\*\* saved \(forum in .*\nNote: forum posts are public/,
    );

    const before = await ticketCount();
    const { submit } = await openThroughPanel(h, { summary: 'Tagged' }, h.users.other);
    expect(submit.content).toMatch(/^Your ticket #\d+ is open/);
    const post = [...h.fake.state.channels.values()].filter((c) => c.parent_id === forum).at(-1);
    expect(post?.applied_tags).toEqual([question.id]);

    // The tag deleted from the forum: Discord's 40067 becomes words an admin can act on.
    h.fake.updateChannel(forum, { available_tags: [bug] });
    const lost = await openThroughPanel(h, { summary: 'Untagged' }, h.users.other);
    expect(lost.submit.content).toBe(
      'This forum requires a tag on every post, and this ticket category has none. A server admin sets one with `/setup category name:<category> tag:<tag>`.',
    );
    expect(await ticketCount()).toBe(before + 1);

    // A forum tag named like the category is its natural default.
    const named = tag('Bug report');
    h.fake.updateChannel(forum, { available_tags: [bug, named] });
    expect((await openThroughPanel(h, { summary: 'Default tag' }, h.users.other)).submit.content).toMatch(
      /^Your ticket #\d+ is open/,
    );
    expect(
      [...h.fake.state.channels.values()].filter((c) => c.parent_id === forum).at(-1)?.applied_tags,
    ).toEqual([named.id]);
  });
});
