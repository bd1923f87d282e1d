import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createApiToken } from '../../db/api-tokens.js';
import {
  createCannedReply,
  deleteCannedReply,
  getCannedReply,
  listCannedReplies,
  renderCannedReply,
  updateCannedReply,
} from '../../db/canned-replies.js';
import { archiveCategory, createCategory, listCategories, updateCategory } from '../../db/categories.js';
import { createGuildLinkCode, createOrgForGuild, redeemGuildLinkCode } from '../../db/guild-links.js';
import { discordStaffAccess, removeRoleMapping, setRoleMapping } from '../../db/guild-roles.js';
import { getGuild, listGuilds, orgForGuild, unlinkGuild, updateGuildSettings } from '../../db/guilds.js';
import { changeRole } from '../../db/memberships.js';
import { createOAuthClient } from '../../db/oauth-clients.js';
import { createAuthorizationCode } from '../../db/oauth-codes.js';
import { insertGrant } from '../../db/oauth-tokens.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

const db = useTestDb(4);
const GUILD = '123456789012345678';

describe('db/guilds', () => {
  it('memberships made from a role mapping follow the Discord roles; real ones do not', async () => {
    const org = await makeOrg(db.app, 'Derived');
    const guildId = '987654321098765434';
    const { code } = await withTenant(db.app, org.orgId, (tx) => createGuildLinkCode(tx, org.owner));
    await redeemGuildLinkCode(db.app, { code, guildId, guildName: 'Derived' }, org.owner);
    const [mods, agents] = ['987654321098765435', '987654321098765436'];
    await withTenant(db.app, org.orgId, async (tx) => {
      await setRoleMapping(tx, { guildId, discordRoleId: mods, roleKey: 'moderator' }, org.owner);
      await setRoleMapping(tx, { guildId, discordRoleId: agents, roleKey: 'agent' }, org.owner);
    });
    const user = await createUser(db.app, { displayName: 'Staffer' });
    const access = (roles: string[], join = true, known = true) =>
      withTenant(db.app, org.orgId, (tx) => discordStaffAccess(tx, guildId, user.id, roles, join, known));
    const role = async () =>
      (
        await db.admin.query(
          'select r.key from memberships m join roles r on r.id = m.role_id where m.org_id = $1 and m.user_id = $2',
          [org.orgId, user.id],
        )
      ).rows[0]?.key ?? null;
    expect((await access([mods], false)).isMember).toBe(false);
    expect(await role()).toBeNull();
    const a = await access([mods]);
    expect(a).toMatchObject({ isMember: true });
    expect(a.permissions.has('tickets.merge')).toBe(true);
    expect(a.memberPermissions.size).toBe(0);
    expect(await role()).toBe('moderator');
    expect((await access([agents])).permissions.has('tickets.merge')).toBe(false);
    expect(await role()).toBe('agent');
    // A message without its member: roles unknown, nothing is revoked.
    expect((await access([], false, false)).isMember).toBe(true);
    expect(await role()).toBe('agent');
    expect((await access([])).isMember).toBe(false);
    expect(await role()).toBeNull();
    // Made a member again, then given a role in the panel: a real membership from then on.
    await access([agents]);
    await withTenant(db.app, org.orgId, (tx) =>
      changeRole(tx, { userId: user.id, role: 'viewer' }, org.owner),
    );
    const real = await access([]);
    expect(real.isMember).toBe(true);
    expect(real.memberPermissions.has('tickets.read')).toBe(true);
    expect(await role()).toBe('viewer');
  });

  it('a membership the bot ends (Discord role taken away, mapping removed) takes its credentials with it, for good', async () => {
    const org = await makeOrg(db.app, 'Derived credentials');
    const guildId = '987654321098765437';
    const { code } = await withTenant(db.app, org.orgId, (tx) => createGuildLinkCode(tx, org.owner));
    await redeemGuildLinkCode(db.app, { code, guildId, guildName: 'Derived credentials' }, org.owner);
    const mods = '987654321098765438';
    await withTenant(db.app, org.orgId, (tx) =>
      setRoleMapping(tx, { guildId, discordRoleId: mods, roleKey: 'moderator' }, org.owner),
    );
    const { client } = await withTenant(db.app, org.orgId, (tx) =>
      createOAuthClient(
        tx,
        {
          name: 'Helper',
          kind: 'confidential',
          redirectUris: ['https://helper.example/cb'],
          scopes: ['tickets:read'],
        },
        org.owner,
      ),
    );
    /** A staff member who acts through the mapped role, with a token, a grant and a code of theirs. */
    const staffWithCredentials = async (name: string) => {
      const user = await createUser(db.app, { displayName: name });
      await withTenant(db.app, org.orgId, (tx) => discordStaffAccess(tx, guildId, user.id, [mods], true));
      const me = { type: 'user' as const, id: user.id };
      return withTenant(db.app, org.orgId, async (tx) => ({
        userId: user.id,
        tokenId: (await createApiToken(tx, { name: `${name}'s script`, scopes: ['tickets:read'] }, me)).token
          .id,
        grantId: await insertGrant(
          tx,
          client.id,
          user.id,
          'authorization_code',
          ['tickets:read'],
          Date.now(),
          Date.now() + 86_400_000,
        ),
        code: await createAuthorizationCode(
          tx,
          {
            clientRowId: client.id,
            userId: user.id,
            redirectUri: 'https://helper.example/cb',
            scopes: ['tickets:read'],
            codeChallenge: 'x'.repeat(43),
          },
          Date.now(),
          me,
        ),
      }));
    };
    const credentials = async (c: { userId: string; tokenId: string; grantId: string }) => {
      const q = (sql: string, v: unknown[]) => db.admin.query(sql, v).then((r) => r.rows[0]);
      return {
        token: (
          await q('select revoked_at is not null as revoked from api_tokens where id = $1', [c.tokenId])
        ).revoked,
        grant: await q(
          'select revoked_at is not null as revoked, revoked_reason as reason from oauth_grants where id = $1',
          [c.grantId],
        ),
        codesLeft: Number(
          (await q('select count(*) from oauth_codes where user_id = $1 and used_at is null', [c.userId]))
            .count,
        ),
        audited: (
          await db.admin.query(
            `select action, target_id as "targetId", data->>'reason' as reason from audit_logs
             where org_id = $1 and action in ('api_token.revoked', 'oauth_grant.revoked') and target_id = any($2::text[])
             order by action`,
            [org.orgId, [c.tokenId, c.grantId]],
          )
        ).rows,
        // How every API instance's token cache hears of it (api/token-cache.ts).
        told: (
          await db.admin.query(
            `select event_type as type, aggregate_id::text as id from outbox
             where org_id = $1 and aggregate_id = any($2::uuid[]) order by aggregate_type`,
            [org.orgId, [c.tokenId, c.grantId]],
          )
        ).rows,
      };
    };
    const ended = (c: { tokenId: string; grantId: string }) => ({
      token: true,
      grant: { revoked: true, reason: 'member_removed' },
      codesLeft: 0,
      audited: [
        { action: 'api_token.revoked', targetId: c.tokenId, reason: 'member_removed' },
        { action: 'oauth_grant.revoked', targetId: c.grantId, reason: 'member_removed' },
      ],
      told: [
        { type: 'api_token.revoked', id: c.tokenId },
        { type: 'api_token.revoked', id: c.grantId },
      ],
    });

    // The Discord role taken away: the bot ends the membership, and what the person made ends with it.
    const rin = await staffWithCredentials('Rin');
    expect((await credentials(rin)).token).toBe(false);
    await withTenant(db.app, org.orgId, (tx) => discordStaffAccess(tx, guildId, rin.userId, [], false));
    expect(await credentials(rin)).toEqual(ended(rin));
    // Given the role again: a new membership, none of the old credentials back.
    await withTenant(db.app, org.orgId, (tx) => discordStaffAccess(tx, guildId, rin.userId, [mods], true));
    expect((await credentials(rin)).grant.revoked).toBe(true);
    expect((await credentials(rin)).token).toBe(true);

    // The mapping itself removed: everyone who was staff through it.
    const kai = await staffWithCredentials('Kai');
    await withTenant(db.app, org.orgId, (tx) => removeRoleMapping(tx, guildId, mods, org.owner));
    expect(await credentials(kai)).toEqual(ended(kai));

    // The guild unlinked: its mappings go, and every membership they made goes with them, in the
    // same transaction; one made by the org's other linked guild stays.
    const other = '987654321098765439';
    const linked = await withTenant(db.app, org.orgId, (tx) => createGuildLinkCode(tx, org.owner));
    await redeemGuildLinkCode(db.app, { code: linked.code, guildId: other, guildName: 'Other' }, org.owner);
    await withTenant(db.app, org.orgId, async (tx) => {
      await setRoleMapping(tx, { guildId, discordRoleId: mods, roleKey: 'moderator' }, org.owner);
      await setRoleMapping(tx, { guildId: other, discordRoleId: mods, roleKey: 'agent' }, org.owner);
    });
    const ana = await staffWithCredentials('Ana');
    const ode = await createUser(db.app, { displayName: 'Ode' });
    await withTenant(db.app, org.orgId, (tx) => discordStaffAccess(tx, other, ode.id, [mods], true));
    await withTenant(db.app, org.orgId, (tx) => unlinkGuild(tx, guildId, org.owner));
    expect(await credentials(ana)).toEqual(ended(ana));
    const members = await db.admin.query<{ user_id: string }>(
      'select user_id from memberships where org_id = $1 and user_id = any($2::uuid[])',
      [org.orgId, [ana.userId, ode.id]],
    );
    expect(members.rows.map((m) => m.user_id)).toEqual([ode.id]);
    const removed = await db.admin.query(
      `select data->>'reason' as reason from audit_logs
       where org_id = $1 and action = 'member.removed' and target_id = $2`,
      [org.orgId, ana.userId],
    );
    expect(removed.rows).toEqual([{ reason: 'guild_unlinked' }]);
  });

  it('two /setup create at once for one guild make one organization; the other is a conflict', async () => {
    const guildId = '987654321098765432';
    const owner = await createUser(db.app, { displayName: 'Racing owner' });
    const make = () =>
      createOrgForGuild(
        db.app,
        { guildId, guildName: 'Racing Guild', ownerUserId: owner.id },
        {
          type: 'user',
          id: owner.id,
        },
      );
    const results = await Promise.allSettled([make(), make(), make()]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'conflict' });
    const orgs = await db.admin.query(
      `select count(*)::int as n from organizations where name = 'Racing Guild'`,
    );
    expect(orgs.rows[0].n).toBe(1);
  });

  it('redeeming a link code writes its audit entry with the link, in one transaction', async () => {
    const org = await makeOrg(db.app, 'Audited');
    const { code } = await withTenant(db.app, org.orgId, (tx) => createGuildLinkCode(tx, org.owner));
    const guildId = '987654321098765433';
    await redeemGuildLinkCode(db.app, { code, guildId, guildName: 'Audited' }, org.owner);
    const audit = await db.admin.query(
      `select count(*)::int as n from audit_logs where org_id = $1 and action = 'guild.linked' and target_id = $2`,
      [org.orgId, guildId],
    );
    expect(audit.rows[0].n).toBe(1);
  });

  it('link codes are single use, hashed, and link the guild; unlink removes it', async () => {
    const org = await makeOrg(db.app, 'Links');
    const { code, expiresAt } = await withTenant(db.app, org.orgId, (tx) =>
      createGuildLinkCode(tx, org.owner),
    );
    expect(code).toMatch(/^GM-[A-Z2-9]{10}$/);
    expect(expiresAt.getTime()).toBeGreaterThan(Date.now());
    const stored = await db.admin.query('select code_hash from guild_link_codes where org_id = $1', [
      org.orgId,
    ]);
    // Only the hash is stored: exactly sha256 of the code, never the code itself.
    expect(Buffer.compare(stored.rows[0].code_hash, createHash('sha256').update(code).digest())).toBe(0);
    expect(stored.rows[0].code_hash.includes(Buffer.from(code))).toBe(false);
    expect(await redeemGuildLinkCode(db.app, { code, guildId: GUILD, guildName: 'Server' }, org.owner)).toBe(
      org.orgId,
    );
    await expect(
      redeemGuildLinkCode(db.app, { code, guildId: GUILD, guildName: 'Server' }),
    ).rejects.toMatchObject({
      code: 'not_found',
    });
    expect(await orgForGuild(db.app, GUILD)).toBe(org.orgId);
    const other = await makeOrg(db.app, 'Other');
    const c2 = await withTenant(db.app, other.orgId, (tx) => createGuildLinkCode(tx, other.owner));
    await expect(
      redeemGuildLinkCode(db.app, { code: c2.code, guildId: GUILD, guildName: 'x' }),
    ).rejects.toMatchObject({
      code: 'conflict',
      message: 'this server is already linked to another organization',
    });
    const guilds = await withTenant(db.app, org.orgId, (tx) => listGuilds(tx));
    expect(guilds.map((g) => g.guildId)).toEqual([GUILD]);
    expect(await withTenant(db.app, other.orgId, (tx) => listGuilds(tx))).toEqual([]);
    await withTenant(db.app, org.orgId, (tx) => unlinkGuild(tx, GUILD, org.owner));
    expect(await orgForGuild(db.app, GUILD)).toBeNull();
    const audit = await db.admin.query(
      `select action from audit_logs where org_id = $1 and action like 'guild.%' order by id`,
      [org.orgId],
    );
    expect(audit.rows.map((r) => r.action)).toEqual([
      'guild.link_code_created',
      'guild.linked',
      'guild.unlinked',
    ]);
  });

  it('settings merge per category and are validated as a whole', async () => {
    const org = await makeOrg(db.app, 'Settings');
    const { code } = await withTenant(db.app, org.orgId, (tx) => createGuildLinkCode(tx, org.owner));
    const guildId = '223456789012345678';
    await redeemGuildLinkCode(db.app, { code, guildId, guildName: 'S' });
    const cat = '00000000-0000-4000-8000-000000000001';
    await withTenant(db.app, org.orgId, async (tx) => {
      await updateGuildSettings(
        tx,
        guildId,
        { categories: { [cat]: { mode: 'forum', channelId: '323456789012345678' } } },
        org.owner,
      );
      await updateGuildSettings(
        tx,
        guildId,
        { categories: { [cat]: { overflowCategoryIds: ['423456789012345678'] } } },
        org.owner,
      );
      await expect(
        updateGuildSettings(tx, guildId, { maxOpenPerPlayer: 0 }, org.owner),
      ).rejects.toMatchObject({
        code: 'validation_failed',
      });
    });
    const g = await withTenant(db.app, org.orgId, (tx) => getGuild(tx, guildId));
    expect(g.settings.categories?.[cat]).toEqual({
      mode: 'forum',
      channelId: '323456789012345678',
      overflowCategoryIds: ['423456789012345678'],
    });
  });
});

