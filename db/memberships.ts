import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { revokeApiTokensOf } from './api-tokens.js';
import { type Actor, recordChange } from './changes.js';
import { mapDbError } from './errors.js';
import {
  heldBy,
  lockGrants,
  OWNER,
  type RoleGrant,
  requireAnotherOwner,
  requireHeld,
  roleGrant,
} from './grants.js';
import { revokeGrantsOf } from './oauth-tokens.js';
import type { Pool } from './pool.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

export interface Member {
  userId: string;
  displayName: string;
  roleKey: string;
  joinedAt: Date;
}

const roleKey = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/);

export const addMemberInput = z.object({ userId: id, role: roleKey });

/**
 * Adds a member. Like every path that hands out a role, the actor must hold everything the role
 * carries (owners alone add owners): see db/grants.ts.
 */
export async function addMember(tx: Tx, raw: z.input<typeof addMemberInput>, actor: Actor): Promise<void> {
  const input = parseInput(addMemberInput, raw);
  await lockGrants(tx);
  const role = await roleGrant(tx, { key: input.role });
  requireHeld(await heldBy(tx, actor), role.grants, 'grant');
  await tx.query('insert into memberships (org_id, user_id, role_id) values ($1::uuid, $2::uuid, $3::uuid)', [
    tx.orgId,
    input.userId,
    role.id,
  ]);
  await recordChange(tx, actor, {
    action: 'member.added',
    target: { type: 'user', id: input.userId },
    data: { role: input.role },
    event: {
      type: 'member.added',
      aggregateType: 'member',
      aggregateId: input.userId,
      payload: { userId: input.userId, role: input.role },
    },
  });
}

/** The member's current role, their row locked until the transaction ends. */
async function currentRole(tx: Tx, userId: string): Promise<RoleGrant> {
  const r = await tx.query<{ roleId: string }>(
    `select m.role_id as "roleId" from memberships m
     where m.org_id = $1::uuid and m.user_id = $2::uuid for update of m`,
    [tx.orgId, userId],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'not a member of this organization');
  return roleGrant(tx, { id: r.rows[0].roleId });
}

/**
 * Changes a member's role. The actor must hold everything both the member's current role and
 * the new one carry (so an admin can neither demote an owner nor make one), and the last owner
 * stays an owner. lockGrants first: two owners demoting each other run one after the other.
 */
export async function changeRole(tx: Tx, raw: z.input<typeof addMemberInput>, actor: Actor): Promise<void> {
  const input = parseInput(addMemberInput, raw);
  await lockGrants(tx);
  const from = await currentRole(tx, input.userId);
  const to = await roleGrant(tx, { key: input.role });
  const held = await heldBy(tx, actor);
  requireHeld(held, from.grants, 'change');
  requireHeld(held, to.grants, 'grant');
  if (from.id === to.id) return;
  if (to.key !== OWNER) await requireAnotherOwner(tx, from.key);
  await tx.query('update memberships set role_id = $3::uuid where org_id = $1::uuid and user_id = $2::uuid', [
    tx.orgId,
    input.userId,
    to.id,
  ]);
  await recordChange(tx, actor, {
    action: 'member.role_changed',
    target: { type: 'user', id: input.userId },
    data: { from: from.key, to: to.key },
  });
}

/**
 * Removes a member (and from their teams): not one whose role carries more than the actor holds,
 * nor the last owner. The credentials that acted within their standing die with it, for good
 * (each revocation audited): the API tokens they made and the OAuth grants they gave, so adding
 * them back later brings none of it back. Returns those ids, which the caller drops from its
 * token cache at once (other instances hear of them through the outbox).
 */
