import { createHash, randomInt } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { refuse } from '../lib/i18n/refusal.js';
import { type Actor, recordChange } from './changes.js';
import type { ModerationStatus } from './player-moderation.js';
import { gameAccountsOf } from './players.js';
import { snowflake } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * One-time codes that link a game account to a Discord account: the game asks for one, shows it,
 * and the player redeems it with `/link` in the studio's Discord server (or staff enter it).
 * Eight characters from 32 (no 0/O, 1/I): 2^40 codes, valid ten minutes, stored as SHA-256.
 */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const CODE_LENGTH = 8;
export const LINK_CODE_MINUTES = 10;

const hashCode = (code: string) => createHash('sha256').update(code).digest();

/** Upper case, without the spaces and dashes people type. */
export const normaliseLinkCode = (raw: string) => raw.toUpperCase().replace(/[\s-]/g, '');

/**
 * A code for the player to redeem. A blocked or currently banned player gets none: a link merges
 * histories, and a code must not become a way to carry a ban onto (or off) another profile.
 */
export async function createLinkCode(tx: Tx, playerId: string): Promise<{ code: string; expiresAt: Date }> {
  const s = await tx.query<{ blocked: boolean; banned: boolean }>(
    `select p.blocked_at is not null as blocked, coalesce(m.banned_until > now(), false) as banned
       from player_profiles p
       left join player_moderation m on m.org_id = p.org_id and m.player_id = p.id
      where p.org_id = $1::uuid and p.id = $2::uuid`,
    [tx.orgId, playerId],
  );
  const standing = s.rows[0];
  if (!standing) throw new AppError('not_found', 'player not found');
  if (standing.blocked)
    throw new AppError('forbidden', 'this player is blocked from support', {
      details: { reason: 'player_blocked' },
    });
  if (standing.banned)
    throw new AppError('forbidden', 'a banned player cannot link accounts until the ban ends', {
      details: { reason: 'player_banned' },
    });
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  const r = await tx.query<{ expiresAt: Date }>(
    `insert into player_link_codes (org_id, player_id, code_hash, expires_at)
     values ($1::uuid, $2::uuid, $3::bytea, now() + make_interval(mins => $4::int))
     returning expires_at as "expiresAt"`,
    [tx.orgId, playerId, hashCode(code), LINK_CODE_MINUTES],
  );
  return { code, expiresAt: (r.rows[0] as { expiresAt: Date }).expiresAt };
}

export const redeemLinkCodeInput = z.object({
  code: z
    .string()
    .transform(normaliseLinkCode)
    .pipe(z.string().regex(new RegExp(`^[${ALPHABET}]{${CODE_LENGTH}}$`), 'an 8-character link code')),
  discordUserId: snowflake,
});

const badCode = () => refuse('not_found', 'deny.playerCodeUnknown');

interface Profile {
  id: string;
  discordUserId: string | null;
  /** Set on a further game's account linked to a player (migration 228). */
  linkedPlayerId: string | null;
  gameId: string | null;
  accountId: string | null;
  blockedAt: Date | null;
  blockedReason: string | null;
}

/**
 * Redeems a code: the game account's player and the Discord account's player become one. When
 * the Discord account already has a profile (tickets opened in Discord or in another of the
 * studio's games), the game profile's tickets, messages, reports, sessions and status move to it,
 * so the player has one history. The first game account moves onto that profile; an account of
 * a further game keeps its own row, pointing at it (`linked_player_id`), since a profile row
 * holds one game identity. A link only ever adds: it refuses to move a game account already
 * linked to another Discord user, or to replace the account a Discord user has in that game.
 * Redeeming again for the same pair changes nothing. Returns the profile that remains.
 */
