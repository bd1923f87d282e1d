import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { gamePlayerInput, sdkExternalId } from './game-players.js';
import { jsonRecord } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/** The reasons player_reports accepts (its check constraint). */
export const REPORT_REASONS = [
  'cheating',
  'exploiting',
  'harassment',
  'hate_speech',
  'threats',
  'spam',
  'scam',
  'griefing',
  'inappropriate_name',
  'inappropriate_content',
  'impersonation',
  'real_money_trading',
  'underage',
  'self_harm',
  'other',
] as const;

export const gameReportInput = z
  .object({
    reporter: gamePlayerInput,
    reported: gamePlayerInput,
    reason: z.enum(REPORT_REASONS),
    message: z.string().trim().max(4000).optional(),
    matchId: z.string().trim().min(1).max(100).optional(),
    evidence: jsonRecord.refine((r) => Object.keys(r).length <= 50, 'at most 50 fields').optional(),
  })
  .refine((v) => v.reporter.id !== v.reported.id, {
    path: ['reported', 'id'],
    message: 'a player cannot report themselves',
  });

export interface GameReport {
  id: string;
  /** The reported player's moderation ticket: it may be opened by the fold a moment later. */
  ticketId: string;
  createdAt: Date;
}

/** The moderation queue is the tickets tagged `report` (the inbox filters on it). */
export const REPORT_TAG = 'report';

const RETURNING = `returning id, coalesce(ticket_id, queued_ticket_id) as "ticketId", created_at as "createdAt"`;

interface PlayerRow {
  role: 'reporter' | 'reported';
  id: string;
  blocked: boolean;
  name: string;
}

/**
 * Both players' profiles in one round trip, made on first sight (read first, insert only when
 * missing, as upsertGamePlayer does: an upsert would lock a much-reported player's row).
 */
async function reportPlayers(
  tx: Tx,
  gameId: string,
  input: z.output<typeof gameReportInput>,
): Promise<{ reporter: PlayerRow; reported: PlayerRow }> {
  const sql = `with input (role, account_id, name) as (
      values ('reporter', $3::text, $4::text), ('reported', $5::text, $6::text)
    ), found as (
      select i.role, p.id, p.blocked_at, p.display_name from input i
        join player_profiles p on p.org_id = $1::uuid and p.game_id = $2::uuid and p.game_account_id = i.account_id
    ), ins as (
      insert into player_profiles (org_id, display_name, game_id, game_account_id)
      select $1::uuid, i.name, $2::uuid, i.account_id from input i
       where not exists (select 1 from found f where f.role = i.role)
      on conflict do nothing
      returning id, game_account_id, blocked_at, display_name
    )
    select role, id, blocked_at is not null as blocked, display_name as name from found
    union all
    select i.role, ins.id, ins.blocked_at is not null, ins.display_name from ins join input i on i.account_id = ins.game_account_id`;
  const values = [
    tx.orgId,
    gameId,
    input.reporter.id,
    input.reporter.name,
    input.reported.id,
    input.reported.name,
  ];
  const pick = (rows: PlayerRow[]) => ({
    reporter: rows.find((r) => r.role === 'reporter'),
    reported: rows.find((r) => r.role === 'reported'),
  });
  let found = pick((await tx.query<PlayerRow>(sql, values)).rows);
  // A concurrent first sight inserted one after our snapshot: a fresh statement sees it.
  if (!found.reporter || !found.reported) found = pick((await tx.query<PlayerRow>(sql, values)).rows);
  const { reporter, reported } = found;
  if (!reporter || !reported) throw new AppError('conflict', 'player changed concurrently, try again');
  // The display name follows the game's latest (rare: only when a player was renamed).
  for (const [row, name] of [
    [reporter, input.reporter.name],
    [reported, input.reported.name],
  ] as const)
    if (row.name !== name)
      await tx.query(
        'update player_profiles set display_name = $3::text where org_id = $1::uuid and id = $2::uuid',
        [tx.orgId, row.id, name],
      );
  return { reporter, reported };
}

/**
 * A report from inside a game, accepted durably in one short transaction (four round trips, no
 * organization-wide lock): the report row and the id of the reported player's moderation ticket,
 * which every report about them goes into while it is open (a new one once staff solve or close
 * it). The workers' fold (db/report-fold.ts) then opens that ticket in the moderation queue (tag
 * `report`) or adds to it, and writes the `player.reported` event, within seconds. Idempotent on
 * the key: a repeat returns the first report.
 */
export async function reportFromGame(
  tx: Tx,
  gameId: string,
  raw: z.input<typeof gameReportInput>,
  idempotencyKey?: string,
): Promise<{ report: GameReport; created: boolean }> {
  const input = parseInput(gameReportInput, raw);
  const { reporter, reported } = await reportPlayers(tx, gameId, input);
  if (reporter.blocked)
    throw new AppError('forbidden', 'this player is blocked from support', {
      details: { reason: 'player_blocked' },
    });
  const ext = idempotencyKey ? sdkExternalId('report', gameId, input.reporter.id, idempotencyKey) : null;
  // The queue row is updated, not just read, so a report waits for a concurrent one about the
  // same player and sees the ticket id it chose (a read could miss a row committed after this
  // statement's snapshot). A solved or closed ticket gives way to a new id under that lock.
  const r = await tx.query<GameReport>(
    `with queue as (
       insert into player_report_queues as q (org_id, reported_id, ticket_id)
       values ($1::uuid, $3::uuid, gen_random_uuid())
       on conflict (org_id, reported_id) do update set ticket_id = case
         when exists (select 1 from tickets t where t.org_id = q.org_id and t.id = q.ticket_id
                       and t.status in ('solved', 'closed')) then excluded.ticket_id
         else q.ticket_id end
       returning ticket_id
     )
     insert into player_reports (org_id, reporter_id, reported_id, reason, details, origin, external_id,
       match_id, evidence, queued_ticket_id)
     select $1::uuid, $2::uuid, $3::uuid, $4::text, $5::text, 'game', $6::text, $7::text, $8::jsonb, queue.ticket_id
       from queue
     on conflict (org_id, origin, external_id) do nothing
     ${RETURNING}`,
    [
      tx.orgId,
      reporter.id,
      reported.id,
      input.reason,
      input.message || null,
      ext,
      input.matchId ?? null,
      input.evidence ? JSON.stringify(input.evidence) : null,
    ],
  );
  if (r.rows[0]) return { report: r.rows[0], created: true };
  // The key's unique index made a concurrent repeat wait for the first; it is committed now.
  const dup = await tx.query<GameReport>(
    `select id, coalesce(ticket_id, queued_ticket_id) as "ticketId", created_at as "createdAt" from player_reports
      where org_id = $1::uuid and origin = 'game' and external_id = $2::text`,
    [tx.orgId, ext],
  );
  if (!dup.rows[0]?.ticketId) throw new AppError('conflict', 'this report changed concurrently, try again');
  return { report: dup.rows[0], created: false };
}
