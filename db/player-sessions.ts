import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { gamePlayerInput, upsertGamePlayer } from './game-players.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * Play sessions reported by games: start, heartbeat, end. They feed player activity (the player
 * card, analytics) and the online-now count. A session whose heartbeats stop counts as offline
 * after ONLINE_WINDOW_HEARTBEATS missed beats, with no job needed to end it.
 */
export const HEARTBEAT_SECONDS = 60;
const ONLINE_WINDOW_HEARTBEATS = 3;

export const startSessionInput = z.object({
  player: gamePlayerInput,
  platform: z.string().trim().min(1).max(50).optional(),
  build: z.string().trim().min(1).max(50).optional(),
});

export async function startSession(
  tx: Tx,
  gameId: string,
  raw: z.input<typeof startSessionInput>,
  ipHash?: string,
): Promise<{ id: string; startedAt: Date }> {
  const input = parseInput(startSessionInput, raw);
  const player = await upsertGamePlayer(tx, gameId, input.player, { allowBlocked: true });
  const r = await tx.query<{ id: string; startedAt: Date }>(
    `insert into player_sessions (org_id, player_id, game_id, platform, client_version, ip_hash)
     values ($1::uuid, $2::uuid, $3::uuid, $4::text, $5::text, $6::text) returning id, started_at as "startedAt"`,
    [tx.orgId, player.id, gameId, input.platform ?? null, input.build ?? null, ipHash ?? null],
  );
  return r.rows[0] as { id: string; startedAt: Date };
}

const gone = () => new AppError('not_found', 'session not found or already ended');

/** Marks a running session of this game as still playing. */
export async function heartbeat(tx: Tx, gameId: string, sessionId: string): Promise<void> {
  const r = await tx.query(
    `update player_sessions set last_seen_at = now()
      where org_id = $1::uuid and game_id = $2::uuid and id = $3::uuid and ended_at is null`,
    [tx.orgId, gameId, parseInput(id, sessionId)],
  );
  if (r.rowCount === 0) throw gone();
}

/** Ends a session; ending it again changes nothing. */
export async function endSession(tx: Tx, gameId: string, sessionId: string): Promise<void> {
  const r = await tx.query(
    `update player_sessions set ended_at = coalesce(ended_at, greatest(now(), started_at)), last_seen_at = now()
      where org_id = $1::uuid and game_id = $2::uuid and id = $3::uuid`,
    [tx.orgId, gameId, parseInput(id, sessionId)],
  );
  if (r.rowCount === 0) throw new AppError('not_found', 'session not found');
}

/** Distinct players with a running session of this game that beat recently. */
export async function onlineNow(tx: Tx, gameId: string): Promise<number> {
  const r = await tx.query<{ n: number }>(
    `select count(distinct player_id)::int as n from player_sessions
      where org_id = $1::uuid and game_id = $2::uuid and ended_at is null
        and last_seen_at > now() - make_interval(secs => $3::int)`,
    [tx.orgId, gameId, HEARTBEAT_SECONDS * ONLINE_WINDOW_HEARTBEATS],
  );
  return r.rows[0]?.n ?? 0;
}
