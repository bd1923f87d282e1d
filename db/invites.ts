import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import { hashCredential, issueCredential, looksLikeCredential } from './credentials.js';
import { mapDbError } from './errors.js';
import { heldBy, lockGrants, notHeld, requireHeld, roleGrant } from './grants.js';
import type { Pool } from './pool.js';
import { id, snowflake } from './schemas.js';
import { type Tx, withTenant } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * Invitations into an org: addressed to a Discord account (accepted at its next sign-in) or a
 * link with a code shown once. Accepting adds the membership in the inviting org's transaction,
 * audited like any other member change.
 */
export interface Invite {
  id: string;
  roleKey: string;
  discordUserId: string | null;
  maxUses: number;
  uses: number;
  expiresAt: Date;
  createdAt: Date;
  revokedAt: Date | null;
}

const COLUMNS = `i.id, r.key as "roleKey", i.discord_user_id as "discordUserId", i.max_uses as "maxUses", i.uses,
  i.expires_at as "expiresAt", i.created_at as "createdAt", i.revoked_at as "revokedAt"`;
const CODE_KIND = 'gminv';

export const createInviteInput = z
  .object({
    role: z.string().trim().toLowerCase().min(1).max(50),
    discordUserId: snowflake.optional(),
    maxUses: z.number().int().min(1).max(1000).default(1),
    expiresInHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 30)
      .default(72),
  })
  .refine((v) => !(v.discordUserId && v.maxUses !== 1), {
    message: 'an invite for one Discord user is used once',
    path: ['maxUses'],
  });

/**
 * Creates an invite; `code` is the link secret (shown once) for link invites, null otherwise.
 * The inviter must hold everything the role carries (owners alone invite owners). Checking here
 * is enough: an invite can't be edited, only revoked, and a role can only gain what its editor
 * holds (db/roles.ts applies the same rule).
 */
export async function createInvite(
  tx: Tx,
  raw: z.input<typeof createInviteInput>,
  actor: Actor,
): Promise<{ invite: Invite; code: string | null }> {
  const input = parseInput(createInviteInput, raw);
  await lockGrants(tx);
  const role = await roleGrant(tx, { key: input.role });
  requireHeld(await heldBy(tx, actor), role.grants, 'grant');
  const cred = input.discordUserId ? null : issueCredential(CODE_KIND);
  const r = await tx.query<{ id: string }>(
    `insert into member_invites (org_id, role_id, discord_user_id, code_hash, max_uses, expires_at, created_by)
     values ($1::uuid, $2::uuid, $3::text, $4::bytea, $5::int, now() + make_interval(hours => $6::int),
            case when $7::text = 'user' then $8::uuid end)
     returning id`,
    [
      tx.orgId,
      role.id,
      input.discordUserId ?? null,
      cred?.hash ?? null,
      input.maxUses,
      input.expiresInHours,
      actor.type,
      'id' in actor ? actor.id : null,
    ],
  );
  const inviteId = (r.rows[0] as { id: string }).id;
  await recordChange(tx, actor, {
    action: 'invite.created',
    target: { type: 'invite', id: inviteId },
    data: { role: role.key, discordUserId: input.discordUserId ?? null, maxUses: input.maxUses },
  });
  return { invite: await getInvite(tx, inviteId), code: cred?.plaintext ?? null };
}

export async function getInvite(tx: Tx, inviteId: string): Promise<Invite> {
  const r = await tx.query<Invite>(
    `select ${COLUMNS} from member_invites i join roles r on r.org_id = i.org_id and r.id = i.role_id
     where i.org_id = $1::uuid and i.id = $2::uuid`,
    [tx.orgId, parseInput(id, inviteId)],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'invite not found');
  return r.rows[0];
}

export async function listInvites(tx: Tx): Promise<Invite[]> {
  const r = await tx.query<Invite>(
    `select ${COLUMNS} from member_invites i join roles r on r.org_id = i.org_id and r.id = i.role_id
     where i.org_id = $1::uuid order by i.created_at desc limit 200`,
    [tx.orgId],
  );
  return r.rows;
}

export async function revokeInvite(tx: Tx, inviteId: string, actor: Actor): Promise<Invite> {
  const r = await tx.query(
    'update member_invites set revoked_at = now() where org_id = $1::uuid and id = $2::uuid and revoked_at is null',
    [tx.orgId, parseInput(id, inviteId)],
  );
  if (r.rowCount === 0) await getInvite(tx, inviteId);
  else await recordChange(tx, actor, { action: 'invite.revoked', target: { type: 'invite', id: inviteId } });
  return getInvite(tx, inviteId);
}

/**
 * An invite outlives the moment it was checked (links last up to 30 days): if its maker has since
 * been demoted or removed, or its role now carries more than they hold, it no longer grants
 * anything (403). Invites made by the system have no maker to re-check.
 */
async function requireInviterStillGrants(tx: Tx, inviteId: string): Promise<void> {
  const r = await tx.query<{ createdBy: string | null; roleId: string }>(
    `select created_by as "createdBy", role_id as "roleId" from member_invites
     where org_id = $1::uuid and id = $2::uuid`,
    [tx.orgId, inviteId],
  );
  const inv = r.rows[0];
  if (!inv?.createdBy) return;
  const role = await roleGrant(tx, { id: inv.roleId });
  const lacking = notHeld(await heldBy(tx, { type: 'user', id: inv.createdBy }), role.grants);
  if (lacking.length === 0) return;
  throw new AppError(
    'forbidden',
    `this invite is no longer valid: the person who made it can no longer grant the ${role.key} role (${lacking.join(', ')}); ask for a new invite`,
    { details: { reason: 'inviter_cannot_grant', permissions: lacking } },
  );
}

