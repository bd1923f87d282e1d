import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, recordChange, SYSTEM } from './changes.js';
import { mapDbError } from './errors.js';
import { heldBy, lockGrants, OWNER, type RoleGrant, requireHeld, roleGrant } from './grants.js';
import { createOrganization } from './organizations.js';
import type { Pool } from './pool.js';
import { id, snowflake } from './schemas.js';
import { type Tx, withTenant } from './tenant.js';
import { withTransaction } from './transaction.js';
import { parseInput } from './validate.js';

/**
 * Discord guilds linked to an organization: linking (a code from the panel, or a new org owned
 * by the guild owner), per-guild settings, and the mapping of Discord roles onto org roles.
 */

export const TICKET_MODES = ['thread', 'forum', 'channel'] as const;
export type TicketMode = (typeof TICKET_MODES)[number];

export const categorySettingsSchema = z.object({
  mode: z.enum(TICKET_MODES).optional(),
  /** Text channel (thread mode), forum channel (forum mode) or channel category (channel mode). */
  channelId: snowflake.optional(),
  /** Channel mode: more channel categories to use once one holds Discord's 50 channels. */
  overflowCategoryIds: z.array(snowflake).max(10).optional(),
  /** Forum mode: the forum tag its posts get (a forum may require one). */
  forumTagId: snowflake.optional(),
});

export type CategorySettings = z.infer<typeof categorySettingsSchema>;

export const guildSettingsSchema = z.object({
  /** Where private threads are made when a category names no channel. */
  supportChannelId: snowflake.optional(),
  alertChannelId: snowflake.optional(),
  transcriptChannelId: snowflake.optional(),
  /** Open tickets one player may have at a time. */
  maxOpenPerPlayer: z.number().int().min(1).max(50).optional(),
  /** Seconds between two tickets of one player. */
  cooldownSeconds: z.number().int().min(0).max(86_400).optional(),
  /** Hours after a close in which the player writing in the ticket's thread reopens it (0: never). */
  reopenWindowHours: z.number().int().min(0).max(8_760).optional(),
  categories: z.record(id, categorySettingsSchema).optional(),
});
export type GuildSettings = z.infer<typeof guildSettingsSchema>;

export const DEFAULT_LIMITS = { maxOpenPerPlayer: 3, cooldownSeconds: 60, reopenWindowHours: 48 } as const;

export interface Guild {
  guildId: string;
  orgId: string;
  name: string;
  settings: GuildSettings;
  linkedAt: Date;
}

const COLUMNS = `guild_id as "guildId", org_id as "orgId", name, settings, linked_at as "linkedAt"`;

const hashCode = (code: string) => createHash('sha256').update(code.trim().toUpperCase()).digest();

/** The organization a guild is linked to, or null. Crosses tenants through gm_org_for_guild. */
export async function orgForGuild(pool: Pool, guildId: string): Promise<string | null> {
  const r = await pool
    .query<{ org: string | null }>({ text: 'select gm_org_for_guild($1::text) as org', values: [guildId] })
    .catch((e) => {
      throw mapDbError(e);
    });
  return r.rows[0]?.org ?? null;
}

export const linkCodeInput = z.object({ ttlMinutes: z.number().int().min(5).max(10_080).default(60) });

/**
 * A one-time code a studio admin pastes into `/setup link` in Discord. Only its hash is stored;
 * the code itself is returned once.
 */
export async function createGuildLinkCode(
  tx: Tx,
  actor: Actor,
  raw: z.input<typeof linkCodeInput> = {},
): Promise<{ code: string; expiresAt: Date }> {
  const input = parseInput(linkCodeInput, raw);
  // 10 characters from a 32-letter alphabet without look-alikes: 50 bits, single use, short-lived.
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const code = `GM-${[...randomBytes(10)].map((b) => alphabet[b % 32]).join('')}`;
  const r = await tx.query<{ id: string; expiresAt: Date }>(
    `insert into guild_link_codes (org_id, code_hash, created_by, expires_at)
     values ($1::uuid, $2::bytea, $3::uuid, now() + make_interval(mins => $4::int))
     returning id, expires_at as "expiresAt"`,
    [tx.orgId, hashCode(code), actor.type === 'user' ? actor.id : null, input.ttlMinutes],
  );
  const row = r.rows[0] as { id: string; expiresAt: Date };
  await recordChange(tx, actor, {
    action: 'guild.link_code_created',
    target: { type: 'guild_link_code', id: row.id },
    data: { expiresAt: row.expiresAt },
  });
  return { code, expiresAt: row.expiresAt };
}

export const linkInput = z.object({
  code: z.string().trim().min(4).max(64),
  guildId: snowflake,
  guildName: z.string().trim().min(1).max(100),
});

/**
 * Runs `fn` while holding a per-guild advisory lock on a connection of its own, so the two ways
 * of linking a guild (a code, a new org) never race each other: whoever comes second sees the
 * first's link and gets a conflict instead of a half-made org.
 */
