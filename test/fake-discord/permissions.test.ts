import { type DiscordAPIError, REST } from '@discordjs/rest';
import { ChannelType, PermissionFlagsBits as P, Routes } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOT_PERMISSIONS } from '../../bot/permissions.js';
import { type FakeDiscord, type SeededGuild, startFakeDiscord } from '../support/fake-discord/index.js';

// The fake Discord computes the bot's permissions from roles and overwrites as Discord does, and
// refuses each route the way Discord does: 50001 when the bot cannot see the channel, 50013 when
// it lacks a permission the route needs. These tests hold it to that, one rule each.

let fake: FakeDiscord;
let g: SeededGuild;
let rest: REST;
let staff: string;
let player: string;

const ow = (id: string, type: 0 | 1, allow: bigint, deny: bigint) => ({
  id,
  type,
  allow: String(allow),
  deny: String(deny),
});

async function refusal(p: Promise<unknown>): Promise<{ status: number; code: number | string } | null> {
  try {
    await p;
    return null;
  } catch (err) {
    const e = err as DiscordAPIError;
    return { status: e.status, code: e.code };
  }
}

beforeAll(async () => {
  fake = await startFakeDiscord();
  staff = fake.addUser({ username: 'staff' }).id;
  player = fake.addUser({ username: 'player' }).id;
  g = fake.addGuild({
    name: 'Perms',
    // Nothing from @everyone: the bot holds exactly its role's permissions.
    everyonePermissions: 0n,
    roles: [{ name: 'Staff' }],
    members: [player],
    channels: [
      { name: 'Tickets', type: ChannelType.GuildCategory },
      { name: 'support' },
      { name: 'hidden' },
      { name: 'forum', type: ChannelType.GuildForum, flags: 1 << 4, tags: [{ name: 'Bug' }] },
    ],
  });
  fake.addMember(g.id, staff, [g.roles['Staff'] ?? '']);
  rest = new REST({ api: `${fake.url}/api`, retries: 0 }).setToken(fake.botToken);
});

afterAll(async () => {
  await fake.close();
});

function restoreBot() {
  fake.setBotPermissions(g.id, BOT_PERMISSIONS);
}

