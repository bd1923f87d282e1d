import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { refuse } from '../lib/i18n/refusal.js';
import { type Actor, recordChange, SYSTEM } from './changes.js';
import { mapDbError } from './errors.js';
import { orgForGuild } from './guilds.js';
import { createOrganization } from './organizations.js';
import type { Pool } from './pool.js';
import { id, snowflake } from './schemas.js';
import { type Tx, withTenant } from './tenant.js';
import { withTransaction } from './transaction.js';
import { parseInput } from './validate.js';

/**
 * Linking a Discord guild to an organization, the two ways: a one-time code made in the panel
 * and redeemed with `/setup link`, or a new organization owned by the guild owner. Both are
 * serialised per guild.
 */

const hashCode = (code: string) => createHash('sha256').update(code.trim().toUpperCase()).digest();

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
      if (!orgId) throw refuse('not_found', 'deny.guildCodeUnknown');
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
      if (err.code === 'conflict') throw refuse('conflict', 'deny.guildLinkedElsewhere');
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
    if (await orgForGuild(pool, input.guildId)) throw refuse('conflict', 'deny.guildAlreadyLinked');
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
      if (e instanceof AppError && e.code === 'conflict') throw refuse('conflict', 'deny.guildAlreadyLinked');
      throw e;
    });
    return org.id;
  });
}