export async function removeMember(
  tx: Tx,
  userId: string,
  actor: Actor,
): Promise<{ revokedTokens: string[] }> {
  parseInput(id, userId);
  await lockGrants(tx);
  const role = await currentRole(tx, userId);
  requireHeld(await heldBy(tx, actor), role.grants, 'remove');
  await requireAnotherOwner(tx, role.key);
  await tx.query(
    `with t as (delete from team_members where org_id = $1::uuid and user_id = $2::uuid)
     delete from memberships where org_id = $1::uuid and user_id = $2::uuid`,
    [tx.orgId, userId],
  );
  await recordChange(tx, actor, {
    action: 'member.removed',
    target: { type: 'user', id: userId },
    data: { role: role.key },
    event: {
      type: 'member.removed',
      aggregateType: 'member',
      aggregateId: userId,
      payload: { userId, role: role.key },
    },
  });
  const tokens = await revokeApiTokensOf(tx, userId, 'member_removed', actor);
  const grants = await revokeGrantsOf(tx, userId, actor);
  return { revokedTokens: [...tokens, ...grants] };
}

export async function listMembers(tx: Tx): Promise<Member[]> {
  const r = await tx.query<Member>(
    `select m.user_id as "userId", u.display_name as "displayName", r.key as "roleKey", m.created_at as "joinedAt"
     from memberships m join roles r on r.org_id = m.org_id and r.id = m.role_id join users u on u.id = m.user_id
     where m.org_id = $1::uuid order by m.created_at`,
    [tx.orgId],
  );
  return r.rows;
}

/**
 * The permissions a user holds in this org (empty when not a member, or when the account is
 * disabled: a disabled person holds nothing anywhere, whatever their memberships). A membership
 * the bot made from a Discord role mapping (still marked in discord_staff_grants) gives nothing here: its
 * permissions follow the person's current Discord roles, which only the bot sees, so it opens
 * no panel until an admin gives the person a role of their own.
 */
export async function permissionsOf(tx: Tx, userId: string): Promise<Set<string>> {
  const r = await tx.query<{ key: string }>(
    `select rp.permission_key as key from memberships m
     join users u on u.id = m.user_id and u.disabled_at is null
     join role_permissions rp on rp.org_id = m.org_id and rp.role_id = m.role_id
     where m.org_id = $1::uuid and m.user_id = $2::uuid
       and not exists (select 1 from discord_staff_grants g
                       where g.org_id = m.org_id and g.user_id = m.user_id and g.role_id = m.role_id)`,
    [tx.orgId, parseInput(id, userId)],
  );
  return new Set(r.rows.map((x) => x.key));
}

/**
 * What a member needs to be handed tickets: `tickets.reply` to work them (as the bot decides which
 * Discord roles a new ticket brings in) and `tickets.read` to see them at all (the "assigned"
 * notice goes only to ticketReaders).
 */
export const TICKET_WORKER = ['tickets.read', 'tickets.reply'] as const;

/**
 * SQL: the membership aliased `m` holds, through its role, every permission key of the text array
 * placeholder `param` (such as `$3`). Shared by the statements that pick members by what they may
 * do, so they all decide it the same way.
 */
export const holdsEvery = (m: string, param: string) =>
  `(select count(*) from role_permissions rp
     where rp.org_id = ${m}.org_id and rp.role_id = ${m}.role_id
       and rp.permission_key = any(${param}::text[])) = cardinality(${param}::text[])`;

/**
 * Of these users, the members who hold every one of `permissions` now, not disabled. By default
 * (as permissionsOf) only in their own right: not through a membership the bot made from a
 * Discord role mapping, whose permissions follow Discord roles only the bot sees. With
 * `discordMapped`, such a membership counts with its role, as it does where the work itself is
 * done in Discord (being handed tickets: the bot keeps that role in step whenever they act).
 */
