import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, changedAny, diffChanges, recordChange } from './changes.js';
import { asGrants, heldBy, lockGrants, OWNER, requireHeld } from './grants.js';
import { PERMISSIONS } from './permissions.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * An org's roles: the system roles made with the org (owner, admin, moderator, agent, viewer)
 * and custom roles. The owner role always holds every permission, so nobody can lock the org out
 * of its own settings; other system roles can be retuned; custom roles come and go (a role still
 * held by a member can't be deleted). Creating, editing and deleting a role all follow "grant at
 * most what you hold" (db/grants.ts).
 */
export interface Role {
  id: string;
  key: string;
  name: string;
  description: string | null;
  isSystem: boolean;
  permissions: string[];
  members: number;
}

const permission = z.enum(PERMISSIONS);
const permissionList = z
  .array(permission)
  .max(PERMISSIONS.length)
  .transform((p) => [...new Set(p)].sort());

export const createRoleInput = z.object({
  key: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9][a-z0-9_-]{0,49}$/, '1 to 50 lowercase letters, digits, - and _'),
  name: z.string().trim().min(1).max(100),
  description: z.string().trim().max(500).optional(),
  permissions: permissionList,
});

export const updateRoleInput = z
  .object({
    name: z.string().trim().min(1).max(100).optional(),
    description: z.string().trim().max(500).nullable().optional(),
    permissions: permissionList.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'nothing to change');

const SELECT = `select r.id, r.key, r.name, r.description, r.is_system as "isSystem",
    coalesce((select array_agg(rp.permission_key order by rp.permission_key) from role_permissions rp
              where rp.org_id = r.org_id and rp.role_id = r.id), '{}') as permissions,
    (select count(*)::int from memberships m where m.org_id = r.org_id and m.role_id = r.id) as members
  from roles r`;

export async function listRoles(tx: Tx): Promise<Role[]> {
  const r = await tx.query<Role>(`${SELECT} where r.org_id = $1::uuid order by r.is_system desc, r.key`, [
    tx.orgId,
  ]);
  return r.rows;
}

export async function getRole(tx: Tx, roleId: string): Promise<Role> {
  const r = await tx.query<Role>(`${SELECT} where r.org_id = $1::uuid and r.id = $2::uuid`, [
    tx.orgId,
    parseInput(id, roleId),
  ]);
  if (!r.rows[0]) throw new AppError('not_found', 'role not found');
  return r.rows[0];
}

async function setPermissions(tx: Tx, roleId: string, permissions: string[]) {
  await tx.query(
    `with gone as (
       delete from role_permissions where org_id = $1::uuid and role_id = $2::uuid and permission_key <> all($3::text[])
     )
     insert into role_permissions (org_id, role_id, permission_key)
     select $1::uuid, $2::uuid, p from unnest($3::text[]) p
     on conflict do nothing`,
    [tx.orgId, roleId, permissions],
  );
}

export async function createRole(tx: Tx, raw: z.input<typeof createRoleInput>, actor: Actor): Promise<Role> {
  const input = parseInput(createRoleInput, raw);
  // Nobody makes a role stronger than themselves (db/grants.ts).
  await lockGrants(tx);
  requireHeld(await heldBy(tx, actor), input.permissions, 'grant');
  const r = await tx.query<{ id: string }>(
    `insert into roles (org_id, key, name, description) values ($1::uuid, $2::text, $3::text, $4::text) returning id`,
    [tx.orgId, input.key, input.name, input.description ?? null],
  );
  const roleId = (r.rows[0] as { id: string }).id;
  await setPermissions(tx, roleId, input.permissions);
  await recordChange(tx, actor, {
    action: 'role.created',
    target: { type: 'role', id: roleId },
    data: { key: input.key, permissions: input.permissions },
  });
  return getRole(tx, roleId);
}

export async function updateRole(
  tx: Tx,
  roleId: string,
  raw: z.input<typeof updateRoleInput>,
  actor: Actor,
): Promise<Role> {
  const input = parseInput(updateRoleInput, raw);
  await lockGrants(tx);
  const before = await getRole(tx, roleId);
  // A role that carries something the editor lacks is out of their reach (even a rename: its
  // name is what other admins go by); the new permissions must be theirs to grant too.
  const held = await heldBy(tx, actor);
  requireHeld(held, asGrants(before.key, before.permissions), 'edit');
  if (before.key === OWNER && input.permissions) {
    throw new AppError('conflict', 'the owner role always holds every permission');
  }
  if (input.permissions) requireHeld(held, input.permissions, 'grant');
  await tx.query(
    `update roles set name = coalesce($3::text, name),
       description = case when $4::boolean then $5::text else description end, updated_at = now()
     where org_id = $1::uuid and id = $2::uuid`,
    [tx.orgId, before.id, input.name ?? null, input.description !== undefined, input.description ?? null],
  );
  if (input.permissions) await setPermissions(tx, before.id, input.permissions);
  const after = await getRole(tx, before.id);
  const changes = diffChanges(before, after, ['name', 'description', 'permissions']);
  if (changedAny(changes)) {
    await recordChange(tx, actor, {
      action: 'role.updated',
      target: { type: 'role', id: before.id },
      data: { key: before.key, changes },
    });
  }
  return after;
}

export async function deleteRole(tx: Tx, roleId: string, actor: Actor): Promise<void> {
  await lockGrants(tx);
  const role = await getRole(tx, roleId);
  requireHeld(await heldBy(tx, actor), asGrants(role.key, role.permissions), 'delete');
  if (role.isSystem) throw new AppError('conflict', 'system roles cannot be deleted');
  if (role.members > 0) {
    throw new AppError(
      'conflict',
      `${role.members} member(s) still hold this role; give them another role first`,
    );
  }
  await tx.query('delete from roles where org_id = $1::uuid and id = $2::uuid', [tx.orgId, role.id]);
  await recordChange(tx, actor, {
    action: 'role.deleted',
    target: { type: 'role', id: role.id },
    data: { key: role.key },
  });
}
