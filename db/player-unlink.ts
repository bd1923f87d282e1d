import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

export const unlinkGameAccountInput = z.object({
  /** The game whose account leaves the player (a player holds at most one account per game). */
  gameId: id,
});

interface Holder {
  id: string;
  displayName: string | null;
  discordUserId: string | null;
  email: string | null;
  gameId: string | null;
  accountId: string | null;
  linkedPlayerId: string | null;
  blockedAt: Date | null;
  blockedReason: string | null;
}

const notHeld = () => new AppError('not_found', 'this player has no account of that game');

/**
 * Staff undo a link (a code redeemed by the wrong Discord user, two people merged): the player's
 * account of `gameId` becomes a profile of its own again, taking the tickets opened from that game
 * (with the player's messages in them) and that game's play sessions. The rest stays: Discord
 * tickets, email, reports and the other games' accounts. An unlink never lifts a restriction: the
 * split account keeps the player's moderation status and block, which staff may then change on
 * either profile. Audited, with the event `player.unlinked`. Returns both profiles.
 */
export async function unlinkGameAccount(
  tx: Tx,
  playerId: string,
  raw: z.input<typeof unlinkGameAccountInput>,
  actor: Actor,
): Promise<{ playerId: string; splitInto: string }> {
  const pid = parseInput(id, playerId);
  const { gameId } = parseInput(unlinkGameAccountInput, raw);
  const columns = `id, display_name as "displayName", discord_user_id as "discordUserId", email,
    game_id as "gameId", game_account_id as "accountId", linked_player_id as "linkedPlayerId",
    blocked_at as "blockedAt", blocked_reason as "blockedReason"`;
  const p = (
    await tx.query<Holder>(
      `select ${columns} from player_profiles where org_id = $1::uuid and id = $2::uuid for update`,
      [tx.orgId, pid],
    )
  ).rows[0];
  if (!p) throw new AppError('not_found', 'player not found');
  // A linked account's own row holds no history: the player it points at is the one to unlink from.
  if (p.linkedPlayerId !== null) throw notHeld();
  let splitInto: string;
  let accountId: string;
  if (p.gameId === gameId && p.accountId !== null) {
    const others = await tx.query(
      'select 1 from player_profiles where org_id = $1::uuid and linked_player_id = $2::uuid limit 1',
      [tx.orgId, pid],
    );
    if (!p.discordUserId && !p.email && others.rowCount === 0)
      throw new AppError(
        'conflict',
        "this game account is the player's only identity: there is nothing to unlink",
        {
          details: { reason: 'only_identity' },
        },
      );
    accountId = p.accountId;
    // Cleared first: a game account is unique per organization.
    await tx.query(
      `update player_profiles set game_id = null, game_account_id = null where org_id = $1::uuid and id = $2::uuid`,
      [tx.orgId, pid],
    );
    const made = await tx.query<{ id: string }>(
      `insert into player_profiles (org_id, display_name, game_id, game_account_id)
       values ($1::uuid, $2::text, $3::uuid, $4::text) returning id`,
      [tx.orgId, p.displayName, gameId, accountId],
    );
    splitInto = (made.rows[0] as { id: string }).id;
  } else {
    const linked = (
      await tx.query<Holder>(
        `select ${columns} from player_profiles
          where org_id = $1::uuid and linked_player_id = $2::uuid and game_id = $3::uuid for update`,
        [tx.orgId, pid, gameId],
      )
    ).rows[0];
    if (!linked || linked.accountId === null) throw notHeld();
    accountId = linked.accountId;
    splitInto = linked.id;
    await tx.query(
      `update player_profiles set linked_player_id = null, metadata = metadata - 'mergedInto'
        where org_id = $1::uuid and id = $2::uuid`,
      [tx.orgId, splitInto],
    );
  }
  await moveGameHistory(tx, pid, splitInto, gameId);
  await tx.query(
    `update player_profiles set blocked_at = $3::timestamptz, blocked_reason = $4::text
      where org_id = $1::uuid and id = $2::uuid`,
    [tx.orgId, splitInto, p.blockedAt, p.blockedReason],
  );
  await tx.query(
    `insert into player_moderation (org_id, player_id, warned, muted_until, banned_until, reason, report_id, updated_by)
     select org_id, $3::uuid, warned, muted_until, banned_until, reason, report_id, updated_by
       from player_moderation where org_id = $1::uuid and player_id = $2::uuid
     on conflict (org_id, player_id) do update set warned = excluded.warned, muted_until = excluded.muted_until,
       banned_until = excluded.banned_until, reason = excluded.reason, report_id = excluded.report_id,
       updated_by = excluded.updated_by, updated_at = now()`,
    [tx.orgId, pid, splitInto],
  );
  await recordChange(tx, actor, {
    action: 'player.unlinked',
    target: { type: 'player', id: pid },
    data: { gameId, gameAccountId: accountId, splitInto },
    event: {
      type: 'player.unlinked',
      aggregateType: 'player',
      aggregateId: pid,
      payload: { playerId: pid, gameId, splitInto },
    },
  });
  return { playerId: pid, splitInto };
}

/** The tickets `from` opened from the game, its messages in them and the game's sessions, to `to`. */
async function moveGameHistory(tx: Tx, from: string, to: string, gameId: string): Promise<void> {
  const v = [tx.orgId, from, to, gameId];
  const moved = await tx.query<{ id: string }>(
    `update tickets set requester_id = $3::uuid
      where org_id = $1::uuid and requester_id = $2::uuid and game_id = $4::uuid and origin = 'game'
      returning id`,
    v,
  );
  await tx.query(
    `update messages set author_player_id = $3::uuid
      where org_id = $1::uuid and author_player_id = $2::uuid and ticket_id = any($4::uuid[])`,
    [tx.orgId, from, to, moved.rows.map((t) => t.id)],
  );
  await tx.query(
    `update player_sessions set player_id = $3::uuid
      where org_id = $1::uuid and player_id = $2::uuid and game_id = $4::uuid`,
    v,
  );
}