export async function membersHolding(
  tx: Tx,
  userIds: readonly string[],
  permissions: readonly string[],
  { discordMapped = false }: { discordMapped?: boolean } = {},
): Promise<Set<string>> {
  if (!userIds.length) return new Set();
  const wanted = [...new Set(permissions)];
  const r = await tx.query<{ userId: string }>(
    `select m.user_id as "userId" from memberships m
     join users u on u.id = m.user_id and u.disabled_at is null
     where m.org_id = $1::uuid and m.user_id = any($2::uuid[])
       and ($4::boolean or not exists (select 1 from discord_staff_grants g
                       where g.org_id = m.org_id and g.user_id = m.user_id and g.role_id = m.role_id))
       and ${holdsEvery('m', '$3')}`,
    [tx.orgId, userIds, wanted, discordMapped],
  );
  return new Set(r.rows.map((x) => x.userId));
}

/**
 * Why this member can't be handed tickets, or null when they can: not a member, disabled, or
 * their role lacks some of TICKET_WORKER. Unlike membersHolding, a membership made from a Discord
 * role mapping counts with its role here: the bot keeps that role in step with the person's
 * Discord roles whenever they act, and someone naming them (`/ticket assign`) just saw them.
 */
export async function ticketWorkerRefusal(
  tx: Tx,
  userId: string,
): Promise<{ reason: 'not_member' | 'disabled' | 'missing_permission'; lacking: string[] } | null> {
  const r = await tx.query<{ disabled: boolean; lacking: string[] }>(
    `select u.disabled_at is not null as disabled,
       array(select p from unnest($3::text[]) p
              where not exists (select 1 from role_permissions rp
                                where rp.org_id = m.org_id and rp.role_id = m.role_id and rp.permission_key = p)
              order by p) as lacking
     from memberships m join users u on u.id = m.user_id
     where m.org_id = $1::uuid and m.user_id = $2::uuid`,
    [tx.orgId, userId, TICKET_WORKER],
  );
  const row = r.rows[0];
  if (!row) return { reason: 'not_member', lacking: [] };
  if (row.disabled) return { reason: 'disabled', lacking: [] };
  if (row.lacking.length) return { reason: 'missing_permission', lacking: row.lacking };
  return null;
}

/** What a signed-in user may do in the org, and whether the org demands a second factor. */
export interface MemberAccess {
  permissions: Set<string>;
  requireTotp: boolean;
}

/**
 * The per-request access read of the API (api/plugins/auth.ts): the user's permissions (as
 * `permissionsOf`) and the org's TOTP rule in one round trip. No membership, or a disabled
 * account, no permissions: the caller answers as to a non-member. The users join is by primary
 * key, so the hot path costs what it did.
 */
export async function memberAccess(tx: Tx, userId: string): Promise<MemberAccess> {
  const r = await tx.query<{ keys: string[]; requireTotp: boolean | null }>(
    `select array(select rp.permission_key from memberships m
                    join users u on u.id = m.user_id and u.disabled_at is null
                    join role_permissions rp on rp.org_id = m.org_id and rp.role_id = m.role_id
                   where m.org_id = $1::uuid and m.user_id = $2::uuid
                     and not exists (select 1 from discord_staff_grants g
                                     where g.org_id = m.org_id and g.user_id = m.user_id and g.role_id = m.role_id)
                 )::text[] as keys,
            (select require_totp from organizations where id = $1::uuid) as "requireTotp"`,
    [tx.orgId, parseInput(id, userId)],
  );
  const row = r.rows[0];
  return { permissions: new Set(row?.keys ?? []), requireTotp: row?.requireTotp ?? false };
}

/** The orgs a user belongs to, with their role in each (a cross-tenant look-up: gm_orgs_for_user). */
export async function orgsOfUser(
  pool: Pool,
  userId: string,
): Promise<{ id: string; name: string; role: string }[]> {
  const r = await pool
    .query<{ id: string; name: string; role: string }>({
      text: 'select org_id as id, org_name as name, role_key as role from gm_orgs_for_user($1::uuid) order by org_name',
      values: [parseInput(id, userId)],
    })
    .catch((e) => {
      throw mapDbError(e);
    });
  return r.rows;
}
