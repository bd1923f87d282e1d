import { AppError } from '../lib/errors.js';
import { refuse } from '../lib/i18n/refusal.js';
import { getApiToken, permissionsForScopes } from './api-tokens.js';
import type { Actor } from './changes.js';
import { PERMISSIONS } from './permissions.js';
import type { Tx } from './tenant.js';

/**
 * "Grant at most what you hold": the one rule every path that hands out or takes away org
 * permissions calls (member role changes and removals, invites, role create/edit/delete, Discord
 * role mappings from the API and from the bot), inside the transaction that makes the change.
 *
 * Ownership is modelled as one more thing a role can carry, `owner`, held only through the owner
 * role. So "only owners make owners" and "an admin can't demote an owner" are the same subset
 * check as "an admin can't grant a permission it lacks", even against a custom role that carries
 * every permission in the catalog.
 */
export const OWNER = 'owner';

/** An org role as something that can be granted: its permissions, plus `owner` for the owner role. */
export interface RoleGrant {
  id: string;
  key: string;
  grants: string[];
}

/** What a refused act is, for the message that names what the caller lacks. */
export type GrantAct = 'grant' | 'change' | 'remove' | 'edit' | 'delete' | 'unmap';

const OWNER_ONLY: Record<GrantAct, string> = {
  grant: 'only an owner can make someone an owner',
  change: "only an owner can change an owner's role",
  remove: 'only an owner can remove an owner',
  edit: 'only an owner can edit the owner role',
  delete: 'only an owner can delete the owner role',
  unmap: 'only an owner can unmap the owner role',
};

const OWNER_ONLY_KEYS: Partial<Record<GrantAct, 'deny.ownerOnlyGrant' | 'deny.ownerOnlyUnmap'>> = {
  grant: 'deny.ownerOnlyGrant',
  unmap: 'deny.ownerOnlyUnmap',
};

const NOT_HELD: Record<GrantAct, (list: string, them: string) => string> = {
  grant: (l, t) => `you can't grant ${l}: you don't hold ${t}`,
  change: (l) => `you can't change this member's role: it holds ${l}, which you don't hold`,
  remove: (l) => `you can't remove this member: their role holds ${l}, which you don't hold`,
  edit: (l) => `you can't edit this role: it carries ${l}, which you don't hold`,
  delete: (l) => `you can't delete this role: it carries ${l}, which you don't hold`,
  unmap: (l) => `you can't change this mapping: its role carries ${l}, which you don't hold`,
};

/**
 * Serialises the grant-checked changes of one org (every caller of requireHeld takes it): locks
 * the org's owner memberships, in a fixed order so two callers never deadlock. The bot's own
 * upkeep of mapping-made memberships doesn't take it: those are never owners. Call it first, before reading anyone's role; then
 * two owners demoting each other at once run one after the other, and the second sees the first's
 * result (it is no longer an owner, or it is the last one) instead of both leaving zero owners.
 */
export async function lockGrants(tx: Tx): Promise<void> {
  await tx.query(
    `select m.user_id from memberships m join roles r on r.org_id = m.org_id and r.id = m.role_id
     where m.org_id = $1::uuid and r.key = 'owner' order by m.user_id for update of m`,
    [tx.orgId],
  );
}

/** How many owners the org has now (after lockGrants, nobody can change that under us). */
export async function ownerCount(tx: Tx): Promise<number> {
  const r = await tx.query<{ n: number }>(
    `select count(*)::int as n from memberships m join roles r on r.org_id = m.org_id and r.id = m.role_id
     where m.org_id = $1::uuid and r.key = 'owner'`,
    [tx.orgId],
  );
  return r.rows[0]?.n ?? 0;
}

/**
 * What the actor may hand out, read afresh in this transaction. A user holds their own
 * membership's role (plus `owner` for owners), and nothing once their account is disabled; a
 * membership the bot made from a Discord role mapping holds nothing here, as in permissionsOf, so
 * a mapped role can't raise anyone. A token holds what its scopes grant (never `owner`), and of
 * that, for a token a member made, only what the member holds now. The system (migrations, org creation, seeds) holds
 * everything; players hold nothing.
 */
