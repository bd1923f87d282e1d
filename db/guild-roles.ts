import { z } from 'zod';
import { refuse } from '../lib/i18n/refusal.js';
import { revokeApiTokensOf } from './api-tokens.js';
import { type Actor, recordChange, SYSTEM } from './changes.js';
import { heldBy, lockGrants, OWNER, type RoleGrant, requireHeld, roleGrant } from './grants.js';
import { revokeGrantsOf } from './oauth-tokens.js';
import { snowflake } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * Discord roles mapped onto org roles in a guild, and the standing a guild member gets from
 * them: the permissions of their mapped roles, and memberships the bot makes and removes as the
 * roles come and go (marked in discord_staff_grants). Mapping follows db/grants.ts's rule: no one
 * hands out more than they hold.
 */

export const roleMappingInput = z.object({
  guildId: snowflake,
  discordRoleId: snowflake,
  /** The org role's key (owner, admin, moderator, agent, viewer or a custom one). */
  roleKey: z.string().trim().toLowerCase().min(1).max(40),
});

export interface RoleMapping {
  discordRoleId: string;
  roleId: string;
  roleKey: string;
}

export async function setRoleMapping(
  tx: Tx,
  raw: z.input<typeof roleMappingInput>,
  actor: Actor,
): Promise<RoleMapping> {
  const input = parseInput(roleMappingInput, raw);
  if (input.roleKey === OWNER)
    throw refuse('forbidden', 'deny.discordOwner', {}, undefined, {
      reason: 'owner_only',
      permissions: [OWNER],
    });
  // A mapping hands its role to everyone with the Discord role: the same rule as giving it to one
  // member (db/grants.ts), for the role it maps onto and for the one it replaces.
  await lockGrants(tx);
  const role = await roleGrant(tx, { key: input.roleKey });
  const held = await heldBy(tx, actor);
  const replaced = await mappedRole(tx, input.guildId, input.discordRoleId);
  if (replaced) requireHeld(held, replaced.grants, 'unmap');
  requireHeld(held, role.grants, 'grant');
  const roleId = role.id;
  await tx.query(
    `insert into discord_role_mappings (org_id, guild_id, discord_role_id, role_id)
     values ($1::uuid, $2::text, $3::text, $4::uuid)
     on conflict (guild_id, discord_role_id) do update set role_id = excluded.role_id`,
    [tx.orgId, input.guildId, input.discordRoleId, roleId],
  );
  await recordChange(tx, actor, {
    action: 'guild.role_mapped',
    target: { type: 'guild', id: input.guildId },
    data: { discordRoleId: input.discordRoleId, role: input.roleKey },
  });
  return { discordRoleId: input.discordRoleId, roleId, roleKey: input.roleKey };
}

export async function removeRoleMapping(
  tx: Tx,
  guildId: string,
  discordRoleId: string,
  actor: Actor,
): Promise<boolean> {
  await lockGrants(tx);
  const current = await mappedRole(tx, parseInput(snowflake, guildId), parseInput(snowflake, discordRoleId));
  if (!current) return false;
  // Unmapping takes a role away from everyone who acts through it: not for a role above the actor.
  requireHeld(await heldBy(tx, actor), current.grants, 'unmap');
  const r = await tx.query(
    'delete from discord_role_mappings where org_id = $1::uuid and guild_id = $2::text and discord_role_id = $3::text',
    [tx.orgId, guildId, discordRoleId],
  );
  if (!r.rowCount) return false;
  // Members who were staff only through a role no longer mapped in the guild that gave it lose
  // that membership at once (the others are re-checked the next time they act there).
  const gone = await tx.query<{ userId: string }>(
    `select g.user_id as "userId" from discord_staff_grants g
     where g.org_id = $1::uuid
       and not exists (select 1 from discord_role_mappings m
                       where m.org_id = g.org_id and m.guild_id = g.guild_id and m.role_id = g.role_id)`,
    [tx.orgId],
  );
  for (const g of gone.rows) await removeDerivedMembership(tx, g.userId, 'role_unmapped');
  await recordChange(tx, actor, {
    action: 'guild.role_unmapped',
    target: { type: 'guild', id: guildId },
    data: { discordRoleId },
  });
  return true;
}