export async function redeemLinkCode(
  tx: Tx,
  raw: z.input<typeof redeemLinkCodeInput>,
  actor: Actor,
): Promise<{ playerId: string; merged: boolean }> {
  const input = parseInput(redeemLinkCodeInput, raw);
  const c = await tx.query<{ id: string; playerId: string }>(
    `update player_link_codes set used_at = now()
      where org_id = $1::uuid and code_hash = $2::bytea and used_at is null and expires_at > now()
      returning id, player_id as "playerId"`,
    [tx.orgId, hashCode(input.code)],
  );
  const used = c.rows[0];
  if (!used) throw badCode();
  // Both profiles locked in id order, so two redeems touching the same pair can't deadlock.
  const p = await tx.query<Profile>(
    `select id, discord_user_id as "discordUserId", linked_player_id as "linkedPlayerId",
            game_id as "gameId", game_account_id as "accountId",
            blocked_at as "blockedAt", blocked_reason as "blockedReason"
       from player_profiles
      where org_id = $1::uuid and (id = $2::uuid or discord_user_id = $3::text)
      order by id for update`,
    [tx.orgId, used.playerId, input.discordUserId],
  );
  const game = p.rows.find((r) => r.id === used.playerId);
  if (!game) throw badCode();
  const discord = p.rows.find((r) => r.discordUserId === input.discordUserId);
  if (discord?.id === game.id) return { playerId: game.id, merged: false };
  if (discord && game.linkedPlayerId === discord.id) return { playerId: discord.id, merged: false };
  // Whoever holds a code is not proof enough to take a linked account from its Discord user. A
  // further game's account linked to a player has no Discord id of its own: a code minted for it
  // while its link committed (the link moves the codes it sees to the player) still names its row.
  if (game.discordUserId !== null || game.linkedPlayerId !== null)
    throw refuse('conflict', 'deny.gameAccountLinkedElsewhere', {}, undefined, {
      reason: 'game_account_linked_elsewhere',
    });
  // One account per game: a second account of the same game would take the first one's place,
  // and which of the two the Discord user plays is for staff to settle (unlink, then link).
  if (discord && game.accountId !== null && (await holdsGame(tx, discord, game.gameId)))
    throw refuse('conflict', 'deny.discordLinkedElsewhere', {}, undefined, {
      reason: 'discord_linked_elsewhere',
    });
  let moderated: ModerationStatus | null = null;
  if (!discord) {
    await tx.query(
      'update player_profiles set discord_user_id = $3::text where org_id = $1::uuid and id = $2::uuid',
      [tx.orgId, game.id, input.discordUserId],
    );
  } else {
    moderated = await mergeInto(tx, game, discord);
  }
  const playerId = discord?.id ?? game.id;
  const mergedFrom = discord ? game.id : null;
  await recordChange(tx, actor, {
    action: 'player.linked',
    target: { type: 'player', id: playerId },
    data: { discordUserId: input.discordUserId, mergedFrom },
    event: {
      type: 'player.linked',
      aggregateType: 'player',
      aggregateId: playerId,
      payload: { playerId, discordUserId: input.discordUserId, mergedFrom },
    },
  });
  // The merged status may be stricter than what either side had: game servers and webhooks
  // learn of it as of any other moderation change.
  if (moderated)
    await recordChange(tx, actor, {
      action: 'player.moderated',
      target: { type: 'player', id: playerId },
      data: { ...moderated, mergedFrom },
      event: {
        type: 'player.moderated',
        aggregateType: 'player',
        aggregateId: playerId,
        payload: { playerId, ...moderated, gameAccounts: await gameAccountsOf(tx, playerId) },
      },
    });
  return { playerId, merged: Boolean(discord) };
}

/** Whether `profile` already holds an account of `gameId`, on its row or a linked one. */
async function holdsGame(tx: Tx, profile: Profile, gameId: string | null): Promise<boolean> {
  if (profile.accountId !== null && profile.gameId === gameId) return true;
  const r = await tx.query(
    `select 1 from player_profiles
      where org_id = $1::uuid and linked_player_id = $2::uuid and game_id = $3::uuid limit 1`,
    [tx.orgId, profile.id, gameId],
  );
  return (r.rowCount ?? 0) > 0;
}

