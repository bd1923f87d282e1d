import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import { gameAccountsOf } from './players.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/** What a game server enforces about a player: set by staff, read with the server secret. */
export interface ModerationStatus {
  warned: boolean;
  mutedUntil: Date | null;
  bannedUntil: Date | null;
  reason: string | null;
}

const NONE: ModerationStatus = { warned: false, mutedUntil: null, bannedUntil: null, reason: null };
const COLUMNS = `warned, muted_until as "mutedUntil", banned_until as "bannedUntil", reason`;

export const setModerationInput = z.object({
  warned: z.boolean().default(false),
  mutedUntil: z.coerce.date().nullable().default(null),
  /** Far in the future (9999-12-31) for a permanent ban. */
  bannedUntil: z.coerce.date().nullable().default(null),
  reason: z.string().trim().min(1).max(1000).nullable().default(null),
  /** The report this acts on, marked actioned. */
  reportId: id.optional(),
});

/**
 * Sets a player's whole status (a PUT: fields left out are cleared), audited, with the event
 * `player.moderated` for webhooks; acting on a report marks it actioned.
 */
export async function setModeration(
  tx: Tx,
  playerId: string,
  raw: z.input<typeof setModerationInput>,
  actor: Actor,
): Promise<ModerationStatus> {
  const pid = parseInput(id, playerId);
  const input = parseInput(setModerationInput, raw);
  const exists = await tx.query('select 1 from player_profiles where org_id = $1::uuid and id = $2::uuid', [
    tx.orgId,
    pid,
  ]);
  if (exists.rowCount === 0) throw new AppError('not_found', 'player not found');
  if (input.reportId) {
    const rep = await tx.query(
      `update player_reports set status = 'actioned', resolved_by = $4::uuid, resolved_at = now(),
         resolution = coalesce($5::text, resolution)
        where org_id = $1::uuid and id = $2::uuid and reported_id = $3::uuid`,
      [tx.orgId, input.reportId, pid, actor.type === 'user' ? actor.id : null, input.reason],
    );
    if (rep.rowCount === 0) throw new AppError('not_found', 'report not found for this player');
  }
  const r = await tx.query<ModerationStatus>(
    `insert into player_moderation (org_id, player_id, warned, muted_until, banned_until, reason, report_id, updated_by)
     values ($1::uuid, $2::uuid, $3::boolean, $4::timestamptz, $5::timestamptz, $6::text, $7::uuid, $8::uuid)
     on conflict (org_id, player_id) do update set warned = excluded.warned, muted_until = excluded.muted_until,
       banned_until = excluded.banned_until, reason = excluded.reason,
       report_id = coalesce(excluded.report_id, player_moderation.report_id),
       updated_by = excluded.updated_by, updated_at = now()
     returning ${COLUMNS}`,
    [
      tx.orgId,
      pid,
      input.warned,
      input.mutedUntil,
      input.bannedUntil,
      input.reason,
      input.reportId ?? null,
      actor.type === 'user' ? actor.id : null,
    ],
  );
  const status = r.rows[0] as ModerationStatus;
  await recordChange(tx, actor, {
    action: 'player.moderated',
    target: { type: 'player', id: pid },
    data: { ...status, reportId: input.reportId ?? null },
    event: {
      type: 'player.moderated',
      aggregateType: 'player',
      aggregateId: pid,
      // The game accounts too: a game server receiving the webhook knows the player by those.
      payload: { playerId: pid, ...status, gameAccounts: await gameAccountsOf(tx, pid) },
    },
  });
  return status;
}

/** A player's status by profile id; nothing on record reads as nothing against them. */
export async function moderationOf(tx: Tx, playerId: string | null): Promise<ModerationStatus> {
  if (!playerId) return NONE;
  const r = await tx.query<ModerationStatus>(
    `select ${COLUMNS} from player_moderation where org_id = $1::uuid and player_id = $2::uuid`,
    [tx.orgId, playerId],
  );
  return r.rows[0] ?? NONE;
}