async function withGuildLinkLock<T>(pool: Pool, guildId: string, fn: () => Promise<T>): Promise<T> {
  const client = await pool.connect().catch((e) => {
    throw mapDbError(e);
  });
  let broken = false;
  try {
    await client.query({
      text: `select pg_advisory_lock(hashtext('gm:guild-link:' || $1::text))`,
      values: [guildId],
    });
    try {
      return await fn();
    } finally {
      await client
        .query({
          text: `select pg_advisory_unlock(hashtext('gm:guild-link:' || $1::text))`,
          values: [guildId],
        })
        .catch(() => {
          broken = true;
        });
    }
  } finally {
    client.release(broken);
  }
}

const ALREADY_LINKED = 'this server is already linked to an organization';

/** Redeems a link code in a guild. Returns the org id; unknown, used or expired codes are `not_found`. */
export async function redeemGuildLinkCode(
  pool: Pool,
  raw: z.input<typeof linkInput>,
  actor: Actor = SYSTEM,
): Promise<string> {
  const input = parseInput(linkInput, raw);
  return withGuildLinkLock(pool, input.guildId, async () => {
    // One transaction: the code is used, the guild linked and the audit entry written together.
    return withTransaction(pool, async (client) => {
      const r = await client.query<{ org: string | null }>({
        text: 'select gm_redeem_guild_link_code($1::bytea, $2::text, $3::text) as org',
        values: [hashCode(input.code), input.guildId, input.guildName],
      });
      const orgId = r.rows[0]?.org;
      if (!orgId) throw new AppError('not_found', 'this link code is unknown, used or expired');
      await client.query({ text: `select set_config('app.org_id', $1::text, true)`, values: [orgId] });
      const tx: Tx = { orgId, query: (text, values) => client.query({ text, values }) };
      await recordChange(tx, actor, {
        action: 'guild.linked',
        target: { type: 'guild', id: input.guildId },
        data: { guildId: input.guildId, name: input.guildName, via: 'code' },
      });
      return orgId;
    }).catch((e) => {
      if (e instanceof AppError) throw e;
      const err = mapDbError(e);
      if (err.code === 'conflict')
        throw new AppError('conflict', 'this server is already linked to another organization');
      throw err;
    });
  });
}

export const createOrgForGuildInput = z.object({
  guildId: snowflake,
  guildName: z.string().trim().min(1).max(100),
  ownerUserId: id,
});

/**
 * A new organization owned by the guild owner's user, with the guild linked to it. Serialised
 * per guild (see withGuildLinkLock), so two at once make one org and a conflict.
 */
export async function createOrgForGuild(
  pool: Pool,
  raw: z.input<typeof createOrgForGuildInput>,
  actor: Actor,
): Promise<string> {
  const input = parseInput(createOrgForGuildInput, raw);
  return withGuildLinkLock(pool, input.guildId, async () => {
    if (await orgForGuild(pool, input.guildId)) throw new AppError('conflict', ALREADY_LINKED);
    const base =
      input.guildName
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 40) || 'studio';
    const slug = `${base.length >= 2 ? base : `${base}-org`}-${randomBytes(3).toString('hex')}`;
    const org = await createOrganization(
      pool,
      { name: input.guildName, slug, ownerUserId: input.ownerUserId },
      actor,
    );
    await withTenant(pool, org.id, async (tx) => {
      await tx.query(
        'insert into discord_guilds (org_id, guild_id, name) values ($1::uuid, $2::text, $3::text)',
        [tx.orgId, input.guildId, input.guildName],
      );
      await recordChange(tx, actor, {
        action: 'guild.linked',
        target: { type: 'guild', id: input.guildId },
        data: { guildId: input.guildId, name: input.guildName, via: 'new_org' },
      });
    }).catch((e: unknown) => {
      if (e instanceof AppError && e.code === 'conflict') throw new AppError('conflict', ALREADY_LINKED);
      throw e;
    });
    return org.id;
  });
}

export async function getGuild(tx: Tx, guildId: string): Promise<Guild> {
  const r = await tx.query<Guild>(
    `select ${COLUMNS} from discord_guilds where org_id = $1::uuid and guild_id = $2::text`,
    [tx.orgId, parseInput(snowflake, guildId)],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'this server is not linked to the organization');
  return r.rows[0];
}

export async function listGuilds(tx: Tx): Promise<Guild[]> {
  const r = await tx.query<Guild>(
    `select ${COLUMNS} from discord_guilds where org_id = $1::uuid order by linked_at`,
    [tx.orgId],
  );
  return r.rows;
}