/** The org role a Discord role is mapped onto in this guild (its row locked), or null. */
async function mappedRole(tx: Tx, guildId: string, discordRoleId: string): Promise<RoleGrant | null> {
  const r = await tx.query<{ roleId: string }>(
    `select role_id as "roleId" from discord_role_mappings
     where org_id = $1::uuid and guild_id = $2::text and discord_role_id = $3::text for update`,
    [tx.orgId, guildId, discordRoleId],
  );
  return r.rows[0] ? roleGrant(tx, { id: r.rows[0].roleId }) : null;
}

export async function listRoleMappings(tx: Tx, guildId: string): Promise<RoleMapping[]> {
  const r = await tx.query<RoleMapping>(
    `select m.discord_role_id as "discordRoleId", m.role_id as "roleId", r.key as "roleKey"
     from discord_role_mappings m join roles r on r.org_id = m.org_id and r.id = m.role_id
     where m.org_id = $1::uuid and m.guild_id = $2::text order by m.created_at`,
    [tx.orgId, guildId],
  );
  return r.rows;
}

/**
 * What a guild member may do through their Discord roles: the union of the permissions of the
 * org roles those roles map to, and the mapped role with the most permissions (the one a first
 * staff action joins them to the org with). A mapping onto owner never counts: ownership is
 * given in the panel, not by a Discord role.
 */
export async function permissionsForDiscordRoles(
  tx: Tx,
  guildId: string,
  discordRoleIds: readonly string[],
): Promise<{ permissions: Set<string>; bestRoleId: string | null }> {
  if (discordRoleIds.length === 0) return { permissions: new Set(), bestRoleId: null };
  const r = await tx.query<{ roleId: string; perms: string[] }>(
    `select m.role_id as "roleId", array_agg(rp.permission_key) as perms
     from discord_role_mappings m
     join roles r on r.org_id = m.org_id and r.id = m.role_id and r.key <> 'owner'
     join role_permissions rp on rp.org_id = m.org_id and rp.role_id = m.role_id
     where m.org_id = $1::uuid and m.guild_id = $2::text and m.discord_role_id = any($3::text[])
     group by m.role_id order by count(*) desc, m.role_id`,
    [tx.orgId, guildId, discordRoleIds],
  );
  return { permissions: new Set(r.rows.flatMap((x) => x.perms)), bestRoleId: r.rows[0]?.roleId ?? null };
}

export interface DiscordStaffAccess {
  /** Everything the person may do now: their real membership's permissions and their mapped roles'. */
  permissions: Set<string>;
  /** Only what a real membership (one not made from a Discord role) gives: what /setup role needs. */
  memberPermissions: Set<string>;
  /** Whether the person is (still) a member of the org after this call. */
  isMember: boolean;
}

/**
 * A Discord member's standing in the org, derived afresh from their current Discord roles.
 * Memberships the bot made from a role mapping (marked in discord_staff_grants) carry no
 * permissions of their own: they follow the mapping, change role with it, and are removed once
 * no mapped role is left, so taking a Discord role away takes the permissions away. Only the
 * guild whose mapping made the membership revises it, and only with the roles known: acting in
 * the org's other linked guild or in a DM leaves it as it is. Its teams come back with it. With
 * `join`, a person with a mapped role and no membership becomes a (marked) member, so
 * assignments and the audit log can name them.
 */