/** `reasons` in order, each once, joined and cut to the column's limit; null when there are none. */
function joinReasons(reasons: Array<string | null>, max: number): string | null {
  const kept = [...new Set(reasons.filter((r): r is string => Boolean(r)))];
  return kept.length === 0 ? null : kept.join('; ').slice(0, max);
}

const NO_STATUS: ModerationStatus = { warned: false, mutedUntil: null, bannedUntil: null, reason: null };

interface ModerationRow {
  playerId: string;
  warned: boolean;
  mutedUntil: Date | null;
  bannedUntil: Date | null;
  reason: string | null;
  reportId: string | null;
  updatedBy: string | null;
}

const later = (a: Date | null, b: Date | null) => (a && b ? (a > b ? a : b) : (a ?? b));

/** How much a status restricts the player now: a ban in force, then a mute, then a warning. */
function weight(m: ModerationRow, now: number): number {
  if (m.bannedUntil && m.bannedUntil.getTime() > now) return 3;
  if (m.mutedUntil && m.mutedUntil.getTime() > now) return 2;
  return m.warned ? 1 : 0;
}

const sameStatus = (a: ModerationStatus, b: ModerationStatus) =>
  a.warned === b.warned &&
  a.mutedUntil?.getTime() === b.mutedUntil?.getTime() &&
  a.bannedUntil?.getTime() === b.bannedUntil?.getTime() &&
  a.reason === b.reason;

/**
 * The two profiles' moderation become the stricter of both on `to`: a link must never lift or
 * shorten a restriction. Warned if either was, the later mute and ban; the reason of the status
 * that restricts most first, the other's after it. Returns the merged status when it differs
 * from what either side had (the game account or the Discord user now stands otherwise), else null.
 */
async function mergeModeration(tx: Tx, from: string, to: string): Promise<ModerationStatus | null> {
  const r = await tx.query<ModerationRow>(
    `select player_id as "playerId", warned, muted_until as "mutedUntil", banned_until as "bannedUntil",
            reason, report_id as "reportId", updated_by as "updatedBy"
       from player_moderation where org_id = $1::uuid and player_id = any($2::uuid[])
      for update`,
    [tx.orgId, [from, to]],
  );
  if (r.rows.length === 0) return null;
  const now = Date.now();
  // The Discord profile's row first on a tie.
  const rows = [...r.rows].sort(
    (a, b) => weight(b, now) - weight(a, now) || Number(b.playerId === to) - Number(a.playerId === to),
  );
  const first = rows[0] as ModerationRow;
  const second = rows[1];
  const merged: ModerationStatus = {
    warned: rows.some((m) => m.warned),
    mutedUntil: later(first.mutedUntil, second?.mutedUntil ?? null),
    bannedUntil: later(first.bannedUntil, second?.bannedUntil ?? null),
    reason: joinReasons(
      rows.map((m) => m.reason),
      1000,
    ),
  };
  await tx.query(
    `insert into player_moderation (org_id, player_id, warned, muted_until, banned_until, reason, report_id, updated_by)
     values ($1::uuid, $2::uuid, $3::boolean, $4::timestamptz, $5::timestamptz, $6::text, $7::uuid, $8::uuid)
     on conflict (org_id, player_id) do update set warned = excluded.warned, muted_until = excluded.muted_until,
       banned_until = excluded.banned_until, reason = excluded.reason, report_id = excluded.report_id,
       updated_by = excluded.updated_by, updated_at = now()`,
    [
      tx.orgId,
      to,
      merged.warned,
      merged.mutedUntil,
      merged.bannedUntil,
      merged.reason,
      first.reportId ?? second?.reportId ?? null,
      first.updatedBy ?? second?.updatedBy ?? null,
    ],
  );
  await tx.query('delete from player_moderation where org_id = $1::uuid and player_id = $2::uuid', [
    tx.orgId,
    from,
  ]);
  const before = (id: string) => r.rows.find((m) => m.playerId === id) ?? NO_STATUS;
  return sameStatus(merged, before(from)) && sameStatus(merged, before(to)) ? null : merged;
}