/**
 * Spends one use of the invite and adds the user with its role, unless they are a member
 * already (then nothing is spent). Returns whether a membership was created.
 */
async function accept(tx: Tx, inviteId: string, userId: string): Promise<boolean> {
  await requireInviterStillGrants(tx, inviteId);
  const spent = await tx.query<{ roleKey: string }>(
    `update member_invites i set uses = uses + 1
     from roles r
     where i.org_id = $1::uuid and i.id = $2::uuid and r.org_id = i.org_id and r.id = i.role_id
       and i.revoked_at is null and i.uses < i.max_uses and i.expires_at > now()
       and not exists (select 1 from memberships m where m.org_id = i.org_id and m.user_id = $3::uuid)
     returning r.key as "roleKey"`,
    [tx.orgId, inviteId, userId],
  );
  const role = spent.rows[0]?.roleKey;
  if (!role) return false;
  await tx.query(
    `insert into memberships (org_id, user_id, role_id)
     select $1::uuid, $2::uuid, id from roles where org_id = $1::uuid and key = $3::text`,
    [tx.orgId, userId, role],
  );
  const actor: Actor = { type: 'user', id: userId };
  await recordChange(tx, actor, {
    action: 'member.added',
    target: { type: 'user', id: userId },
    data: { role, inviteId },
    event: { type: 'member.added', aggregateType: 'member', aggregateId: userId, payload: { userId, role } },
  });
  return true;
}

/** At sign-in: joins every org that invited this Discord account. Returns the org ids joined. */
export async function acceptDiscordInvites(
  pool: Pool,
  userId: string,
  discordUserId: string,
): Promise<string[]> {
  const found = await pool
    .query<{ org_id: string; invite_id: string }>({
      text: 'select org_id, invite_id from gm_invites_for_discord_user($1::text)',
      values: [discordUserId],
    })
    .catch((e) => {
      throw mapDbError(e);
    });
  const joined: string[] = [];
  for (const row of found.rows) {
    // One stale invite (its maker can no longer grant its role) must not block the others.
    const ok = await withTenant(pool, row.org_id, (tx) => accept(tx, row.invite_id, userId)).catch((e) => {
      if (e instanceof AppError && e.code === 'forbidden') return false;
      throw e;
    });
    if (ok) joined.push(row.org_id);
  }
  return joined;
}

/** Redeems an invite link's code for a signed-in user; returns the org joined. */
export async function redeemInviteCode(pool: Pool, code: string, userId: string): Promise<string> {
  const unknown = () => new AppError('not_found', 'this invite link is unknown, used up, revoked or expired');
  if (!looksLikeCredential(CODE_KIND, code)) throw unknown();
  const r = await pool
    .query<{ org_id: string; invite_id: string }>({
      text: 'select org_id, invite_id from gm_invite_for_code($1::bytea)',
      values: [hashCredential(code)],
    })
    .catch((e) => {
      throw mapDbError(e);
    });
  const row = r.rows[0];
  if (!row) throw unknown();
  const joined = await withTenant(pool, row.org_id, async (tx) => {
    const member = await tx.query(
      'select 1 from memberships where org_id = $1::uuid and user_id = $2::uuid',
      [tx.orgId, userId],
    );
    if (member.rowCount) return true;
    return accept(tx, row.invite_id, userId);
  });
  if (!joined) throw unknown();
  return row.org_id;
}

/**
 * What an invite link's code would do, before it is redeemed: the org's name and the role, so the
 * person holding the link sees what they are joining. Answers the same not-found as redeeming for
 * a code that is unknown, used up, revoked or expired (nothing tells those apart to a guesser).
 */
export async function describeInviteCode(
  pool: Pool,
  code: string,
  userId: string,
): Promise<{
  orgId: string;
  orgName: string;
  roleKey: string;
  roleName: string;
  expiresAt: Date;
  member: boolean;
}> {
  const unknown = () => new AppError('not_found', 'this invite link is unknown, used up, revoked or expired');
  if (!looksLikeCredential(CODE_KIND, code)) throw unknown();
  const r = await pool
    .query<{ org_id: string; invite_id: string }>({
      text: 'select org_id, invite_id from gm_invite_for_code($1::bytea)',
      values: [hashCredential(code)],
    })
    .catch((e) => {
      throw mapDbError(e);
    });
  const row = r.rows[0];
  if (!row) throw unknown();
  return withTenant(pool, row.org_id, async (tx) => {
    const found = await tx.query<{
      orgName: string;
      roleKey: string;
      roleName: string;
      expiresAt: Date;
      member: boolean;
    }>(
      `select o.name as "orgName", r.key as "roleKey", r.name as "roleName", i.expires_at as "expiresAt",
              exists (select 1 from memberships m where m.org_id = i.org_id and m.user_id = $3::uuid) as member
         from member_invites i
         join roles r on r.org_id = i.org_id and r.id = i.role_id
         join organizations o on o.id = i.org_id
        where i.org_id = $1::uuid and i.id = $2::uuid`,
      [tx.orgId, row.invite_id, userId],
    );
    const d = found.rows[0];
    if (!d) throw unknown();
    return { orgId: row.org_id, ...d };
  });
}
