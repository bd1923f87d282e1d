import type { Tx } from './tenant.js';

/**
 * Players' email identities. An address belongs to one player profile: the one that already
 * carries it (a Discord or game player who gave it, `player_profiles.email`), or a new profile
 * made on first mail. So a player who writes by email and on Discord has one history.
 */
export interface EmailPlayer {
  playerId: string;
  blocked: boolean;
  undeliverable: boolean;
}

/**
 * The player behind a sender address, made on first sight, in one statement: a known address,
 * else the profile whose email it is, else a new profile (a concurrent first mail from the same
 * address loses the insert race and retries once, then finds the winner's row).
 */
export async function emailPlayer(tx: Tx, address: string, displayName: string | null): Promise<EmailPlayer> {
  const a = address.toLowerCase();
  const name = (displayName ?? a.split('@')[0] ?? a).slice(0, 100) || a.slice(0, 100);
  const sql = `with known as (
      select e.player_id, e.undeliverable_at from player_email_addresses e where e.org_id = $1::uuid and e.address = $2::text
    ), profile as (
      select p.id from player_profiles p
       where p.org_id = $1::uuid and lower(p.email) = $2::text and not exists (select 1 from known)
    ), made as (
      insert into player_profiles (org_id, display_name, email)
      select $1::uuid, $3::text, $2::text
       where not exists (select 1 from known) and not exists (select 1 from profile)
      on conflict do nothing
      returning id
    ), linked as (
      insert into player_email_addresses (org_id, player_id, address)
      select $1::uuid, coalesce((select id from profile), (select id from made)), $2::text
       where not exists (select 1 from known) and coalesce((select id from profile), (select id from made)) is not null
      on conflict do nothing
      returning player_id
    ), chosen as (
      select player_id, undeliverable_at is not null as undeliverable from known
      union all select player_id, false from linked
    )
    select c.player_id as "playerId", c.undeliverable, p.blocked_at is not null as blocked
      from chosen c join player_profiles p on p.org_id = $1::uuid and p.id = c.player_id`;
  const values = [tx.orgId, a, name];
  for (let attempt = 0; attempt < 3; attempt++) {
    const row = (await tx.query<EmailPlayer>(sql, values)).rows[0];
    if (row) return row;
  }
  throw new Error(`no player for ${a} after three attempts`);
}

/** A bounce: the address stops receiving our mail until the player writes from it again. */
export async function markUndeliverable(
  tx: Tx,
  addresses: readonly string[],
  reason: string,
): Promise<string[]> {
  if (!addresses.length) return [];
  const r = await tx.query<{ address: string }>(
    `update player_email_addresses set undeliverable_at = now(), undeliverable_reason = $3::text
      where org_id = $1::uuid and address = any($2::text[]) returning address`,
    [tx.orgId, addresses.map((x) => x.toLowerCase()), reason.slice(0, 500)],
  );
  return r.rows.map((x) => x.address);
}

/** A mail from an address shows it works again. */
export async function markDeliverable(tx: Tx, address: string): Promise<void> {
  await tx.query(
    `update player_email_addresses set undeliverable_at = null, undeliverable_reason = null
      where org_id = $1::uuid and address = $2::text and undeliverable_at is not null`,
    [tx.orgId, address.toLowerCase()],
  );
}