/**
 * Moves everything of profile `from` onto `to`, then its block and its game identity: onto `to`'s
 * row when `to` has none, else `from` keeps it and points at `to` (the caller has made sure `to`
 * has no account of that game). `from` is left empty: without its name and data when it keeps no
 * identity, and its email goes to `to`. Returns the moderation status when the merge changed it
 * (see mergeModeration).
 */
async function mergeInto(tx: Tx, from: Profile, to: Profile): Promise<ModerationStatus | null> {
  const v = [tx.orgId, from.id, to.id];
  const where = 'org_id = $1::uuid';
  await tx.query(`update tickets set requester_id = $3::uuid where ${where} and requester_id = $2::uuid`, v);
  await tx.query(
    `update messages set author_player_id = $3::uuid where ${where} and author_player_id = $2::uuid`,
    v,
  );
  await tx.query(
    `update player_reports set reporter_id = $3::uuid where ${where} and reporter_id = $2::uuid`,
    v,
  );
  await tx.query(
    `update player_reports set reported_id = $3::uuid where ${where} and reported_id = $2::uuid
       and reporter_id is distinct from $3::uuid`,
    v,
  );
  await tx.query(
    `update player_sessions set player_id = $3::uuid where ${where} and player_id = $2::uuid`,
    v,
  );
  await tx.query(
    `update player_link_codes set player_id = $3::uuid where ${where} and player_id = $2::uuid`,
    v,
  );
  // Game accounts already linked to `from` follow it.
  await tx.query(
    `update player_profiles set linked_player_id = $3::uuid where ${where} and linked_player_id = $2::uuid`,
    v,
  );
  const moderated = await mergeModeration(tx, from.id, to.id);
  const keepsIdentity = to.accountId !== null && from.accountId !== null;
  // Cleared on `from` first: the game identity and the email are unique per org; the email is the
  // person's, so it goes to `to` (below) unless `to` has one. A row left empty keeps nothing of the
  // person either (its game name and data): nothing points from it to `to`, so erasing `to` would
  // not find it, and staff's player search would still show the name.
  const cleared = await tx.query<{ email: string | null }>(
    `with was as (select email from player_profiles where org_id = $1::uuid and id = $2::uuid)
     update player_profiles set game_id = case when $4::boolean then game_id end,
       game_account_id = case when $4::boolean then game_account_id end,
       linked_player_id = case when $4::boolean then $3::uuid end,
       display_name = case when $4::boolean then display_name end,
       email = null,
       metadata = case when $4::boolean then metadata else '{}' end || jsonb_build_object('mergedInto', $3::text)
      where org_id = $1::uuid and id = $2::uuid
      returning (select email from was)`,
    [...v, keepsIdentity],
  );
  // A block stays on the merged profile, dated from the earlier of the two.
  const blocks = [to, from]
    .filter((p) => p.blockedAt !== null)
    .sort((a, b) => (a.blockedAt as Date).getTime() - (b.blockedAt as Date).getTime());
  await tx.query(
    `update player_profiles set game_id = coalesce($3::uuid, game_id), game_account_id = coalesce($4::text, game_account_id),
       blocked_at = $5::timestamptz, blocked_reason = $6::text, email = coalesce(email, $7::text)
      where org_id = $1::uuid and id = $2::uuid`,
    [
      tx.orgId,
      to.id,
      to.accountId === null ? from.gameId : null,
      to.accountId === null ? from.accountId : null,
      blocks[0]?.blockedAt ?? null,
      joinReasons(
        blocks.map((p) => p.blockedReason),
        500,
      ),
      cleared.rows[0]?.email ?? null,
    ],
  );
  return moderated;
}
