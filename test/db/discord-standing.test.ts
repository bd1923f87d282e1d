import { describe, expect, it } from 'vitest';
import { discordAccessFromStanding, readDiscordStanding } from '../../db/discord-standing.js';
import { ticketForChannel } from '../../db/discord-sync.js';
import { createGuildLinkCode, redeemGuildLinkCode } from '../../db/guild-links.js';
import { type DiscordStaffAccess, discordStaffAccess, setRoleMapping } from '../../db/guild-roles.js';
import { changeRole } from '../../db/memberships.js';
import { type Tx, withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { upsertDiscordUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

const db = useTestDb(4);

/** A transaction that counts the statements run through it. */
function counted(tx: Tx): Tx & { statements: number } {
  const c = {
    orgId: tx.orgId,
    statements: 0,
    query: ((text: string, values?: unknown[]) => {
      c.statements += 1;
      return tx.query(text, values);
    }) as Tx['query'],
  };
  return c;
}

const plain = (a: DiscordStaffAccess) => ({
  permissions: [...a.permissions].sort(),
  memberPermissions: [...a.memberPermissions].sort(),
  isMember: a.isMember,
});

async function linkedOrg(name: string, guildId: string) {
  const org = await makeOrg(db.app, name);
  const { code } = await withTenant(db.app, org.orgId, (tx) => createGuildLinkCode(tx, org.owner));
  await redeemGuildLinkCode(db.app, { code, guildId, guildName: name }, org.owner);
  return org;
}

describe('db/discord-standing', () => {
  it('answers as discordStaffAccess does, through every change of a mapped and a real membership', async () => {
    const guildId = '987654321098765501';
    const org = await linkedOrg('Standing', guildId);
    const [mods, agents, owners] = ['987654321098765502', '987654321098765503', '987654321098765504'];
    await withTenant(db.app, org.orgId, async (tx) => {
      await setRoleMapping(tx, { guildId, discordRoleId: mods, roleKey: 'moderator' }, org.owner);
      await setRoleMapping(tx, { guildId, discordRoleId: agents, roleKey: 'agent' }, org.owner);
    });
    const discordId = '987654321098765505';
    const user = await upsertDiscordUser(db.app, { discordUserId: discordId, username: 'staffer' });
    const role = async () =>
      (
        await db.admin.query(
          'select r.key from memberships m join roles r on r.id = m.role_id where m.org_id = $1 and m.user_id = $2',
          [org.orgId, user.id],
        )
      ).rows[0]?.key ?? null;
    // Each step asks discordStaffAccess first (rolled back: it only answers), then the
    // one-statement read on the same state, which makes the change: both must answer alike.
    const step = async (roles: string[], join = true, known = true) =>
      withTenant(db.app, org.orgId, async (tx) => {
        const standing = await readDiscordStanding(tx, guildId, discordId, roles);
        expect(standing.userId).toBe(user.id);
        return plain(await discordAccessFromStanding(tx, guildId, standing, roles, join, known));
      });
    const reference = async (roles: string[], join = true, known = true) =>
      withTenant(db.app, org.orgId, async (tx) => {
        const r = plain(await discordStaffAccess(tx, guildId, user.id, roles, join, known));
        throw Object.assign(new Error('rollback'), { answer: r });
      }).catch((e: { answer?: ReturnType<typeof plain> }) => {
        if (!e.answer) throw e;
        return e.answer;
      });
    const check = async (roles: string[], join = true, known = true) => {
      const expected = await reference(roles, join, known);
      const got = await step(roles, join, known);
      expect(got).toEqual(expected);
      return got;
    };

    expect((await check([mods], false)).isMember).toBe(false);
    expect(await role()).toBeNull();
    expect((await check([mods])).isMember).toBe(true);
    expect(await role()).toBe('moderator');
    // A mapping onto owner never counts, alone or beside another.
    await db.admin.query(
      `insert into discord_role_mappings (org_id, guild_id, discord_role_id, role_id)
       select $1, $2, $3, id from roles where org_id = $1 and key = 'owner'`,
      [org.orgId, guildId, owners],
    );
    expect((await check([owners, mods])).permissions).not.toContain('org.manage');
    expect((await check([owners])).permissions).toEqual([]);
    expect((await check([agents])).permissions).not.toContain('tickets.merge');
    expect(await role()).toBe('agent');
    expect((await check([], false, false)).isMember).toBe(true);
    expect(await role()).toBe('agent');
    expect((await check([])).isMember).toBe(false);
    expect(await role()).toBeNull();
    await check([agents]);
    await withTenant(db.app, org.orgId, (tx) =>
      changeRole(tx, { userId: user.id, role: 'viewer' }, org.owner),
    );
    const real = await check([mods]);
    expect(real.memberPermissions).toContain('tickets.read');
    expect(real.permissions).toContain('tickets.merge');
    expect(await role()).toBe('viewer');
  });

  it('reads a settled member, a person without an account and one without roles in one statement', async () => {
    const guildId = '987654321098765511';
    const org = await linkedOrg('OneTrip', guildId);
    const mods = '987654321098765512';
    await withTenant(db.app, org.orgId, (tx) =>
      setRoleMapping(tx, { guildId, discordRoleId: mods, roleKey: 'moderator' }, org.owner),
    );
    const staffId = '987654321098765513';
    await upsertDiscordUser(db.app, { discordUserId: staffId, username: 'mod' });
    const resolve = (discordId: string, roles: string[]) =>
      withTenant(db.app, org.orgId, async (tx) => {
        const c = counted(tx);
        const standing = await readDiscordStanding(c, guildId, discordId, roles);
        const access = await discordAccessFromStanding(c, guildId, standing, roles, true, true);
        return { statements: c.statements, access, standing };
      });
    // The first action joins the org (writes); from then on, one statement.
    expect((await resolve(staffId, [mods])).statements).toBeGreaterThan(1);
    const settled = await resolve(staffId, [mods]);
    expect(settled.statements).toBe(1);
    expect(settled.access.isMember).toBe(true);
    expect(settled.access.permissions.has('tickets.reply')).toBe(true);
    const stranger = await resolve('987654321098765514', []);
    expect(stranger).toMatchObject({ statements: 1, standing: { userId: null, bestRoleId: null } });
    expect(stranger.access.permissions.size).toBe(0);
    // Someone with a mapped role and no account: the standing says so (the caller makes one).
    const newcomer = await resolve('987654321098765515', [mods]);
    expect(newcomer.statements).toBe(1);
    expect(newcomer.standing.userId).toBeNull();
    expect(newcomer.standing.bestRoleId).not.toBeNull();
  });

  it('sees nothing of another org: its mappings and memberships stay behind the policy', async () => {
    const org = await linkedOrg('Mine', '987654321098765521');
    const other = await linkedOrg('Theirs', '987654321098765522');
    const mods = '987654321098765523';
    // The other org maps the role id in its guild, and the person is an admin there; asked
    // about that guild from this org's transaction, nothing of it shows.
    await db.admin.query(
      `insert into discord_role_mappings (org_id, guild_id, discord_role_id, role_id)
       select $1, $2, $3, id from roles where org_id = $1 and key = 'admin'`,
      [other.orgId, '987654321098765522', mods],
    );
    const staffId = '987654321098765524';
    const user = await upsertDiscordUser(db.app, { discordUserId: staffId, username: 'both' });
    await db.admin.query(
      `insert into memberships (org_id, user_id, role_id)
       select $1, $2, id from roles where org_id = $1 and key = 'admin'`,
      [other.orgId, user.id],
    );
    const standing = await withTenant(db.app, org.orgId, (tx) =>
      readDiscordStanding(tx, '987654321098765522', staffId, [mods]),
    );
    expect(standing).toEqual({
      userId: user.id,
      mappedPermissions: new Set(),
      bestRoleId: null,
      membership: null,
    });
  });
  it('reads the ticket of a channel in the same statement, as ticketForChannel finds it, and none of another org', async () => {
    const org = await linkedOrg('Here', '987654321098765531');
    const other = await linkedOrg('There', '987654321098765532');
    const channel = '987654321098765533';
    const staffId = '987654321098765534';
    for (const o of [org, other])
      await withTenant(db.app, o.orgId, (tx) =>
        openTicket(tx, { subject: `in ${o.orgId}`, origin: 'discord', discordChannelId: channel }, o.owner),
      );
    const [alone, joined, plain, none] = await withTenant(db.app, org.orgId, async (tx) => [
      await readDiscordStanding(tx, '987654321098765531', staffId, []),
      await readDiscordStanding(tx, '987654321098765531', staffId, [], channel),
      await ticketForChannel(tx, channel),
      await readDiscordStanding(tx, '987654321098765531', staffId, [], '987654321098765535'),
    ]);
    expect(plain?.subject).toBe(`in ${org.orgId}`);
    expect(joined).toEqual({ ...alone, ticketHere: plain });
    expect(none).toEqual({ ...alone, ticketHere: undefined });
  });
});
