import { ChannelType } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../db/changes.js';
import { createGuildLinkCode, redeemGuildLinkCode } from '../../db/guild-links.js';
import { addTeamMember, createTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import { READ_ONLY_EVERYONE } from '../support/fake-discord/index.js';
import { type Harness, interact, openThroughPanel, startHarness, theTicket } from './harness.js';

// A moderator's membership made from a mapped role in one guild is that guild's to revise: acting
// in the org's other linked guild, or in a DM (no roles at all), says nothing about that role.
let h: Harness;
let guildB: string;
let channelB: string;
beforeAll(async () => {
  h = await startHarness();
  const b = h.fake.addGuild({
    name: 'Alpha Community',
    ownerId: h.users.owner,
    everyonePermissions: READ_ONLY_EVERYONE,
    channels: [{ name: 'general', type: ChannelType.GuildText }],
    members: [h.users.moderator, h.users.player],
  });
  guildB = b.id;
  channelB = b.channels['general'] ?? '';
  const { code } = await withTenant(h.db.app, h.org.orgId, (tx) => createGuildLinkCode(tx, h.org.owner));
  await redeemGuildLinkCode(h.db.app, { code, guildId: guildB, guildName: 'Alpha Community' }, h.org.owner);
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const stats = (guildId: string, channelId: string) =>
  interact(h, {
    kind: 'chatInput',
    name: 'stats',
    guildId,
    channelId,
    userId: h.users.moderator,
    options: [],
  });
const userIdOf = async () =>
  (
    await h.db.admin.query<{ user_id: string }>(
      'select user_id from discord_accounts where discord_user_id = $1',
      [h.users.moderator],
    )
  ).rows[0]?.user_id ?? '';
const count = async (table: string, userId: string) =>
  (await h.db.admin.query(`select 1 from ${table} where org_id = $1 and user_id = $2`, [h.org.orgId, userId]))
    .rowCount;

describe('one org, two linked guilds', () => {
  it('a moderator of guild A keeps membership and team after using the bot in guild B', async () => {
    expect((await stats(h.guild.id, h.guild.channels['support'] ?? '')).content).toMatch(/^\*\*You\*\*/);
    const userId = await userIdOf();
    await withTenant(h.db.app, h.org.orgId, async (tx) => {
      const team = await createTeam(tx, { name: 'Billing' }, SYSTEM);
      await addTeamMember(tx, { teamId: team.id, userId }, SYSTEM);
    });
    await stats(guildB, channelB);
    expect({
      membership: await count('memberships', userId),
      teams: await count('team_members', userId),
    }).toEqual({
      membership: 1,
      teams: 1,
    });
  });

  it('a moderator pressing the Transcript button of their own ticket in a DM keeps their membership', async () => {
    await stats(h.guild.id, h.guild.channels['support'] ?? '');
    const userId = await userIdOf();
    expect(await count('memberships', userId)).toBe(1);
    await openThroughPanel(h, { summary: 'My own account is bugged', steps: 'x' }, h.users.moderator);
    const t = await h.db.admin.query<{ id: string }>(
      'select id from tickets where org_id = $1 and requester_id = (select id from player_profiles where org_id = $1 and discord_user_id = $2)',
      [h.org.orgId, h.users.moderator],
    );
    const link = await interact(h, {
      kind: 'button',
      channelId: h.fake.state.openDm(h.users.moderator).id,
      userId: h.users.moderator,
      customId: `gm:transcript:${t.rows[0]?.id}:${h.guild.id}`,
    });
    expect(link.content).toContain('transcript');
    expect(await count('memberships', userId)).toBe(1);
  });

  it('a moderator whose role is taken away in guild A loses membership and team, and gets both back with the role', async () => {
    await stats(h.guild.id, h.guild.channels['support'] ?? '');
    const userId = await userIdOf();
    expect({
      membership: await count('memberships', userId),
      teams: await count('team_members', userId),
    }).toEqual({
      membership: 1,
      teams: 1,
    });
    h.fake.addMember(h.guild.id, h.users.moderator, []);
    await stats(h.guild.id, h.guild.channels['support'] ?? '');
    expect({
      membership: await count('memberships', userId),
      teams: await count('team_members', userId),
    }).toEqual({
      membership: 0,
      teams: 0,
    });
    h.fake.addMember(h.guild.id, h.users.moderator, [h.guild.roles['Moderator'] ?? '']);
    expect((await stats(h.guild.id, h.guild.channels['support'] ?? '')).content).toMatch(/^\*\*You\*\*/);
    const teams = await h.db.admin.query<{ name: string }>(
      'select t.name from team_members tm join teams t on t.id = tm.team_id where tm.org_id = $1 and tm.user_id = $2',
      [h.org.orgId, userId],
    );
    expect(teams.rows.map((r) => r.name)).toEqual(['Billing']);
  });

  it('a moderator who left guild A, named in /ticket assign there, is staff no more: the membership its roles made ends', async () => {
    await stats(h.guild.id, h.guild.channels['support'] ?? '');
    const userId = await userIdOf();
    expect(await count('memberships', userId)).toBe(1);
    const boss = h.fake.addUser({ username: 'boss' }).id;
    h.fake.addMember(h.guild.id, boss, [h.guild.roles['Moderator'] ?? '']);
    const { thread } = await theTicket(h);
    // Left the server: the bot is never told (no GuildMembers intent), but an interaction naming
    // them carries no member for them, as Discord resolves one for everyone in the server.
    h.fake.removeMember(h.guild.id, h.users.moderator);
    const assign = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'assign',
      guildId: h.guild.id,
      channelId: thread,
      userId: boss,
      options: [{ name: 'user', value: h.users.moderator, type: 6 }],
    });
    expect(assign.content).toBe(`<@${h.users.moderator}> is not staff here (none of their roles is mapped).`);
    expect(await count('memberships', userId)).toBe(0);
  });
});
