import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import { mapDbError } from './errors.js';
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

async function roleId(tx: Tx, key: string): Promise<string> {
  const r = await tx.query<{ id: string }>(
    'select id from roles where org_id = $1::uuid and key = $2::text',
    [tx.orgId, key],
  );
  if (!r.rows[0]) throw new AppError('not_found', `no role "${key}" in this organization`);
  return r.rows[0].id;
}

export const addMemberInput = z.object({ userId: id, role: roleKey });

export async function addMember(tx: Tx, raw: z.input<typeof addMemberInput>, actor: Actor): Promise<void> {
  const input = parseInput(addMemberInput, raw);
  const rid = await roleId(tx, input.role);
  await tx.query('insert into memberships (org_id, user_id, role_id) values ($1::uuid, $2::uuid, $3::uuid)', [
    tx.orgId,
    input.userId,
    rid,
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

async function ownerCount(tx: Tx): Promise<number> {
  const r = await tx.query<{ n: number }>(
    `select count(*)::int as n from memberships m join roles r on r.org_id = m.org_id and r.id = m.role_id
     where m.org_id = $1::uuid and r.key = 'owner'`,
    [tx.orgId],
  );
  return r.rows[0]?.n ?? 0;
}

async function currentRole(tx: Tx, userId: string): Promise<string> {
  const r = await tx.query<{ key: string }>(
    `select r.key from memberships m join roles r on r.org_id = m.org_id and r.id = m.role_id
     where m.org_id = $1::uuid and m.user_id = $2::uuid for update of m`,
    [tx.orgId, userId],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'not a member of this organization');
  return r.rows[0].key;
}

export async function changeRole(tx: Tx, raw: z.input<typeof addMemberInput>, actor: Actor): Promise<void> {
  const input = parseInput(addMemberInput, raw);
  const from = await currentRole(tx, input.userId);
  if (from === input.role) return;
  if (from === 'owner' && (await ownerCount(tx)) <= 1) {
    throw new AppError('conflict', 'an organization keeps at least one owner');
  }
  const rid = await roleId(tx, input.role);
  await tx.query('update memberships set role_id = $3::uuid where org_id = $1::uuid and user_id = $2::uuid', [
    tx.orgId,
    input.userId,
    rid,
  ]);
  await recordChange(tx, actor, {
    action: 'member.role_changed',
    target: { type: 'user', id: input.userId },
    data: { from, to: input.role },
  });
}

export async function removeMember(tx: Tx, userId: string, actor: Actor): Promise<void> {
  parseInput(id, userId);
  const role = await currentRole(tx, userId);
  if (role === 'owner' && (await ownerCount(tx)) <= 1)
    throw new AppError('conflict', 'an organization keeps at least one owner');
  await tx.query(
    `with t as (delete from team_members where org_id = $1::uuid and user_id = $2::uuid)
     delete from memberships where org_id = $1::uuid and user_id = $2::uuid`,
    [tx.orgId, userId],
  );
  await recordChange(tx, actor, {
    action: 'member.removed',
    target: { type: 'user', id: userId },
    data: { role },
    event: {
      type: 'member.removed',
      aggregateType: 'member',
      aggregateId: userId,
      payload: { userId, role },
    },
  });
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
 * The permissions a user holds in this org (empty when not a member). A membership the bot made
 * from a Discord role mapping (still marked in discord_staff_grants) gives nothing here: its
 * permissions follow the person's current Discord roles, which only the bot sees, so it opens
 * no panel until an admin gives the person a role of their own.
 */
export async function permissionsOf(tx: Tx, userId: string): Promise<Set<string>> {
  const r = await tx.query<{ key: string }>(
    `select rp.permission_key as key from memberships m
     join role_permissions rp on rp.org_id = m.org_id and rp.role_id = m.role_id
     where m.org_id = $1::uuid and m.user_id = $2::uuid
       and not exists (select 1 from discord_staff_grants g
                       where g.org_id = m.org_id and g.user_id = m.user_id and g.role_id = m.role_id)`,
    [tx.orgId, parseInput(id, userId)],
  );
  return new Set(r.rows.map((x) => x.key));
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
