import type { Actor } from './changes.js';
import { type DiscordTicket, ticketInChannelSql } from './discord-sync.js';
import { type DiscordStaffAccess, discordStaffAccess, followsRolesHere } from './guild-roles.js';
import { upsertPlayer } from './players.js';
import { snowflake } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * A Discord member's standing in an org as one statement reads it: their account, what their
 * Discord roles map to, and their membership. An interaction resolves its caller with this
 * single round trip; only when the membership must change does `discordStaffAccess` (which
 * locks the row and writes) run as well.
 */
export interface DiscordStanding {
  /** The user linked to the Discord account, or null (no account is made here). */
  userId: string | null;
  /** The union of the permissions of the org roles the Discord roles map to (never owner). */
  mappedPermissions: Set<string>;
  /** The mapped role with the most permissions: the one a first staff action joins with. */
  bestRoleId: string | null;
  /** The membership, its marker when the bot made it from a mapping, and its role's permissions. */
  membership: {
    roleId: string;
    grantRoleId: string | null;
    /** The guild whose role mapping made a marked membership: the only one whose roles revise it. */
    grantGuildId: string | null;
    permissions: Set<string>;
  } | null;
}

interface Row {
  userId: string | null;
  mapped: string[];
  bestRoleId: string | null;
  roleId: string | null;
  grantRoleId: string | null;
  grantGuildId: string | null;
  own: string[];
}

// The account is global (no tenant column); everything else is read under the tenant's policy.
// The mapped roles are ordered as permissionsForDiscordRoles orders them, so both pick the same.
const STANDING = `
  with account as (
    select user_id from discord_accounts where discord_user_id = $3::text
  ), mapped as (
    select m.role_id, array_agg(rp.permission_key) as perms, count(*) as n
    from discord_role_mappings m
    join roles r on r.org_id = m.org_id and r.id = m.role_id and r.key <> 'owner'
    join role_permissions rp on rp.org_id = m.org_id and rp.role_id = m.role_id
    where m.org_id = $1::uuid and m.guild_id = $2::text and m.discord_role_id = any($4::text[])
    group by m.role_id
  )
  select a.user_id as "userId",
    coalesce((select array_agg(distinct p) from mapped, unnest(mapped.perms) p), '{}') as mapped,
    (select role_id from mapped order by n desc, role_id limit 1) as "bestRoleId",
    ms.role_id as "roleId", g.role_id as "grantRoleId", g.guild_id as "grantGuildId",
    coalesce((select array_agg(rp.permission_key) from role_permissions rp
              where rp.org_id = ms.org_id and rp.role_id = ms.role_id), '{}') as own
  from (select 1) one
  left join account a on true
  left join memberships ms on ms.org_id = $1::uuid and ms.user_id = a.user_id
  left join discord_staff_grants g on g.org_id = ms.org_id and g.user_id = ms.user_id`;

// With the ticket of the channel the member acts or writes in, in the same round trip (its
// columns and the standing's have no name in common).
const STANDING_AND_TICKET = `select s.*, tk.* from (${STANDING}) s
  left join lateral (${ticketInChannelSql('$1', '$5')}) tk on true`;

/**
 * Reads a Discord member's standing in the tenant's org in one statement, without locking; with
 * `ticketIn` (a channel id), also the ticket of that thread, post or channel, as ticketForChannel
 * finds it: what every interaction and message in a ticket reads first.
 */
export async function readDiscordStanding(
  tx: Tx,
  guildId: string,
  discordUserId: string,
  discordRoleIds: readonly string[],
  ticketIn?: string,
): Promise<DiscordStanding & { ticketHere?: DiscordTicket }> {
  const values = [
    tx.orgId,
    parseInput(snowflake, guildId),
    parseInput(snowflake, discordUserId),
    discordRoleIds,
  ];
  if (ticketIn !== undefined) values.push(parseInput(snowflake, ticketIn));
  const r = await tx.query<Row & Partial<DiscordTicket>>(
    ticketIn === undefined ? STANDING : STANDING_AND_TICKET,
    values,
  );
  const { userId, mapped, bestRoleId, roleId, grantRoleId, grantGuildId, own, ...ticket } = r.rows[0] as Row &
    Partial<DiscordTicket>;
  return {
    userId,
    mappedPermissions: new Set(mapped),
    bestRoleId,
    membership: roleId ? { roleId, grantRoleId, grantGuildId, permissions: new Set(own) } : null,
    ...(ticketIn === undefined ? {} : { ticketHere: ticket.id ? (ticket as DiscordTicket) : undefined }),
  };
}

/**
 * What `discordStaffAccess` would answer, decided from a standing already read. When the answer
 * needs no write (the common case: a real member, a marked member whose mapped role is unchanged,
 * a person with no account) it costs no further statement and takes no lock; a membership to make,
 * move or remove goes through `discordStaffAccess`, which locks the row and reads it again, so two
 * interactions racing on one person still change it once.
 */
export async function discordAccessFromStanding(
  tx: Tx,
  guildId: string,
  standing: DiscordStanding,
  discordRoleIds: readonly string[],
  join: boolean,
  rolesKnown: boolean,
): Promise<DiscordStaffAccess> {
  const mapped = standing.mappedPermissions;
  const none = { memberPermissions: new Set<string>(), isMember: false };
  const { userId, membership: m, bestRoleId } = standing;
  if (!userId) return { permissions: mapped, ...none };
  if (m && !followsRolesHere(m, guildId, rolesKnown)) {
    return {
      permissions: new Set([...m.permissions, ...mapped]),
      // A marked membership seen away from its roles gives what it gives, but never counts as real.
      memberPermissions: m.grantRoleId === m.roleId ? new Set() : m.permissions,
      isMember: true,
    };
  }
  if (m && bestRoleId === m.roleId)
    return { permissions: mapped, memberPermissions: new Set(), isMember: true };
  if (!m && !(join && bestRoleId)) return { permissions: mapped, ...none };
  return discordStaffAccess(tx, guildId, userId, discordRoleIds, join, rolesKnown);
}

export type DiscordCaller = { userId: string | null; access: DiscordStaffAccess } | null;

/**
 * The caller's user id and access, read and (when it must change) written in the caller's
 * transaction; null for someone with a mapped role and no account yet, which the caller makes
 * with `upsertDiscordUser` (global, a transaction of its own) before asking again.
 */
export async function discordCaller(
  tx: Tx,
  guildId: string,
  person: { id: string; roleIds: readonly string[] },
  join: boolean,
  rolesKnown: boolean,
): Promise<DiscordCaller> {
  const standing = await readDiscordStanding(tx, guildId, person.id, person.roleIds);
  return callerFromStanding(tx, guildId, standing, person.roleIds, join, rolesKnown);
}

/** discordCaller from a standing already read (with the ticket of the channel, say). */
export async function callerFromStanding(
  tx: Tx,
  guildId: string,
  standing: DiscordStanding,
  roleIds: readonly string[],
  join: boolean,
  rolesKnown: boolean,
): Promise<DiscordCaller> {
  if (!standing.userId && standing.bestRoleId) return null;
  const access = await discordAccessFromStanding(tx, guildId, standing, roleIds, join, rolesKnown);
  return { userId: standing.userId, access };
}

/** The player profile of a Discord user in the tenant's org, made on first sight, as an actor. */
export async function discordPlayer(
  tx: Tx,
  person: { id: string; username: string; globalName: string | null },
): Promise<Actor & { type: 'player' }> {
  const player = await upsertPlayer(tx, {
    displayName: (person.globalName || person.username).slice(0, 100),
    discordUserId: person.id,
  });
  return { type: 'player', id: player.id };
}