export async function unlinkGuild(tx: Tx, guildId: string, actor: Actor): Promise<void> {
  const r = await tx.query('delete from discord_guilds where org_id = $1::uuid and guild_id = $2::text', [
    tx.orgId,
    parseInput(snowflake, guildId),
  ]);
  if (!r.rowCount) throw new AppError('not_found', 'this server is not linked to the organization');
  await recordChange(tx, actor, {
    action: 'guild.unlinked',
    target: { type: 'guild', id: guildId },
    data: { guildId },
  });
}

/**
 * Merges a settings patch into the guild's settings (per-category entries merge too). The merged
 * result is validated as a whole, so a bad patch changes nothing.
 */
export async function updateGuildSettings(
  tx: Tx,
  guildId: string,
  patch: GuildSettings,
  actor: Actor,
): Promise<Guild> {
  const p = parseInput(guildSettingsSchema, patch);
  const r = await tx.query<Guild>(
    `select ${COLUMNS} from discord_guilds where org_id = $1::uuid and guild_id = $2::text for update`,
    [tx.orgId, parseInput(snowflake, guildId)],
  );
  const before = r.rows[0];
  if (!before) throw new AppError('not_found', 'this server is not linked to the organization');
  const categories = { ...(before.settings.categories ?? {}) };
  for (const [cid, c] of Object.entries(p.categories ?? {})) categories[cid] = { ...categories[cid], ...c };
  const merged = parseInput(guildSettingsSchema, { ...before.settings, ...p, categories });
  const u = await tx.query<Guild>(
    `update discord_guilds set settings = $3::jsonb where org_id = $1::uuid and guild_id = $2::text
     returning ${COLUMNS}`,
    [tx.orgId, guildId, JSON.stringify(merged)],
  );
  await recordChange(tx, actor, {
    action: 'guild.settings_updated',
    target: { type: 'guild', id: guildId },
    data: { changes: p },
  });
  return u.rows[0] as Guild;
}

// ---------------------------------------------------------------------------------------------
// Role mappings

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
    throw new AppError(
      'forbidden',
      'a Discord role cannot make anyone an owner: owners are added in the panel',
      { details: { reason: 'owner_only', permissions: [OWNER] } },
    );
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
  // Members who were staff only through a role that is now mapped nowhere lose that membership
  // at once (the others are re-checked the next time they act).
  const gone = await tx.query<{ userId: string }>(
    `select g.user_id as "userId" from discord_staff_grants g
     where g.org_id = $1::uuid
       and not exists (select 1 from discord_role_mappings m where m.org_id = g.org_id and m.role_id = g.role_id)`,
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
 * no mapped role is left, so taking a Discord role away takes the permissions away. With
 * `join`, a person with a mapped role and no membership becomes a (marked) member, so
 * assignments and the audit log can name them.
 */
export async function discordStaffAccess(
  tx: Tx,
  guildId: string,
  userId: string | null,
  discordRoleIds: readonly string[],
  join: boolean,
  /** False when the roles are not known (a message without its member): then nothing is revoked. */
  rolesKnown = true,
): Promise<DiscordStaffAccess> {
  const mapped = await permissionsForDiscordRoles(tx, guildId, discordRoleIds);
  const empty = { memberPermissions: new Set<string>(), isMember: false };
  if (!userId) return { permissions: mapped.permissions, ...empty };
  const m = await tx.query<{ roleId: string; grantRoleId: string | null }>(
    `select m.role_id as "roleId", g.role_id as "grantRoleId"
     from memberships m
     left join discord_staff_grants g on g.org_id = m.org_id and g.user_id = m.user_id
     where m.org_id = $1::uuid and m.user_id = $2::uuid for update of m`,
    [tx.orgId, userId],
  );
  const row = m.rows[0];
  if (row && (row.grantRoleId !== row.roleId || !rolesKnown)) {
    // A real membership: its role's permissions, plus whatever the Discord roles add.
    const own = await tx.query<{ p: string }>(
      'select permission_key as p from role_permissions where org_id = $1::uuid and role_id = $2::uuid',
      [tx.orgId, row.roleId],
    );
    const ownPermissions = new Set(own.rows.map((x) => x.p));
    // A marked membership seen without its roles gives what it gives, but never counts as real.
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

async function removeDerivedMembership(tx: Tx, userId: string, reason: string): Promise<void> {
  const r = await tx.query(
    `delete from memberships m using discord_staff_grants g
     where m.org_id = $1::uuid and m.user_id = $2::uuid
       and g.org_id = m.org_id and g.user_id = m.user_id and g.role_id = m.role_id`,
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
    await recordChange(tx, SYSTEM, {
      action: 'member.added',
      target: { type: 'user', id: userId },
      data: { via: 'discord_role_mapping', roleId },
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

/** A guild-level action with no row of its own to change (a panel posted): audit only. */
export async function recordGuildAction(
  tx: Tx,
  guildId: string,
  action: string,
  data: Record<string, unknown>,
  actor: Actor,
): Promise<void> {
  await recordChange(tx, actor, {
    action,
    target: { type: 'guild', id: parseInput(snowflake, guildId) },
    data,
  });
}
