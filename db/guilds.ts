import { z } from 'zod';
import { refuse } from '../lib/i18n/refusal.js';
import { type Actor, changedAny, diffChanges, type FieldChanges, recordChange } from './changes.js';
import { mapDbError } from './errors.js';
import { endMembershipsOfGuild } from './guild-roles.js';
import type { Pool } from './pool.js';
import { id, snowflake } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * Discord guilds linked to an organization: the cross-tenant look-up of a guild's org, the
 * per-guild settings, unlinking, and guild-level audit. Linking is guild-links.ts; the mapping
 * of Discord roles onto org roles and the staff standing it gives is guild-roles.ts.
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
  /** Overrides the guild's `claimLocks` for this category. */
  claimLocks: z.boolean().optional(),
  /** Overrides the guild's `closeRequestMinutes` for this category. */
  closeRequestMinutes: z.number().int().min(1).max(43_200).optional(),
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
  /** Channel mode: a claimed ticket's channel lets only the claimer and the player write. */
  claimLocks: z.boolean().optional(),
  /** Minutes a close request waits for the player's answer before the ticket closes anyway. */
  closeRequestMinutes: z.number().int().min(1).max(43_200).optional(),
  categories: z.record(id, categorySettingsSchema).optional(),
});
export type GuildSettings = z.infer<typeof guildSettingsSchema>;

/**
 * What a settings change did to a guild, setting by setting; a category's settings are keyed
 * `categories.<id>.<setting>`, so changing one channel does not log every category's.
 */
function guildSettingsChanges(before: GuildSettings, after: GuildSettings): FieldChanges {
  const { categories: bc = {}, ...b } = before;
  const { categories: ac = {}, ...a } = after;
  const changes = diffChanges(b, a);
  for (const cid of new Set([...Object.keys(bc), ...Object.keys(ac)])) {
    Object.assign(changes, diffChanges(bc[cid], ac[cid] ?? {}, undefined, `categories.${cid}.`));
  }
  return changes;
}

export const DEFAULT_LIMITS = { maxOpenPerPlayer: 3, cooldownSeconds: 60, reopenWindowHours: 48 } as const;

/** A close request unanswered for a day closes the ticket; claims lock nobody out unless asked. */
export const DEFAULT_CLOSE_REQUEST_MINUTES = 1_440;
export const DEFAULT_CLAIM_LOCKS = false;

export interface Guild {
  guildId: string;
  orgId: string;
  name: string;
  settings: GuildSettings;
  linkedAt: Date;
}

const COLUMNS = `guild_id as "guildId", org_id as "orgId", name, settings, linked_at as "linkedAt"`;

/** The organization a guild is linked to, or null. Crosses tenants through gm_org_for_guild. */
export async function orgForGuild(pool: Pool, guildId: string): Promise<string | null> {
  const r = await pool
    .query<{ org: string | null }>({ text: 'select gm_org_for_guild($1::text) as org', values: [guildId] })
    .catch((e) => {
      throw mapDbError(e);
    });
  return r.rows[0]?.org ?? null;
}
export async function getGuild(tx: Tx, guildId: string): Promise<Guild> {
  const r = await tx.query<Guild>(
    `select ${COLUMNS} from discord_guilds where org_id = $1::uuid and guild_id = $2::text`,
    [tx.orgId, parseInput(snowflake, guildId)],
  );
  if (!r.rows[0]) throw refuse('not_found', 'deny.guildNotLinked');
  return r.rows[0];
}

export async function listGuilds(tx: Tx): Promise<Guild[]> {
  const r = await tx.query<Guild>(
    `select ${COLUMNS} from discord_guilds where org_id = $1::uuid order by linked_at`,
    [tx.orgId],
  );
  return r.rows;
}

/**
 * Unlinks a guild. Its role mappings go with it (cascade), and so do the memberships they made
 * (each audited, its person's API tokens and OAuth grants revoked): nothing would ever revise
 * them again, since neither the bot nor role sync reads an unlinked guild's roles.
 */
export async function unlinkGuild(tx: Tx, guildId: string, actor: Actor): Promise<void> {
  const r = await tx.query('delete from discord_guilds where org_id = $1::uuid and guild_id = $2::text', [
    tx.orgId,
    parseInput(snowflake, guildId),
  ]);
  if (!r.rowCount) throw refuse('not_found', 'deny.guildNotLinked');
  const ended = await endMembershipsOfGuild(tx, guildId);
  await recordChange(tx, actor, {
    action: 'guild.unlinked',
    target: { type: 'guild', id: guildId },
    data: { guildId, ...(ended ? { membershipsEnded: ended } : {}) },
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
  if (!before) throw refuse('not_found', 'deny.guildNotLinked');
  const categories = { ...(before.settings.categories ?? {}) };
  for (const [cid, c] of Object.entries(p.categories ?? {})) categories[cid] = { ...categories[cid], ...c };
  const merged = parseInput(guildSettingsSchema, { ...before.settings, ...p, categories });
  return writeGuildSettings(tx, before, merged, actor);
}

/**
 * Stores a guild's merged settings (its row locked and read as `before`) and audits what each
 * setting was and became, not the patch: `null` in a patch says "cleared" but not which channel
 * it had been. A change that changes nothing writes no entry.
 */
export async function writeGuildSettings(
  tx: Tx,
  before: Guild,
  merged: GuildSettings,
  actor: Actor,
): Promise<Guild> {
  const u = await tx.query<Guild>(
    `update discord_guilds set settings = $3::jsonb where org_id = $1::uuid and guild_id = $2::text
     returning ${COLUMNS}`,
    [tx.orgId, before.guildId, JSON.stringify(merged)],
  );
  const after = u.rows[0] as Guild;
  const changes = guildSettingsChanges(before.settings, after.settings);
  if (changedAny(changes)) {
    await recordChange(tx, actor, {
      action: 'guild.settings_updated',
      target: { type: 'guild', id: before.guildId },
      data: { changes },
    });
  }
  return after;
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