describe('the strict fake Discord', () => {
  it('gives the bot exactly its documented permissions, never Administrator', () => {
    const role = [...(fake.state.guilds.get(g.id)?.roles.values() ?? [])].find((r) => r.managed);
    expect(BigInt(role?.permissions ?? '0')).toBe(BOT_PERMISSIONS);
    expect(BigInt(role?.permissions ?? '0') & P.Administrator).toBe(0n);
    expect(role?.id).toBe(g.botRoleId);
  });

  it('applies overwrites in Discord order: @everyone, then roles (deny, then allow), then the member', async () => {
    const hidden = g.channels['hidden'] ?? '';
    const bot = fake.botUser.id;
    fake.updateChannel(hidden, { permission_overwrites: [ow(g.id, 0, 0n, P.ViewChannel)] });
    expect(await refusal(rest.get(Routes.channel(hidden)))).toEqual({ status: 403, code: 50001 });
    // The bot's own role allowed back in beats @everyone's deny.
    fake.updateChannel(hidden, {
      permission_overwrites: [ow(g.id, 0, 0n, P.ViewChannel), ow(g.botRoleId, 0, P.ViewChannel, 0n)],
    });
    expect(await refusal(rest.get(Routes.channel(hidden)))).toBeNull();
    // A role's deny loses to the member's own allow.
    fake.updateChannel(hidden, {
      permission_overwrites: [ow(g.botRoleId, 0, 0n, P.SendMessages), ow(bot, 1, P.SendMessages, 0n)],
    });
    expect(await refusal(rest.post(Routes.channelMessages(hidden), { body: { content: 'hi' } }))).toBeNull();
    // The member's own deny is the last word.
    fake.updateChannel(hidden, { permission_overwrites: [ow(bot, 1, 0n, P.SendMessages)] });
    expect(await refusal(rest.post(Routes.channelMessages(hidden), { body: { content: 'hi' } }))).toEqual({
      status: 403,
      code: 50013,
    });
    // Without Send Messages, embeds and files go too; reading still works.
    expect(await refusal(rest.get(Routes.channelMessages(hidden)))).toBeNull();
    fake.updateChannel(hidden, { permission_overwrites: [] });
  });

  it('the guild owner and an Administrator role bypass everything', () => {
    const channel = fake.state.channels.get(g.channels['hidden'] ?? '');
    if (!channel) throw new Error('no channel');
    channel.permission_overwrites = [ow(g.id, 0, 0n, P.ViewChannel)];
    const owner = fake.state.guilds.get(g.id)?.owner_id ?? '';
    expect(BigInt(fake.state.permissionsIn(g.id, owner, channel.id))).toBe((1n << 51n) - 1n);
    expect(BigInt(fake.state.permissionsIn(g.id, player, channel.id))).toBe(0n);
    fake.setRolePermissions(g.id, g.roles['Staff'] ?? '', P.Administrator);
    expect(BigInt(fake.state.permissionsIn(g.id, staff, channel.id))).toBe((1n << 51n) - 1n);
    fake.setRolePermissions(g.id, g.roles['Staff'] ?? '', 0n);
    channel.permission_overwrites = [];
  });

  it('needs Embed Links for embeds, Attach Files for files, and Send Messages in Threads inside threads', async () => {
    const support = g.channels['support'] ?? '';
    fake.setBotPermissions(g.id, BOT_PERMISSIONS & ~P.EmbedLinks);
    expect(
      await refusal(rest.post(Routes.channelMessages(support), { body: { embeds: [{ title: 'x' }] } })),
    ).toEqual({ status: 403, code: 50013 });
    fake.setBotPermissions(g.id, BOT_PERMISSIONS & ~P.AttachFiles);
    expect(
      await refusal(
        rest.post(Routes.channelMessages(support), {
          body: { attachments: [{ id: 0, filename: 'a.txt' }] },
          files: [{ name: 'a.txt', data: Buffer.from('a') }],
        }),
      ),
    ).toEqual({ status: 403, code: 50013 });
    restoreBot();
    const thread = (await rest.post(Routes.threads(support), {
      body: { name: 'private', type: ChannelType.PrivateThread },
    })) as { id: string };
    fake.setBotPermissions(g.id, BOT_PERMISSIONS & ~P.SendMessagesInThreads);
    expect(await refusal(rest.post(Routes.channelMessages(thread.id), { body: { content: 'x' } }))).toEqual({
      status: 403,
      code: 50013,
    });
    expect(await refusal(rest.put(Routes.threadMembers(thread.id, player)))).toEqual({
      status: 403,
      code: 50013,
    });
    // Sending in the parent channel itself needs Send Messages only.
    expect(await refusal(rest.post(Routes.channelMessages(support), { body: { content: 'x' } }))).toBeNull();
    restoreBot();
    fake.setBotPermissions(g.id, BOT_PERMISSIONS & ~P.CreatePrivateThreads);
    expect(
      await refusal(
        rest.post(Routes.threads(support), { body: { name: 'p2', type: ChannelType.PrivateThread } }),
      ),
    ).toEqual({ status: 403, code: 50013 });
    restoreBot();
  });

  it('a private thread the bot has not joined is out of reach without Manage Threads', async () => {
    const support = g.channels['support'] ?? '';
    const parent = fake.state.channels.get(support);
    if (!parent) throw new Error('no channel');
    const thread = fake.state.createThread(parent, {
      name: 'players only',
      type: ChannelType.PrivateThread,
      ownerId: player,
    });
    fake.setBotPermissions(g.id, BOT_PERMISSIONS & ~P.ManageThreads);
    expect(await refusal(rest.get(Routes.channel(thread.id)))).toEqual({ status: 403, code: 50001 });
    expect(await refusal(rest.patch(Routes.channel(thread.id), { body: { locked: true } }))).toEqual({
      status: 403,
      code: 50001,
    });
    restoreBot();
    expect(await refusal(rest.get(Routes.channel(thread.id)))).toBeNull();
    expect(await refusal(rest.patch(Routes.channel(thread.id), { body: { locked: true } }))).toBeNull();
  });

  it('overwrites: Manage Roles, only permissions the bot holds, never Manage Roles itself', async () => {
    const support = g.channels['support'] ?? '';
    // Manage Messages is not in the bot's list: it cannot hand it out.
    expect(
      await refusal(
        rest.put(Routes.channelPermission(support, player), {
          body: { type: 1, allow: String(P.ManageMessages), deny: '0' },
        }),
      ),
    ).toEqual({ status: 403, code: 50013 });
    expect(
      await refusal(
        rest.put(Routes.channelPermission(support, player), {
          body: { type: 1, allow: String(P.ManageRoles), deny: '0' },
        }),
      ),
    ).toEqual({ status: 403, code: 50013 });
    expect(
      await refusal(
        rest.put(Routes.channelPermission(support, player), {
          body: { type: 1, allow: String(P.ViewChannel), deny: String(P.SendMessages) },
        }),
      ),
    ).toBeNull();
    fake.setBotPermissions(g.id, BOT_PERMISSIONS & ~P.ManageRoles);
    expect(await refusal(rest.delete(Routes.channelPermission(support, player)))).toEqual({
      status: 403,
      code: 50013,
    });
    // Creating a channel with overwrites is held to the same rule, in the parent category.
    expect(
      await refusal(
        rest.post(Routes.guildChannels(g.id), {
          body: {
            name: 'ticket',
            parent_id: g.channels['Tickets'],
            permission_overwrites: [ow(g.id, 0, 0n, P.ViewChannel)],
          },
        }),
      ),
    ).toEqual({ status: 403, code: 50013 });
    restoreBot();
    fake.setBotPermissions(g.id, BOT_PERMISSIONS & ~P.ManageChannels);
    expect(
      await refusal(rest.post(Routes.guildChannels(g.id), { body: { name: 'ticket', type: 0 } })),
    ).toEqual({ status: 403, code: 50013 });
    restoreBot();
  });

  it('forum posts: Send Messages, a tag where the forum requires one (40067), names up to 100', async () => {
    const forum = g.channels['forum'] ?? '';
    const tag = fake.state.channels.get(forum)?.available_tags?.[0]?.id ?? '';
    const post = (body: Record<string, unknown>) =>
      rest.post(Routes.threads(forum), { body: { name: 'Ticket', message: { content: 'x' }, ...body } });
    expect(await refusal(post({}))).toEqual({ status: 400, code: 40067 });
    expect(await refusal(post({ applied_tags: ['1234567890123456789'] }))).toEqual({
      status: 400,
      code: 50035,
    });
    expect(await refusal(post({ applied_tags: [tag], name: 'x'.repeat(101) }))).toEqual({
      status: 400,
      code: 50035,
    });
    expect(await refusal(post({ applied_tags: [tag], name: 'Пётр-工单-🎮' }))).toBeNull();
    fake.setBotPermissions(g.id, BOT_PERMISSIONS & ~P.SendMessages);
    expect(await refusal(post({ applied_tags: [tag] }))).toEqual({ status: 403, code: 50013 });
    restoreBot();
  });

  it('a role that is not mentionable pings (and joins a private thread) only with Mention Everyone', async () => {
    const support = g.channels['support'] ?? '';
    const role = g.roles['Staff'] ?? '';
    const mention = async () => {
      const t = (await rest.post(Routes.threads(support), {
        body: { name: 'm', type: ChannelType.PrivateThread },
      })) as { id: string };
      await rest.post(Routes.channelMessages(t.id), {
        body: { content: `<@&${role}>`, allowed_mentions: { roles: [role] } },
      });
      return fake.state.threadMembers.get(t.id)?.has(staff) ?? false;
    };
    fake.setBotPermissions(g.id, BOT_PERMISSIONS & ~P.MentionEveryone);
    expect(await mention()).toBe(false);
    restoreBot();
    expect(await mention()).toBe(true);
  });

  it('interactions carry the bot’s permissions in their channel, overwrites applied', () => {
    const hidden = g.channels['hidden'] ?? '';
    fake.updateChannel(hidden, { permission_overwrites: [ow(g.botRoleId, 0, 0n, P.SendMessages)] });
    const h = fake.sendInteraction({
      kind: 'chatInput',
      name: 'x',
      guildId: g.id,
      channelId: hidden,
      userId: player,
    });
    const sent = h.payload as { app_permissions: string };
    expect(BigInt(sent.app_permissions) & P.SendMessages).toBe(0n);
    expect(BigInt(sent.app_permissions) & P.EmbedLinks).toBe(0n);
    expect(BigInt(sent.app_permissions) & P.ViewChannel).toBe(P.ViewChannel);
    fake.updateChannel(hidden, { permission_overwrites: [] });
  });
});
