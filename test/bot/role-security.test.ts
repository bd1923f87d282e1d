import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../db/changes.js';
import { addMember } from '../../db/memberships.js';
import { withTenant } from '../../db/tenant.js';
import { upsertDiscordUser } from '../../db/users.js';
import { type Harness, interact, openThroughPanel, settle, startHarness } from './harness.js';

let h: Harness;
let thread: string;

beforeAll(async () => {
  h = await startHarness();
  const { submit } = await openThroughPanel(h);
  expect(submit.content).toMatch(/is open/);
  const r = await h.db.admin.query('select discord_channel_id from tickets where external_id = $1', [
    submit.handle.id,
  ]);
  thread = r.rows[0].discord_channel_id;
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const setup = (
  userId: string,
  subcommand: string,
  options: { name: string; value: string; type?: number }[],
) =>
  interact(h, {
    kind: 'chatInput',
    name: 'setup',
    subcommand,
    guildId: h.guild.id,
    channelId: h.guild.channels['support'] ?? '',
    userId,
    options,
  });

const ticketCmd = (userId: string, subcommand: string) =>
  interact(h, {
    kind: 'chatInput',
    name: 'ticket',
    subcommand,
    guildId: h.guild.id,
    channelId: thread,
    userId,
    options: [],
  });

async function roleOf(discordUserId: string): Promise<string | null> {
  const r = await h.db.admin.query(
    `select r.key from memberships m join roles r on r.id = m.role_id
     join discord_accounts d on d.user_id = m.user_id
     where m.org_id = $1 and d.discord_user_id = $2`,
    [h.org.orgId, discordUserId],
  );
  return r.rows[0]?.key ?? null;
}

async function mappings(): Promise<string[]> {
  const r = await h.db.admin.query(
    `select r.key from discord_role_mappings m join roles r on r.id = m.role_id
     where m.guild_id = $1 order by r.key`,
    [h.guild.id],
  );
  return r.rows.map((x) => x.key);
}

describe('role mappings cannot raise anyone', () => {
  it('refuses /setup role to a Discord server owner without a GameMod membership', async () => {
    const a = await setup(h.users.owner, 'role', [
      { name: 'role', value: h.guild.roles['Agent'] ?? '', type: 8 },
      { name: 'as', value: 'owner' },
    ]);
    expect(a.content).toMatch(/`roles.manage`/);
    expect(await mappings()).toEqual(['agent', 'moderator']);
    expect(await roleOf(h.users.owner)).toBeNull();
  });

  it('a moderator whose role came from a mapping cannot map roles either', async () => {
    const a = await setup(h.users.moderator, 'role', [
      { name: 'role', value: h.guild.roles['Agent'] ?? '', type: 8 },
      { name: 'as', value: 'admin' },
    ]);
    expect(a.content).toMatch(/`roles.manage`/);
    expect(await mappings()).toEqual(['agent', 'moderator']);
  });

  it('a real admin maps roles up to their own, never to owner', async () => {
    const admin = await upsertDiscordUser(h.db.app, { discordUserId: h.users.owner, username: 'owner' });
    await withTenant(h.db.app, h.org.orgId, (tx) =>
      addMember(tx, { userId: admin.id, role: 'admin' }, SYSTEM),
    );
    const owner = await setup(h.users.owner, 'role', [
      { name: 'role', value: h.guild.roles['Agent'] ?? '', type: 8 },
      { name: 'as', value: 'owner' },
    ]);
    expect(owner.content).toMatch(/cannot make anyone an owner/);
    expect(await mappings()).toEqual(['agent', 'moderator']);
    const ok = await setup(h.users.owner, 'role', [
      { name: 'role', value: h.guild.roles['Agent'] ?? '', type: 8 },
      { name: 'as', value: 'viewer' },
    ]);
    expect(ok.content).toMatch(/now acts as \*\*viewer\*\*/);
    expect(await mappings()).toEqual(['moderator', 'viewer']);
    // An existing mapping onto owner (made before this rule) gives nothing.
    await h.db.admin.query(
      `update discord_role_mappings set role_id = (select id from roles where org_id = $1 and key = 'owner')
       where guild_id = $2 and discord_role_id = $3`,
      [h.org.orgId, h.guild.id, h.guild.roles['Agent']],
    );
    const agent = await ticketCmd(h.users.agent, 'claim');
    expect(agent.content).toMatch(/You need the `tickets.assign` permission/);
    expect(await roleOf(h.users.agent)).toBeNull();
  });
});

describe('Discord-derived permissions follow the Discord roles', () => {
  it('plain chat by a mapped member makes no membership', async () => {
    h.fake.addMember(h.guild.id, h.users.other, [h.guild.roles['Moderator'] ?? '']);
    h.fake.userMessage(thread, h.users.other, 'hello from staff');
    await settle(h, async () => {
      const r = await h.db.admin.query('select 1 from messages where ticket_id is not null and body = $1', [
        'hello from staff',
      ]);
      return (r.rowCount ?? 0) > 0;
    });
    expect(await roleOf(h.users.other)).toBeNull();
  });

  it('removing the Discord role takes the permission away at once', async () => {
    const claim = await ticketCmd(h.users.moderator, 'claim');
    expect(claim.content).toMatch(/You claimed ticket/);
    expect(await roleOf(h.users.moderator)).toBe('moderator');
    h.fake.addMember(h.guild.id, h.users.moderator, []);
    const after = await ticketCmd(h.users.moderator, 'unclaim');
    expect(after.content).toMatch(/You need the `tickets.assign` permission/);
    expect(await roleOf(h.users.moderator)).toBeNull();
  });

  it('unmapping a role removes the memberships it made', async () => {
    h.fake.addMember(h.guild.id, h.users.moderator, [h.guild.roles['Moderator'] ?? '']);
    const claim = await ticketCmd(h.users.moderator, 'claim');
    expect(claim.content).toMatch(/You claimed ticket|already/);
    expect(await roleOf(h.users.moderator)).toBe('moderator');
    const un = await setup(h.users.owner, 'unrole', [
      { name: 'role', value: h.guild.roles['Moderator'] ?? '', type: 8 },
    ]);
    expect(un.content).toMatch(/no longer mapped/);
    expect(await roleOf(h.users.moderator)).toBeNull();
    const again = await ticketCmd(h.users.moderator, 'unclaim');
    expect(again.content).toMatch(/You need the `tickets.assign` permission/);
  });
});