export async function discordStaffAccess(
  tx: Tx,
  guildId: string,
  userId: string | null,
  discordRoleIds: readonly string[],
  join: boolean,
  /** False when the roles are not known (a DM, a message without its member): then nothing is revoked. */
  rolesKnown = true,
): Promise<DiscordStaffAccess> {
  const mapped = await permissionsForDiscordRoles(tx, guildId, discordRoleIds);
  const empty = { memberPermissions: new Set<string>(), isMember: false };
  if (!userId) return { permissions: mapped.permissions, ...empty };
  const m = await tx.query<{ roleId: string; grantRoleId: string | null; grantGuildId: string | null }>(
    `select m.role_id as "roleId", g.role_id as "grantRoleId", g.guild_id as "grantGuildId"
     from memberships m
     left join discord_staff_grants g on g.org_id = m.org_id and g.user_id = m.user_id
     where m.org_id = $1::uuid and m.user_id = $2::uuid for update of m`,
    [tx.orgId, userId],
  );
  const row = m.rows[0];
  if (row && !followsRolesHere(row, guildId, rolesKnown)) {
    // A real membership, or a marked one these roles don't decide: its role's permissions, plus
    // whatever the Discord roles here add.
    const own = await tx.query<{ p: string }>(
      'select permission_key as p from role_permissions where org_id = $1::uuid and role_id = $2::uuid',
      [tx.orgId, row.roleId],
    );
    const ownPermissions = new Set(own.rows.map((x) => x.p));
    // A marked membership seen away from its roles gives what it gives, but never counts as real.
    const memberPermissions = row.grantRoleId === row.roleId ? new Set<string>() : ownPermissions;
    return {
      permissions: new Set([...ownPermissions, ...mapped.permissions]),
      memberPermissions,
      isMember: true,
    };
  }
  if (row) {
    if (!mapped.bestRoleId) {
      await removeDerivedMembership(tx, userId, 'discord_role_removed');
      return { permissions: mapped.permissions, ...empty };
    }
    if (mapped.bestRoleId !== row.roleId) {
      await tx.query(
        'update memberships set role_id = $3::uuid where org_id = $1::uuid and user_id = $2::uuid',
        [tx.orgId, userId, mapped.bestRoleId],
      );
      await tx.query(
        'update discord_staff_grants set role_id = $3::uuid where org_id = $1::uuid and user_id = $2::uuid',
        [tx.orgId, userId, mapped.bestRoleId],
      );
      await recordChange(tx, SYSTEM, {
        action: 'member.role_changed',
        target: { type: 'user', id: userId },
        data: { via: 'discord_role_mapping', from: row.roleId, to: mapped.bestRoleId },
      });
    }
    return { permissions: mapped.permissions, memberPermissions: new Set(), isMember: true };
  }
  if (join && mapped.bestRoleId) {
    await ensureStaffMember(tx, userId, mapped.bestRoleId, guildId);
    return { permissions: mapped.permissions, memberPermissions: new Set(), isMember: true };
  }
  return { permissions: mapped.permissions, ...empty };
}

/**
 * Whether this guild's roles, as known now, decide a membership: only a marked one (its role
 * still the one the mapping gave) and only in the guild whose mapping made it. The same person in
 * the org's other linked guild, or in a DM, shows nothing about that guild's roles, so there the
 * membership stays as it is and gives what its role gives.
 */
export function followsRolesHere(
  m: { roleId: string; grantRoleId: string | null; grantGuildId: string | null },
  guildId: string,
  rolesKnown: boolean,
): boolean {
  return m.grantRoleId === m.roleId && rolesKnown && m.grantGuildId === guildId;
}

/**
 * Ends the membership a guild's role mapping made for someone Discord says is no longer in that
 * guild (they left, or were kicked or banned): the bot is not told when a member leaves (that
 * needs the privileged GuildMembers intent), so whoever reads their member object and hears
 * "Unknown Member" calls this. Only a marked membership from this very guild ends; a real one,
 * or one from the org's other linked guild, stays. Returns whether one ended.
 */
export async function endMembershipOfLeaver(tx: Tx, guildId: string, userId: string): Promise<boolean> {
  const g = await tx.query(
    `select 1 from memberships m
     join discord_staff_grants g on g.org_id = m.org_id and g.user_id = m.user_id and g.role_id = m.role_id
     where m.org_id = $1::uuid and m.user_id = $2::uuid and g.guild_id = $3::text for update of m`,
    [tx.orgId, userId, parseInput(snowflake, guildId)],
  );
  if (!g.rowCount) return false;
  await removeDerivedMembership(tx, userId, 'left_server');
  return true;
}

/**
 * Ends every membership a guild's role mappings made, when the guild is unlinked from the org:
 * its roles decide nothing here any more, and nothing would ever revise those memberships again.
 */
export async function endMembershipsOfGuild(tx: Tx, guildId: string): Promise<number> {
  const r = await tx.query<{ userId: string }>(
    `select m.user_id as "userId" from memberships m
     join discord_staff_grants g on g.org_id = m.org_id and g.user_id = m.user_id and g.role_id = m.role_id
     where m.org_id = $1::uuid and g.guild_id = $2::text order by m.user_id for update of m`,
    [tx.orgId, parseInput(snowflake, guildId)],
  );
  for (const m of r.rows) await removeDerivedMembership(tx, m.userId, 'guild_unlinked');
  return r.rows.length;
}

