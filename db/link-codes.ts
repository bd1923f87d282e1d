import { createHash, randomInt } from 'node:crypto';
import { z } from 'zod';
import { refuse } from '../lib/i18n/refusal.js';
import { type Actor, recordChange } from './changes.js';
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

export async function createLinkCode(tx: Tx, playerId: string): Promise<{ code: string; expiresAt: Date }> {
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

/**
 * Redeems a code: the game account's player and the Discord account's player become one. When
 * the Discord account already has a profile (tickets opened in Discord), the game profile's
 * tickets, messages, reports, sessions and status move to it and the game identity with them,
 * so the player has one history. Returns the profile that remains.
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
  const game = used.playerId;
  const d = await tx.query<{ id: string }>(
    'select id from player_profiles where org_id = $1::uuid and discord_user_id = $2::text for update',
    [tx.orgId, input.discordUserId],
  );
  const discord = d.rows[0]?.id;
  if (discord === game) return { playerId: game, merged: false };
  if (!discord) {
    await tx.query(
      'update player_profiles set discord_user_id = $3::text where org_id = $1::uuid and id = $2::uuid',
      [tx.orgId, game, input.discordUserId],
    );
  } else {
    await mergeInto(tx, game, discord);
  }
  const playerId = discord ?? game;
  await recordChange(tx, actor, {
    action: 'player.linked',
    target: { type: 'player', id: playerId },
    data: { discordUserId: input.discordUserId, mergedFrom: discord ? game : null },
    event: {
      type: 'player.linked',
      aggregateType: 'player',
      aggregateId: playerId,
      payload: { playerId, discordUserId: input.discordUserId, mergedFrom: discord ? game : null },
    },
  });
  return { playerId, merged: Boolean(discord) };
}

/** Moves everything of profile `from` onto `to`, then its game identity; `from` is left empty. */
async function mergeInto(tx: Tx, from: string, to: string): Promise<void> {
  const v = [tx.orgId, from, to];
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
  // The Discord profile's own status wins; the game profile's moves only when it has none.
  await tx.query(
    `update player_moderation set player_id = $3::uuid where ${where} and player_id = $2::uuid
       and not exists (select 1 from player_moderation m where m.org_id = $1::uuid and m.player_id = $3::uuid)`,
    v,
  );
  const g = await tx.query<{ gameId: string | null; account: string | null }>(
    `update player_profiles p set game_id = null, game_account_id = null,
       metadata = p.metadata || jsonb_build_object('mergedInto', $3::text)
      from player_profiles old where p.org_id = $1::uuid and p.id = $2::uuid and old.id = p.id
      returning old.game_id as "gameId", old.game_account_id as account`,
    v,
  );
  const moved = g.rows[0];
  if (moved?.gameId && moved.account)
    await tx.query(
      `update player_profiles set game_id = $3::uuid, game_account_id = $4::text
        where org_id = $1::uuid and id = $2::uuid`,
      [tx.orgId, to, moved.gameId, moved.account],
    );
}
