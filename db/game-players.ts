import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import type { Tx } from './tenant.js';

/**
 * Players as a game names them: the game's own account id and a display name. The SDK routes
 * (api/routes/sdk-*.ts) turn them into player profiles here, one round trip per player.
 */
export const gamePlayerInput = z.object({
  id: z.string().trim().min(1).max(200),
  name: z.string().trim().min(1).max(100),
});
export type GamePlayerInput = z.input<typeof gamePlayerInput>;

export interface GamePlayer {
  /** The player profile id. */
  id: string;
  accountId: string;
  blocked: boolean;
}

/**
 * With `replayOf`, the same round trip also does what `openTicket` would do first for an
 * external id: takes the organization's ticket counter row (serializing this org's opens) and
 * looks for a ticket already opened under it. The SDK's ticket open then costs what an API open
 * costs plus this one statement (openTicket's `counterHeld`).
 */
export interface UpsertOptions {
  allowBlocked?: boolean;
  replayOf?: { origin: string; externalId: string };
}

// A game account linked into the history of a player of another of the studio's games keeps its
// own row (its name stays there) pointing at that player: the account speaks as that player, and
// that player's block holds it (migration 228).
const PLAYER_CTES = `found as (
      select t.id, t.blocked_at, a.display_name, a.id as ident from player_profiles a
        join player_profiles t on t.org_id = a.org_id and t.id = coalesce(a.linked_player_id, a.id)
       where a.org_id = $1::uuid and a.game_id = $3::uuid and a.game_account_id = $4::text
    ), ins as (
      insert into player_profiles (org_id, display_name, game_id, game_account_id)
      select $1::uuid, $2::text, $3::uuid, $4::text where not exists (select 1 from found)
      on conflict do nothing
      returning id, blocked_at, display_name, id as ident
    ), player as (
      select id, blocked_at is not null as blocked, display_name as name, ident from found
      union all select id, blocked_at is not null, display_name, ident from ins
    )`;

const UPSERT = `with ${PLAYER_CTES} select id, blocked, name, ident, null::uuid as "replayId" from player`;

// `for no key update`, the lock the counter's update takes (see openTicket): it waits for a
// concurrent open of this org to commit, and never for the key-share lock the player insert holds.
const UPSERT_AND_CLAIM = `with ${PLAYER_CTES}
    select p.id, p.blocked, p.name, p.ident,
           (select t.id from tickets t
             where t.org_id = o.id and t.origin = $5::text and t.external_id = $6::text) as "replayId"
      from (select id from organizations where id = $1::uuid for no key update) o cross join player p`;

/**
 * The profile of a game account, made on first sight; the display name follows the game's
 * latest. A blocked player is refused here, so no SDK write goes past this point for them.
 */
export async function upsertGamePlayer(
  tx: Tx,
  gameId: string,
  player: z.output<typeof gamePlayerInput>,
  opts: UpsertOptions = {},
): Promise<GamePlayer & { replayId: string | null }> {
  // Read first and insert only when missing: an upsert's `do update` would lock a busy player's
  // row (a much-reported cheater) until commit and queue every report about them behind it.
  const values: unknown[] = [tx.orgId, player.name, gameId, player.id];
  if (opts.replayOf) values.push(opts.replayOf.origin, opts.replayOf.externalId);
  const sql = opts.replayOf ? UPSERT_AND_CLAIM : UPSERT;
  type Row = { id: string; blocked: boolean; name: string; ident: string; replayId: string | null };
  let row = (await tx.query<Row>(sql, values)).rows[0];
  // A concurrent first sight inserted it after our snapshot: it is there now.
  row ??= (await tx.query<Row>(sql, values)).rows[0];
  if (!row) throw new AppError('conflict', 'player changed concurrently, try again');
  if (row.name !== player.name)
    await tx.query(
      'update player_profiles set display_name = $3::text where org_id = $1::uuid and id = $2::uuid',
      [tx.orgId, row.ident, player.name],
    );
  if (row.blocked && !opts.allowBlocked)
    throw new AppError('forbidden', 'this player is blocked from support', {
      details: { reason: 'player_blocked' },
    });
  return { id: row.id, accountId: player.id, blocked: row.blocked, replayId: row.replayId };
}

/** The profile id of a game account (the player it is linked to), or null when the game never sent it. */
export async function findGamePlayer(tx: Tx, gameId: string, accountId: string): Promise<string | null> {
  const r = await tx.query<{ id: string }>(
    `select coalesce(linked_player_id, id) as id from player_profiles
      where org_id = $1::uuid and game_id = $2::uuid and game_account_id = $3::text`,
    [tx.orgId, gameId, accountId],
  );
  return r.rows[0]?.id ?? null;
}

/**
 * The external id an SDK write is stored under: its idempotency key scoped to the game and the
 * player, hashed to a fixed length so any 255-character key fits the 200-character column.
 */
export function sdkExternalId(kind: string, gameId: string, accountId: string, key: string): string {
  const digest = createHash('sha256').update(`${gameId}\n${accountId}\n${key}`).digest('base64url');
  return `sdk:${kind}:${digest}`;
}