export async function heldBy(tx: Tx, actor: Actor): Promise<ReadonlySet<string>> {
  if (actor.type === 'system') return new Set<string>([...PERMISSIONS, OWNER]);
  if (actor.type === 'player') return new Set();
  if (actor.type === 'token') {
    const token = await getApiToken(tx, actor.id).catch(() => null);
    if (!token || token.revokedAt || (token.expiresAt && token.expiresAt <= new Date())) return new Set();
    const scoped = permissionsForScopes(token.scopes);
    if (!token.createdBy) return scoped;
    // A member's token holds no more than its maker holds now (as on every request).
    const maker = await heldBy(tx, { type: 'user', id: token.createdBy });
    return new Set([...scoped].filter((p) => maker.has(p)));
  }
  const r = await tx.query<{ key: string; perms: string[] }>(
    `select r.key, coalesce(array_agg(rp.permission_key) filter (where rp.permission_key is not null), '{}') as perms
     from memberships m
     join users u on u.id = m.user_id and u.disabled_at is null
     join roles r on r.org_id = m.org_id and r.id = m.role_id
     left join role_permissions rp on rp.org_id = m.org_id and rp.role_id = m.role_id
     where m.org_id = $1::uuid and m.user_id = $2::uuid
       and not exists (select 1 from discord_staff_grants g
                       where g.org_id = m.org_id and g.user_id = m.user_id and g.role_id = m.role_id)
     group by r.key`,
    [tx.orgId, actor.id],
  );
  const row = r.rows[0];
  if (!row) return new Set();
  return new Set(row.key === OWNER ? [...row.perms, OWNER] : row.perms);
}

/** A role of this org by key or id, as a grant; 404 naming the key when there is none. */
export async function roleGrant(tx: Tx, by: { key: string } | { id: string }): Promise<RoleGrant> {
  const byKey = 'key' in by;
  const r = await tx.query<{ id: string; key: string; perms: string[] }>(
    `select r.id, r.key,
       coalesce((select array_agg(rp.permission_key order by rp.permission_key) from role_permissions rp
                 where rp.org_id = r.org_id and rp.role_id = r.id), '{}') as perms
     from roles r where r.org_id = $1::uuid and ${byKey ? 'r.key = $2::text' : 'r.id = $2::uuid'}`,
    [tx.orgId, byKey ? by.key : by.id],
  );
  const row = r.rows[0];
  if (!row)
    throw byKey
      ? refuse('not_found', 'deny.noRole', { key: by.key })
      : new AppError('not_found', 'role not found');
  return { id: row.id, key: row.key, grants: asGrants(row.key, row.perms) };
}

/** A role's permissions as grants (the owner role also carries `owner`). */
export function asGrants(roleKey: string, permissions: readonly string[]): string[] {
  return roleKey === OWNER ? [...permissions, OWNER] : [...permissions];
}

/** What of `wanted` is not in `held`, sorted (empty when the grant is allowed). */
export function notHeld(held: ReadonlySet<string>, wanted: readonly string[]): string[] {
  return [...new Set(wanted)].filter((p) => !held.has(p)).sort();
}

/**
 * Refuses (403 `forbidden`) unless `held` covers every one of `wanted`. The message names what
 * the caller lacks: "owner" for owner-only acts, otherwise the permissions.
 */
export function requireHeld(held: ReadonlySet<string>, wanted: readonly string[], act: GrantAct): void {
  const lacking = notHeld(held, wanted);
  if (lacking.length === 0) return;
  if (lacking.includes(OWNER)) {
    const details = { reason: 'owner_only', permissions: [OWNER] };
    // The acts a Discord command can do (`/setup role`, `/setup unrole`) refuse by key.
    const key = OWNER_ONLY_KEYS[act];
    throw key
      ? refuse('forbidden', key, {}, undefined, details)
      : new AppError('forbidden', OWNER_ONLY[act], { details });
  }
  const them = lacking.length === 1 ? 'it' : 'them';
  const details = { reason: 'permission_not_held', permissions: lacking };
  const list = lacking.join(', ');
  if (act === 'grant')
    throw refuse(
      'forbidden',
      lacking.length === 1 ? 'deny.grantNotHeldOne' : 'deny.grantNotHeldMany',
      { list },
      undefined,
      details,
    );
  if (act === 'unmap') throw refuse('forbidden', 'deny.unmapNotHeld', { list }, undefined, details);
  throw new AppError('forbidden', NOT_HELD[act](list, them), { details });
}

/**
 * 409 when a member with this role is about to stop being an owner (demoted, removed) and is the
 * last one: an org always keeps an owner. Call after lockGrants.
 */
export async function requireAnotherOwner(tx: Tx, leavingRoleKey: string): Promise<void> {
  if (leavingRoleKey !== OWNER) return;
  if ((await ownerCount(tx)) > 1) return;
  throw new AppError(
    'conflict',
    'this is the last owner of the organization: make someone else an owner first',
    { details: { reason: 'last_owner' } },
  );
}
