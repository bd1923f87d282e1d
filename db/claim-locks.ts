import { z } from 'zod';
import { DEFAULT_CLAIM_LOCKS, type GuildSettings } from './guilds.js';
import { id, snowflake } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * Claim locks (channel mode): while a ticket is claimed and its guild or category has
 * `claimLocks`, only the claimer and the player may write in its channel. The workers'
 * `discord.ticket_sync` applies it with channel overwrites after the claim's commit and records
 * here what it did, so an unclaim or transfer takes back exactly that.
 */

export interface ClaimLockState {
  /** Whether the ticket's guild (or its category) asks for claim locks. */
  enabled: boolean;
  /** The claimer's Discord id, when the ticket is claimed by someone with a linked account. */
  assigneeDiscordId: string | null;
  /** As last applied. */
  applied: {
    locked: boolean;
    holder: string | null;
    restricted: string[];
    addedMember: string | null;
  };
}

export async function claimLockState(tx: Tx, ticketId: string): Promise<ClaimLockState | undefined> {
  const r = await tx.query<{
    settings: GuildSettings | null;
    categoryId: string | null;
    assigneeDiscordId: string | null;
    locked: boolean | null;
    holder: string | null;
    restricted: string[] | null;
    addedMember: string | null;
  }>(
    `select g.settings, t.category_id as "categoryId",
       (select d.discord_user_id from discord_accounts d where d.user_id = t.assignee_id) as "assigneeDiscordId",
       s.claim_lock_locked as locked, s.claim_lock_holder as holder, s.claim_lock_restricted as restricted,
       s.claim_lock_added_member as "addedMember"
     from tickets t
     left join discord_guilds g on g.org_id = t.org_id and g.guild_id = t.discord_guild_id
     left join discord_ticket_sides s on s.org_id = t.org_id and s.ticket_id = t.id
     where t.org_id = $1::uuid and t.id = $2::uuid`,
    [tx.orgId, parseInput(id, ticketId)],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  const perCategory = row.categoryId ? row.settings?.categories?.[row.categoryId]?.claimLocks : undefined;
  return {
    enabled: perCategory ?? row.settings?.claimLocks ?? DEFAULT_CLAIM_LOCKS,
    assigneeDiscordId: row.assigneeDiscordId,
    applied: {
      locked: row.locked ?? false,
      holder: row.holder,
      restricted: row.restricted ?? [],
      addedMember: row.addedMember,
    },
  };
}

const appliedInput = z.object({
  locked: z.boolean(),
  holder: snowflake.nullable(),
  restricted: z.array(snowflake).max(100),
  addedMember: snowflake.nullable(),
});

/** Records the lock as applied, under the sync run's claim (a lapsed claim records nothing). */
export async function recordClaimLock(
  tx: Tx,
  ticketId: string,
  claim: string,
  raw: z.input<typeof appliedInput>,
): Promise<void> {
  const a = parseInput(appliedInput, raw);
  await tx.query(
    `update discord_ticket_sides set claim_lock_locked = $4::boolean, claim_lock_holder = $5::text,
       claim_lock_restricted = $6::text[], claim_lock_added_member = $7::text, updated_at = now()
     where org_id = $1::uuid and ticket_id = $2::uuid and claim = $3::text`,
    [tx.orgId, parseInput(id, ticketId), claim, a.locked, a.holder, a.restricted, a.addedMember],
  );
}