describe('db/categories', () => {
  it('holds at most 5 questions with Discord’s label limits, unique keys', async () => {
    const org = await makeOrg(db.app, 'Cats');
    const q = (key: string) => ({ key, label: `Question ${key}` });
    await withTenant(db.app, org.orgId, async (tx) => {
      const c = await createCategory(tx, { name: 'Bugs', questions: [q('a'), q('b')] }, org.owner);
      expect(c.questions).toEqual([
        { key: 'a', label: 'Question a', style: 'short', required: true },
        { key: 'b', label: 'Question b', style: 'short', required: true },
      ]);
      await expect(
        createCategory(tx, { name: 'Six', questions: ['a', 'b', 'c', 'd', 'e', 'f'].map(q) }, org.owner),
      ).rejects.toMatchObject({
        code: 'validation_failed',
        message: expect.stringContaining('at most 5 questions'),
      });
      await expect(
        createCategory(tx, { name: 'Dup', questions: [q('a'), q('a')] }, org.owner),
      ).rejects.toMatchObject({
        code: 'validation_failed',
      });
      await expect(
        createCategory(tx, { name: 'Long', questions: [{ key: 'x', label: 'x'.repeat(46) }] }, org.owner),
      ).rejects.toMatchObject({ code: 'validation_failed' });
      const u = await updateCategory(tx, c.id, { ticketMode: 'forum', description: 'Crashes' }, org.owner);
      expect(u).toMatchObject({ ticketMode: 'forum', description: 'Crashes', name: 'Bugs' });
      await archiveCategory(tx, c.id, org.owner);
      expect(await listCategories(tx)).toEqual([]);
      expect((await listCategories(tx, { includeArchived: true })).map((x) => x.name)).toEqual(['Bugs']);
    });
  });
});

describe('db/canned-replies', () => {
  it('CRUD, shortcuts unique per org, and variables rendered', async () => {
    const org = await makeOrg(db.app, 'Canned');
    await withTenant(db.app, org.orgId, async (tx) => {
      const r = await createCannedReply(
        tx,
        { shortcut: 'Refund', title: 'Refund', body: 'Hi {player}, #{ticket}' },
        org.owner,
      );
      expect(r.shortcut).toBe('refund');
      await updateCannedReply(tx, r.id, { body: 'Hello {player}, about #{ticket} ({unknown})' }, org.owner);
      expect((await getCannedReply(tx, 'refund')).body).toBe('Hello {player}, about #{ticket} ({unknown})');
      expect((await listCannedReplies(tx, { search: 'ref' })).map((c) => c.shortcut)).toEqual(['refund']);
      await deleteCannedReply(tx, r.id, org.owner);
      await expect(getCannedReply(tx, 'refund')).rejects.toMatchObject({ code: 'not_found' });
    });
    expect(
      renderCannedReply('Hello {player}, about #{ticket} ({unknown}) {agent}', { player: 'Ana', ticket: 42 }),
    ).toBe('Hello Ana, about #42 ({unknown}) {agent}');
  });
});
