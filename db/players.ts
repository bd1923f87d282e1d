import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { id, snowflake } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

export interface Player {
  id: string;
  displayName: string;
  discordUserId: string | null;
  gameId: string | null;
  gameAccountId: string | null;
  email: string | null;
  createdAt: Date;
}

const COLUMNS = `id, display_name as "displayName", discord_user_id as "discordUserId", game_id as "gameId",
  game_account_id as "gameAccountId", email, created_at as "createdAt"`;

export const playerIdentityInput = z
  .object({
    displayName: z.string().trim().min(1).max(100),
    discordUserId: snowflake.optional(),
    gameId: id.optional(),
    gameAccountId: z.string().trim().min(1).max(200).optional(),
    email: z.email().max(320).toLowerCase().optional(),
  })
  .refine((v) => v.discordUserId || v.email || (v.gameId && v.gameAccountId), {
    message: 'a player needs a Discord id, an email, or a game and game account id',
  });

/**
 * The player behind an identity (Discord account, game account or email), created on first
 * sight. Other identities given alongside are linked to the found profile when still free.
 */
export async function upsertPlayer(tx: Tx, raw: z.input<typeof playerIdentityInput>): Promise<Player> {
  const input = parseInput(playerIdentityInput, raw);
  const values = [
    tx.orgId,
    input.discordUserId ?? null,
    input.gameId ?? null,
    input.gameAccountId ?? null,
    input.email ?? null,
  ];
  const match = `org_id = $1::uuid and (discord_user_id = $2::text
    or (game_id = $3::uuid and game_account_id = $4::text) or lower(email) = $5::text)`;
  const find = async () =>
    (await tx.query<Player>(`select ${COLUMNS} from player_profiles where ${match} limit 1`, values)).rows[0];
  const existing = await find();
  if (existing) {
    const r = await tx.query<Player>(
      `update player_profiles set discord_user_id = coalesce(discord_user_id, $3::text),
         game_id = coalesce(game_id, $4::uuid), game_account_id = coalesce(game_account_id, $5::text),
         email = coalesce(email, $6::text), updated_at = now()
       where org_id = $1::uuid and id = $2::uuid returning ${COLUMNS}`,
      [
        tx.orgId,
        existing.id,
        input.discordUserId ?? null,
        input.gameId ?? null,
        input.gameAccountId ?? null,
        input.email ?? null,
      ],
    );
    return r.rows[0] as Player;
  }
  const r = await tx.query<Player>(
    `insert into player_profiles (org_id, display_name, discord_user_id, game_id, game_account_id, email)
     values ($1::uuid, $6::text, $2::text, $3::uuid, $4::text, $5::text)
     on conflict do nothing returning ${COLUMNS}`,
    [...values, input.displayName],
  );
  // A concurrent first sight of the same identity won the insert: use its row.
  const player = r.rows[0] ?? (await find());
  if (!player) throw new AppError('conflict', 'player identity changed concurrently, try again');
  return player;
}

export interface GameAccount {
  gameId: string | null;
  gameAccountId: string;
}

/**
 * Every game account that speaks as the player: the one on its own row first, then those of
 * further games linked to it (their rows point at the player, see db/link-codes.ts).
 */
export async function gameAccountsOf(tx: Tx, playerId: string): Promise<GameAccount[]> {
  const r = await tx.query<GameAccount>(
    `select game_id as "gameId", game_account_id as "gameAccountId" from player_profiles
      where org_id = $1::uuid and (id = $2::uuid or linked_player_id = $2::uuid) and game_account_id is not null
      order by id = $2::uuid desc, created_at, id`,
    [tx.orgId, parseInput(id, playerId)],
  );
  return r.rows;
}

export async function getPlayer(tx: Tx, playerId: string): Promise<Player> {
  const r = await tx.query<Player>(`select ${COLUMNS} from player_profiles where id = $1::uuid`, [
    parseInput(id, playerId),
  ]);
  if (!r.rows[0]) throw new AppError('not_found', 'player not found');
  return r.rows[0];
}

export const listPlayersInput = z.object({
  /** Matches display name, email, Discord id or game account id. */
  q: z.string().trim().min(1).max(100).optional(),
  /** The id of the last player of the previous page (players are listed newest first). */
  after: id.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});

export async function listPlayers(tx: Tx, raw: z.input<typeof listPlayersInput> = {}): Promise<Player[]> {
  const f = parseInput(listPlayersInput, raw);
  const r = await tx.query<Player>(
    `select ${COLUMNS} from player_profiles p
     where p.org_id = $1::uuid and p.erased_at is null and p.linked_player_id is null
       and ($2::text is null or p.display_name ilike '%' || $2::text || '%' or p.email ilike $2::text
            or p.discord_user_id = $2::text or p.game_account_id = $2::text
            or exists (select 1 from player_profiles l where l.org_id = p.org_id and l.linked_player_id = p.id
                        and l.game_account_id = $2::text))
       and ($3::uuid is null or (p.created_at, p.id) < (select created_at, id from player_profiles where id = $3::uuid))
     order by p.created_at desc, p.id desc limit $4::int`,
    [tx.orgId, f.q?.replace(/[%_\\]/g, '\\$&') ?? null, f.after ?? null, f.limit],
  );
  return r.rows;
}

export interface PlayerHistory {
  tickets: { id: string; number: number; subject: string; status: string; origin: string; createdAt: Date }[];
  reportsMade: { id: string; reason: string; status: string; reportedId: string; createdAt: Date }[];
  reportsAgainst: {
    id: string;
    reason: string;
    status: string;
    reporterId: string | null;
    createdAt: Date;
  }[];
  sessions: { id: string; gameId: string; startedAt: Date; endedAt: Date | null; platform: string | null }[];
}

/** A player's history across channels: tickets, reports made and received, game sessions. */
export async function playerHistory(tx: Tx, playerId: string): Promise<PlayerHistory> {
  const pid = parseInput(id, playerId);
  const args = [tx.orgId, pid];
  // One after another: a transaction's client runs one query at a time.
  const tickets = await tx.query<PlayerHistory['tickets'][number]>(
    `select id, number, subject, status, origin, created_at as "createdAt" from tickets
       where org_id = $1::uuid and requester_id = $2::uuid order by created_at desc limit 100`,
    args,
  );
  const made = await tx.query<PlayerHistory['reportsMade'][number]>(
    `select id, reason, status, reported_id as "reportedId", created_at as "createdAt" from player_reports
       where org_id = $1::uuid and reporter_id = $2::uuid order by created_at desc limit 100`,
    args,
  );
  const against = await tx.query<PlayerHistory['reportsAgainst'][number]>(
    `select id, reason, status, reporter_id as "reporterId", created_at as "createdAt" from player_reports
       where org_id = $1::uuid and reported_id = $2::uuid order by created_at desc limit 100`,
    args,
  );
  const sessions = await tx.query<PlayerHistory['sessions'][number]>(
    `select id, game_id as "gameId", started_at as "startedAt", ended_at as "endedAt", platform from player_sessions
       where org_id = $1::uuid and player_id = $2::uuid order by started_at desc limit 100`,
    args,
  );
  return {
    tickets: tickets.rows,
    reportsMade: made.rows,
    reportsAgainst: against.rows,
    sessions: sessions.rows,
  };
}
