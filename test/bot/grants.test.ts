import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../db/changes.js';
import { removeRoleMapping } from '../../db/guild-roles.js';
import { addMember } from '../../db/memberships.js';
import { createRole } from '../../db/roles.js';
import { withTenant } from '../../db/tenant.js';
import { upsertDiscordUser } from '../../db/users.js';
import { type Harness, interact, startHarness } from './harness.js';

/**
 * /setup role and /setup unrole apply the same "grant at most what you hold" rule as the API
 * (db/grants.ts): a member whose own role holds roles.manage but little else can map a Discord
 * role only onto a role it covers, and can't unmap or replace a mapping onto a role above it.
 */

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  // The Discord server owner is a GameMod member with a narrow custom role that may map roles.
  const mapper = await upsertDiscordUser(h.db.app, { discordUserId: h.users.owner, username: 'owner' });
  await withTenant(h.db.app, h.org.orgId, async (tx) => {
    await createRole(
      tx,
      {
        key: 'mapper',
        name: 'Mapper',
        permissions: [
          'roles.manage',
          'org.read',
          'members.read',
          'tickets.read',
          'players.read',
          'reports.read',
          'analytics.read',
        ],
      },
      SYSTEM,
    );
    await addMember(tx, { userId: mapper.id, role: 'mapper' }, SYSTEM);
    // @Agent starts unmapped; @Moderator stays mapped onto moderator (above the mapper).
    await removeRoleMapping(tx, h.guild.id, h.guild.roles['Agent'] ?? '', SYSTEM);
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const setup = (subcommand: string, options: { name: string; value: string; type?: number }[]) =>
  interact(h, {
    kind: 'chatInput',
    name: 'setup',
    subcommand,
    guildId: h.guild.id,
    channelId: h.guild.channels['support'] ?? '',
    userId: h.users.owner,
    options,
  });
const role = (name: string) => ({ name: 'role', value: h.guild.roles[name] ?? '', type: 8 });

async function mappings(): Promise<Record<string, string>> {
  const r = await h.db.admin.query(
    `select m.discord_role_id as id, r.key from discord_role_mappings m join roles r on r.id = m.role_id
     where m.guild_id = $1`,
    [h.guild.id],
  );
  return Object.fromEntries(r.rows.map((x) => [x.id, x.key]));
}

async function auditRows(): Promise<number> {
  const r = await h.db.admin.query('select count(*)::int as n from audit_logs where org_id = $1', [
    h.org.orgId,
  ]);
  return r.rows[0].n;
}

/** The mappings before these tests act. */
const initial = () => ({ [h.guild.roles['Moderator'] ?? '']: 'moderator' });

describe('/setup role: not above the granter', () => {
  it('refuses a mapping onto a role carrying permissions the granter lacks, naming them', async () => {
    const before = await auditRows();
    const a = await setup('role', [role('Agent'), { name: 'as', value: 'moderator' }]);
    expect(a.content).toMatch(/you can't grant .*tickets\.reply.*: you don't hold them/);
    const admin = await setup('role', [role('Agent'), { name: 'as', value: 'admin' }]);
    expect(admin.content).toContain('members.manage');
    expect(await mappings()).toEqual(initial());
    expect(await auditRows()).toBe(before);
  });

  it('refuses to unmap or replace a mapping onto a role above the granter', async () => {
    const before = await auditRows();
    const un = await setup('unrole', [role('Moderator')]);
    expect(un.content).toMatch(/can't change this mapping: .*tickets\.reply/);
    const replace = await setup('role', [role('Moderator'), { name: 'as', value: 'viewer' }]);
    expect(replace.content).toContain('tickets.reply');
    expect(await mappings()).toEqual(initial());
    expect(await auditRows()).toBe(before);
  });

  it('maps a Discord role onto a role the granter covers, and unmaps it', async () => {
    const agent = h.guild.roles['Agent'] ?? '';
    const ok = await setup('role', [role('Agent'), { name: 'as', value: 'viewer' }]);
    expect(ok.content).toMatch(/now acts as \*\*viewer\*\*/);
    expect((await mappings())[agent]).toBe('viewer');
    const un = await setup('unrole', [role('Agent')]);
    expect(un.content).toMatch(/no longer mapped/);
    expect((await mappings())[agent]).toBeUndefined();
  });
});
