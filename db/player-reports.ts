import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import { gamePlayerInput, sdkExternalId, upsertGamePlayer } from './game-players.js';
import { gameFields } from './player-tickets.js';
import { jsonRecord } from './schemas.js';
import type { Tx } from './tenant.js';
import { openTicket } from './tickets.js';
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
  ticketId: string;
  createdAt: Date;
}

/** The moderation queue is the tickets tagged `report` (the inbox filters on it). */
export const REPORT_TAG = 'report';

/**
 * A report from inside a game: the report row, a ticket in the moderation queue (tag `report`,
 * requester the reporter) and the `player.reported` event, in one transaction. Idempotent on the
 * key: a repeat returns the first report.
 */
export async function reportFromGame(
  tx: Tx,
  gameId: string,
  raw: z.input<typeof gameReportInput>,
  idempotencyKey?: string,
): Promise<{ report: GameReport; created: boolean }> {
  const input = parseInput(gameReportInput, raw);
  const reporter = await upsertGamePlayer(tx, gameId, input.reporter);
  const reported = await upsertGamePlayer(tx, gameId, input.reported, { allowBlocked: true });
  const ext = idempotencyKey ? sdkExternalId('report', gameId, reporter.accountId, idempotencyKey) : null;
  // The report row first, claiming the key (its unique index makes a concurrent repeat wait for
  // this transaction, then see the row): the ticket's number counter, which serialises the
  // org's opens until commit, is taken as late as possible.
  const claimed = await tx.query<GameReport>(
    `insert into player_reports (org_id, reporter_id, reported_id, reason, details, origin, external_id)
     values ($1::uuid, $2::uuid, $3::uuid, $4::text, $5::text, 'game', $6::text)
     on conflict (org_id, origin, external_id) do nothing
     returning id, ticket_id as "ticketId", created_at as "createdAt"`,
    [tx.orgId, reporter.id, reported.id, input.reason, input.message || null, ext],
  );
  if (!claimed.rows[0]) {
    const dup = await tx.query<GameReport>(
      `select id, ticket_id as "ticketId", created_at as "createdAt" from player_reports
        where org_id = $1::uuid and origin = 'game' and external_id = $2::text`,
      [tx.orgId, ext],
    );
    if (!dup.rows[0]) throw new AppError('conflict', 'this report changed concurrently, try again');
    return { report: dup.rows[0], created: false };
  }
  const actor: Actor = { type: 'player', id: reporter.id };
  const { ticket } = await openTicket(
    tx,
    {
      subject: `Report: ${input.reported.name} (${input.reason.replaceAll('_', ' ')})`.slice(0, 200),
      body: input.message || undefined,
      origin: 'game',
      requesterId: reporter.id,
      gameId,
      tags: [REPORT_TAG],
      customFields: {
        ...gameFields(input.reporter, input.matchId ? { matchId: input.matchId } : {}),
        report: {
          reason: input.reason,
          reportedPlayerId: input.reported.id,
          reportedPlayerName: input.reported.name,
          ...(input.evidence ? { evidence: input.evidence } : {}),
        },
      },
    },
    actor,
  );
  const r = await tx.query<GameReport>(
    `update player_reports set ticket_id = $3::uuid where org_id = $1::uuid and id = $2::uuid
     returning id, ticket_id as "ticketId", created_at as "createdAt"`,
    [tx.orgId, (claimed.rows[0] as GameReport).id, ticket.id],
  );
  const report = r.rows[0] as GameReport;
  await recordChange(tx, actor, {
    ticketId: ticket.id,
    action: 'player.reported',
    data: { reportId: report.id, reason: input.reason },
    event: {
      type: 'player.reported',
      aggregateType: 'player',
      aggregateId: reported.id,
      payload: {
        report: {
          id: report.id,
          reason: input.reason,
          ticketId: ticket.id,
          gameId,
          matchId: input.matchId ?? null,
        },
        reporter: { id: reporter.id, gameAccountId: reporter.accountId },
        reported: { id: reported.id, gameAccountId: reported.accountId },
      },
    },
  });
  return { report, created: true };
}