/**
 * Ends a membership the bot made from a role mapping, when the person no longer has a mapped role
 * in its guild or the mapping is gone: audited as a removal, and taking their credentials with it.
 */
async function removeDerivedMembership(tx: Tx, userId: string, reason: string): Promise<void> {
  // Its teams are kept aside (team_members cascades with the membership) for ensureStaffMember
  // to put back when the role returns; what was kept from an earlier time is stale by now.
  await tx.query('delete from derived_member_teams where org_id = $1::uuid and user_id = $2::uuid', [
    tx.orgId,
    userId,
  ]);
  const r = await tx.query(
    `with gone as (
       delete from memberships m using discord_staff_grants g
       where m.org_id = $1::uuid and m.user_id = $2::uuid
         and g.org_id = m.org_id and g.user_id = m.user_id and g.role_id = m.role_id
       returning m.user_id
     ), kept as (
       insert into derived_member_teams (org_id, user_id, team_id)
       select tm.org_id, tm.user_id, tm.team_id from team_members tm
       where tm.org_id = $1::uuid and tm.user_id = $2::uuid and exists (select 1 from gone)
     )
     select 1 from gone`,
    [tx.orgId, userId],
  );
  if (!r.rowCount) return;
  await recordChange(tx, SYSTEM, {
    action: 'member.removed',
    target: { type: 'user', id: userId },
    data: { via: 'discord_role_mapping', reason },
    event: {
      type: 'member.removed',
      aggregateType: 'member',
      aggregateId: userId,
      payload: { userId, via: 'discord_role_mapping', reason },
    },
  });
  // Ended as removeMember ends one: the API tokens the person made and the OAuth grants they gave
  // here are revoked for good (each audited, every instance's token cache told through the
  // outbox), so the role coming back brings a membership back, never their credentials.
  await revokeApiTokensOf(tx, userId, 'member_removed', SYSTEM);
  await revokeGrantsOf(tx, userId, SYSTEM);
}

/**
 * Makes a staff member who acts through a mapped Discord role a member of the org (with that
 * role), marked as derived from the mapping. Existing memberships are left alone.
 */
export async function ensureStaffMember(
  tx: Tx,
  userId: string,
  roleId: string,
  guildId: string,
): Promise<void> {
  const r = await tx.query(
    `insert into memberships (org_id, user_id, role_id) values ($1::uuid, $2::uuid, $3::uuid)
     on conflict do nothing`,
    [tx.orgId, userId, roleId],
  );
  if (r.rowCount) {
    await tx.query(
      `insert into discord_staff_grants (org_id, user_id, role_id, guild_id)
       values ($1::uuid, $2::uuid, $3::uuid, $4::text)`,
      [tx.orgId, userId, roleId, parseInput(snowflake, guildId)],
    );
    // Back on the teams an earlier derived membership had (those still there): a role taken away
    // and given back does not undo an admin's team assignment.
    const teams = await tx.query<{ teamId: string }>(
      `with kept as (
         delete from derived_member_teams where org_id = $1::uuid and user_id = $2::uuid returning team_id
       )
       insert into team_members (org_id, team_id, user_id)
       select $1::uuid, team_id, $2::uuid from kept on conflict do nothing
       returning team_id as "teamId"`,
      [tx.orgId, userId],
    );
    await recordChange(tx, SYSTEM, {
      action: 'member.added',
      target: { type: 'user', id: userId },
      data: {
        via: 'discord_role_mapping',
        roleId,
        ...(teams.rowCount ? { teams: teams.rows.map((t) => t.teamId) } : {}),
      },
      event: {
        type: 'member.added',
        aggregateType: 'member',
        aggregateId: userId,
        payload: { userId, roleId, via: 'discord_role_mapping' },
      },
    });
  }
}

/** The Discord roles of a guild whose org role can work tickets: the ones a new ticket brings in. */
export async function staffDiscordRoles(tx: Tx, guildId: string): Promise<string[]> {
  const r = await tx.query<{ id: string }>(
    `select distinct m.discord_role_id as id from discord_role_mappings m
     join role_permissions rp on rp.org_id = m.org_id and rp.role_id = m.role_id and rp.permission_key = 'tickets.reply'
     where m.org_id = $1::uuid and m.guild_id = $2::text order by 1`,
    [tx.orgId, guildId],
  );
  return r.rows.map((x) => x.id);
}
