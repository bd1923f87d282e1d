import { ChannelType, PermissionFlagsBits } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuildLinkCode } from '../../db/guild-links.js';
import { withTenant } from '../../db/tenant.js';
import { READ_ONLY_EVERYONE, type SeededGuild } from '../support/fake-discord/index.js';
import { makeOrg } from '../support/fixtures.js';
import { type Harness, interact, settle, startHarness } from './harness.js';

let h: Harness;
let g: SeededGuild;
let owner: string;
let admin: string;
let member: string;

beforeAll(async () => {
  h = await startHarness({ workers: true });
  owner = h.fake.addUser({ username: 'newowner' }).id;
  admin = h.fake.addUser({ username: 'serveradmin' }).id;
  member = h.fake.addUser({ username: 'member' }).id;
  g = h.fake.addGuild({
    name: 'Beta Games',
    ownerId: owner,
    everyonePermissions: READ_ONLY_EVERYONE,
    roles: [{ name: 'Admins', permissions: String(1 << 5) }, { name: 'Helpers' }],
    channels: [
      { name: 'help' },
      { name: 'logs' },
      { name: 'forum', type: ChannelType.GuildForum },
      { name: 'Tickets A', type: ChannelType.GuildCategory },
      { name: 'Tickets B', type: ChannelType.GuildCategory },
    ],
    members: [admin, member],
  });
  h.fake.addMember(g.id, admin, [g.roles['Admins'] ?? '']);
  h.fake.addMember(g.id, member, [g.roles['Helpers'] ?? '']);
  await settle(h, async () => h.bot.client.guilds.cache.has(g.id));
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const setup = (
  userId: string,
  subcommand: string,
  options: { name: string; value: string | number; type?: number }[] = [],
) =>
  interact(h, {
    kind: 'chatInput',
    name: 'setup',
    subcommand,
    guildId: g.id,
    channelId: g.channels['help'] ?? '',
    userId,
    options,
  });

describe('/setup', () => {
  it('refuses non-admins and non-owners', async () => {
    expect((await setup(member, 'link', [{ name: 'code', value: 'GM-NOPE' }])).content).toBe(
      'Only server admins (Manage Server) can link this server.',
    );
    expect((await setup(admin, 'create')).content).toMatch(
      /^Only the server owner can create a new organization/,
    );
    expect((await setup(admin, 'link', [{ name: 'code', value: 'GM-NOPE' }])).content).toBe(
      'this link code is unknown, used or expired',
    );
  });

  it('the owner creates an org; admins then configure channels, roles, a forum category and limits', async () => {
    const created = await setup(owner, 'create');
    expect(created.content).toMatch(/^Created the GameMod organization \*\*Beta Games\*\*/);
    expect((await setup(owner, 'create')).content).toBe('this server is already linked to an organization');
    const orgId = (await h.db.admin.query('select org_id from discord_guilds where guild_id = $1', [g.id]))
      .rows[0].org_id;
    const role = await h.db.admin.query(
      `select r.key from memberships m join roles r on r.id = m.role_id join discord_accounts d on d.user_id = m.user_id
       where m.org_id = $1 and d.discord_user_id = $2`,
      [orgId, owner],
    );
    expect(role.rows).toEqual([{ key: 'owner' }]);
    expect(
      (
        await setup(admin, 'channels', [
          { name: 'support', value: g.channels['help'] ?? '', type: 7 },
          { name: 'transcripts', value: g.channels['logs'] ?? '', type: 7 },
        ])
      ).content,
    ).toBe('Channels saved.');
    expect(
      (await setup(member, 'channels', [{ name: 'alerts', value: g.channels['logs'] ?? '', type: 7 }]))
        .content,
    ).toMatch(/^You need Manage Server on Discord/);
    // Manage Server is enough for channels, not for handing out org roles: that needs a real
    // membership with roles.manage (the owner's, made by /setup create).
    expect(
      (
        await setup(admin, 'role', [
          { name: 'role', value: g.roles['Helpers'] ?? '', type: 8 },
          { name: 'as', value: 'agent' },
        ])
      ).content,
    ).toMatch(/^Mapping roles needs the `roles.manage` permission/);
    expect(
      (
        await setup(owner, 'role', [
          { name: 'role', value: g.roles['Helpers'] ?? '', type: 8 },
          { name: 'as', value: 'agent' },
        ])
      ).content,
    ).toBe(`<@&${g.roles['Helpers']}> now acts as **agent**.`);
    const wrong = await setup(admin, 'category', [
      { name: 'name', value: 'Appeals' },
      { name: 'mode', value: 'forum' },
      { name: 'channel', value: g.channels['help'] ?? '', type: 7 },
    ]);
    expect(wrong.content).toBe(`<#${g.channels['help']}> does not fit the forum mode: use a forum channel.`);
    const forum = await setup(admin, 'category', [
      { name: 'name', value: 'Appeals' },
      { name: 'mode', value: 'forum' },
      { name: 'channel', value: g.channels['forum'] ?? '', type: 7 },
    ]);
    expect(forum.content.split('\n')[0]).toBe(
      `Category **Appeals** saved (forum in <#${g.channels['forum']}>).`,
    );
    // Forum posts are public on Discord: /setup says so and points to private threads.
    expect(forum.content).toMatch(/\nNote: forum posts are public\..*mode:private thread/);
    const chan = await setup(admin, 'category', [
      { name: 'name', value: 'Payments' },
      { name: 'mode', value: 'channel' },
      { name: 'channel', value: g.channels['Tickets A'] ?? '', type: 7 },
      { name: 'overflow', value: g.channels['Tickets B'] ?? '', type: 7 },
    ]);
    expect(chan.content).toBe(`Category **Payments** saved (channel in <#${g.channels['Tickets A']}>).`);
    // Users see what is wrong, not internal field names.
    const bad = (await setup(admin, 'limits', [{ name: 'max_open', value: 0 }])).content;
    expect(bad).toMatch(/^That is not accepted: /);
    expect(bad).not.toMatch(/maxOpenPerPlayer/);
    expect(
      (
        await setup(admin, 'limits', [
          { name: 'max_open', value: 2 },
          { name: 'cooldown', value: 0 },
        ])
      ).content,
    ).toBe('Limits saved.');
    const show = await setup(admin, 'show');
    expect(show.content).toContain(`Support channel: <#${g.channels['help']}>`);
    expect(show.content).toContain('Limits: 2 open per player, 0 s cooldown');
    const audit = await h.db.admin.query(
      `select action from audit_logs where org_id = $1 and action like 'guild.%' order by id`,
      [orgId],
    );
    expect(audit.rows.map((r) => r.action)).toEqual([
      'guild.linked',
      'guild.settings_updated',
      'guild.role_mapped',
      'guild.settings_updated',
      'guild.settings_updated',
      'guild.settings_updated',
    ]);
  });

  it('links another guild with a code from the panel', async () => {
    const other = h.fake.addGuild({ name: 'Gamma', ownerId: owner, channels: [{ name: 'x' }] });
    const org = await makeOrg(h.db.app, 'Gamma');
    const { code } = await withTenant(h.db.app, org.orgId, (tx) => createGuildLinkCode(tx, org.owner));
    await settle(h, async () => h.bot.client.guilds.cache.has(other.id));
    const a = await interact(h, {
      kind: 'chatInput',
      name: 'setup',
      subcommand: 'link',
      guildId: other.id,
      channelId: other.channels['x'] ?? '',
      userId: owner,
      options: [{ name: 'code', value: code.toLowerCase() }],
    });
    expect(a.content).toMatch(/^This server is now linked/);
    const again = await interact(h, {
      kind: 'chatInput',
      name: 'setup',
      subcommand: 'link',
      guildId: other.id,
      channelId: other.channels['x'] ?? '',
      userId: owner,
      options: [{ name: 'code', value: code }],
    });
    expect(again.content).toBe('this link code is unknown, used or expired');
  });
});

describe('ticket modes', () => {
  const categoryId = async (name: string) =>
    (await h.db.admin.query('select id from ticket_categories where name = $1', [name])).rows[0].id as string;

  async function open(name: string, userId: string) {
    const id = await categoryId(name);
    return interact(h, {
      kind: 'modalSubmit',
      guildId: g.id,
      channelId: g.channels['help'] ?? '',
      userId,
      customId: `gm:form:${id}`,
      fields: { subject: `Help with ${name}`, details: 'please' },
    });
  }

  it('forum mode makes a forum post whose starter message is the summary', async () => {
    const a = await open('Appeals', member);
    expect(a.content).toMatch(/^Your ticket #1 is open/);
    const t = (
      await h.db.admin.query(`select discord_channel_id, discord_mode from tickets where external_id = $1`, [
        a.handle.id,
      ])
    ).rows[0];
    expect(t.discord_mode).toBe('forum');
    const post = h.fake.state.channels.get(t.discord_channel_id);
    expect(post).toMatchObject({ type: 11, parent_id: g.channels['forum'] });
    const starter = h.fake.state.messages.get(t.discord_channel_id)?.get(t.discord_channel_id);
    expect(starter?.embeds[0]).toMatchObject({ title: 'Ticket #1 · Help with Appeals' });
    // The post's first message pings the player and the staff roles (an edit would notify nobody),
    // and the player is a member of the post.
    const create = h.fake
      .requests({ method: 'POST', path: `/channels/${g.channels['forum']}/threads` })
      .at(-1);
    const message = (
      (create?.body ?? {}) as { message: { content: string; allowed_mentions: Record<string, string[]> } }
    ).message;
    expect(message.content).toContain(`<@${member}>`);
    expect(message.content).toContain(`<@&${g.roles['Helpers']}>`);
    expect(message.allowed_mentions).toMatchObject({ users: [member], roles: [g.roles['Helpers']] });
    expect(h.fake.state.threadMembers.get(t.discord_channel_id)?.has(member)).toBe(true);

    // A player who takes no DMs still gets a way to rate: the closing message carries the web
    // rating link, a link button (the one kind a locked post keeps working), which only the
    // player, signed in with Discord, can use (test/api/rating.test.ts), so a public post may show it.
    h.fake.state.dmsClosed.add(member);
    const close = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'close',
      guildId: g.id,
      channelId: t.discord_channel_id,
      userId: owner,
      options: [{ name: 'reason', value: 'answered' }],
    });
    expect(close.content).toMatch(/^Ticket #\d+ closed\.$/);
    await settle(
      h,
      async () => h.fake.state.channels.get(t.discord_channel_id)?.thread_metadata?.locked === true,
      15_000,
    );
    h.fake.state.dmsClosed.delete(member);
    const closing = [...(h.fake.state.messages.get(t.discord_channel_id)?.values() ?? [])].find((m) =>
      m.content.includes('This ticket was closed'),
    );
    expect(closing).toBeDefined();
    expect(JSON.stringify(closing?.components), 'the forum post’s closing message').toContain(
      'http://panel.test/rate/',
    );
  });

  it('channel mode makes a private channel and overflows past 50 channels per category', async () => {
    for (let i = 0; i < 50; i++)
      h.fake.state.createChannel(g.id, {
        name: `filler-${i}`,
        type: ChannelType.GuildText,
        parent_id: g.channels['Tickets A'] ?? null,
      });
    const a = await open('Payments', admin);
    expect(a.content).toMatch(/^Your ticket #\d+ is open/);
    const t = (
      await h.db.admin.query(
        `select id, discord_channel_id, discord_mode from tickets where external_id = $1`,
        [a.handle.id],
      )
    ).rows[0];
    expect(t.discord_mode).toBe('channel');
    const ch = h.fake.state.channels.get(t.discord_channel_id);
    expect(ch?.parent_id).toBe(g.channels['Tickets B']);
    const overwrites = (ch?.permission_overwrites ?? []) as { id: string; deny: string }[];
    expect(overwrites.find((o) => o.id === g.id)?.deny).toBe('1024');
    expect(overwrites.map((o) => o.id)).toContain(admin);
    expect(overwrites.map((o) => o.id)).toContain(g.roles['Helpers']);
    // Closing takes the player's access away instead of archiving (channels do not archive).
    const close = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'close',
      guildId: g.id,
      channelId: t.discord_channel_id,
      userId: admin,
      options: [{ name: 'reason', value: 'paid' }],
    });
    expect(close.content).toMatch(/^Ticket #\d+ closed\.$/);
    // The workers' discord.ticket_sync job takes the player's write access away.
    await settle(
      h,
      async () =>
        (
          await h.db.admin.query('select applied_state from discord_ticket_sides where ticket_id = $1', [
            t.id,
          ])
        ).rows[0]?.applied_state === 'closed',
      15_000,
    );
    // Closing leaves the player able to read (and so to rate) but no longer to write.
    const mine = ((ch?.permission_overwrites ?? []) as { id: string; allow: string; deny: string }[]).find(
      (o) => o.id === admin,
    );
    expect(mine).toBeDefined();
    expect(BigInt(mine?.allow ?? '0') & PermissionFlagsBits.ViewChannel).toBe(
      PermissionFlagsBits.ViewChannel,
    );
    expect(BigInt(mine?.deny ?? '0') & PermissionFlagsBits.SendMessages).toBe(
      PermissionFlagsBits.SendMessages,
    );
    const closing = [...(h.fake.state.messages.get(t.discord_channel_id)?.values() ?? [])].find((m) =>
      m.content.includes('How did we do?'),
    );
    expect(closing).toBeDefined();
    // Staff see the channel too: a star pressed by anyone but the player is refused there and then.
    const stars = JSON.stringify(closing?.components).match(/gm:rate:[^"]*:4[^"]*/)?.[0] ?? '';
    const stranger = await interact(h, {
      kind: 'button',
      guildId: g.id,
      channelId: t.discord_channel_id,
      userId: owner,
      customId: stars,
      messageId: closing?.id ?? '',
    });
    expect(stranger.content, 'a star pressed by staff').toBe(
      'Only the player who opened this ticket can rate it.',
    );
    expect((stranger.data as { flags?: number } | undefined)?.flags).toBe(64);
    const star = await interact(h, {
      kind: 'button',
      guildId: g.id,
      channelId: t.discord_channel_id,
      userId: admin,
      customId: stars,
      messageId: closing?.id ?? '',
    });
    expect(star.type).toBe(9);
    const rated = await interact(h, {
      kind: 'modalSubmit',
      guildId: g.id,
      channelId: t.discord_channel_id,
      userId: admin,
      customId: `gm:rateform:${t.id}:4`,
      fields: { comment: 'quick' },
    });
    expect(rated.content).toMatch(/^Thanks for rating ticket #\d+ ★★★★\./);
    expect((await h.db.admin.query('select rating from tickets where id = $1', [t.id])).rows[0].rating).toBe(
      4,
    );
    const reopen = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'reopen',
      guildId: g.id,
      channelId: t.discord_channel_id,
      userId: owner,
    });
    expect(reopen.content).toMatch(/reopened/);
    await settle(
      h,
      async () =>
        (
          await h.db.admin.query('select applied_state from discord_ticket_sides where ticket_id = $1', [
            t.id,
          ])
        ).rows[0]?.applied_state === 'open',
      15_000,
    );
    expect(((ch?.permission_overwrites ?? []) as { id: string }[]).map((o) => o.id)).toContain(admin);
  });

  it('/setup category keeps a stored mode, appends overflow categories, and refuses announcement channels for threads', async () => {
    const news = h.fake.state.createChannel(g.id, { name: 'news', type: ChannelType.GuildAnnouncement }).id;
    const forum2 = h.fake.state.createChannel(g.id, { name: 'forum-two', type: ChannelType.GuildForum }).id;
    const more = h.fake.state.createChannel(g.id, { name: 'Tickets C', type: ChannelType.GuildCategory }).id;
    const thread = await setup(owner, 'category', [
      { name: 'name', value: 'Announcements' },
      { name: 'mode', value: 'thread' },
      { name: 'channel', value: news, type: 7 },
    ]);
    expect(thread.content).toBe(`<#${news}> does not fit the thread mode: use a text channel.`);
    // Appeals is a forum category: a new forum channel without repeating the mode is fine.
    const moved = await setup(owner, 'category', [
      { name: 'name', value: 'Appeals' },
      { name: 'channel', value: forum2, type: 7 },
    ]);
    expect(moved.content.split('\n')[0]).toBe(`Category **Appeals** saved (forum in <#${forum2}>).`);
    const over = await setup(owner, 'category', [
      { name: 'name', value: 'Payments' },
      { name: 'overflow', value: more, type: 7 },
    ]);
    expect(over.content).toMatch(/^Category \*\*Payments\*\* saved \(channel/);
    const settings = (
      await h.db.admin.query('select settings from discord_guilds where guild_id = $1', [g.id])
    ).rows[0].settings;
    const payments = (await h.db.admin.query(`select id from ticket_categories where name = 'Payments'`))
      .rows[0].id;
    expect(settings.categories[payments].overflowCategoryIds).toEqual([g.channels['Tickets B'], more]);
  });
});
