import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { currentTraceparent } from '../lib/trace-context.js';
import { mapDbError, RETRYABLE } from './errors.js';
import { gamePlayerInput, sdkExternalId } from './game-players.js';
import type { Pool } from './pool.js';
import { jsonRecord } from './schemas.js';
import { isUuid, type Tx } from './tenant.js';
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

/** One report of a batch: its game, its parsed input and its idempotency key. */
export interface ReportItem {
  gameId: string;
  input: z.output<typeof gameReportInput>;
  idempotencyKey?: string | undefined;
  /**
   * The trace the report was made in, written on its player.reported event when the workers fold
   * it (db/report-fold.ts). Default: the active span's. A caller that batches reports from many
   * requests (api/report-intake.ts) runs the batch in one request's context, so each request
   * captures its own up front.
   */
  traceparent?: string | null | undefined;
}

type Accepted = { report: GameReport; created: boolean };

interface AcceptRow {
  slot: number;
  report_id: string | null;
  report_ticket_id: string | null;
  report_created_at: Date | null;
  outcome: 'created' | 'repeat' | 'blocked' | 'conflict';
}

/**
 * The one statement that accepts a batch (gm_accept_game_reports, migrations 191 and 197): each player
 * once, with every report naming its two players by their place in that list. Players are told
 * apart as JavaScript holds them; the function never matches a string back by value.
 */
function acceptStatement(orgId: string, items: readonly ReportItem[]) {
  const places = new Map<string, number>();
  const games: string[] = [];
  const accounts: string[] = [];
  const names: string[] = [];
  const place = (gameId: string, p: { id: string; name: string }) => {
    const key = `${gameId}\n${p.id}`;
    let at = places.get(key);
    if (at === undefined) {
      at = games.push(gameId);
      accounts.push(p.id);
      names.push(p.name);
      places.set(key, at);
    } else names[at - 1] = p.name;
    return at;
  };
  const reporters: number[] = [];
  const reported: number[] = [];
  for (const { gameId, input } of items) {
    reporters.push(place(gameId, input.reporter));
    reported.push(place(gameId, input.reported));
  }
  return {
    text: `select slot, report_id, report_ticket_id, report_created_at, outcome
             from gm_accept_game_reports($1::uuid, $2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::int[],
               $7::int[], $8::text[], $9::text[], $10::text[], $11::text[], $12::jsonb[], $13::text[])`,
    values: [
      orgId,
      games,
      accounts,
      names,
      items.map(() => randomUUID()),
      reporters,
      reported,
      items.map((i) => i.input.reason),
      items.map((i) => i.input.message || null),
      items.map((i) =>
        i.idempotencyKey ? sdkExternalId('report', i.gameId, i.input.reporter.id, i.idempotencyKey) : null,
      ),
      items.map((i) => i.input.matchId ?? null),
      items.map((i) => (i.input.evidence ? JSON.stringify(i.input.evidence) : null)),
      items.map((i) => (i.traceparent === undefined ? currentTraceparent() : i.traceparent)),
    ],
  };
}

function answers(rows: readonly AcceptRow[], count: number): Array<Accepted | AppError> {
  const out: Array<Accepted | AppError> = new Array(count);
  for (const row of rows) {
    const report = { id: row.report_id, ticketId: row.report_ticket_id, createdAt: row.report_created_at };
    out[row.slot - 1] =
      row.outcome === 'created' || row.outcome === 'repeat'
        ? { report: report as GameReport, created: row.outcome === 'created' }
        : row.outcome === 'blocked'
          ? new AppError('forbidden', 'this player is blocked from support', {
              details: { reason: 'player_blocked' },
            })
          : new AppError('conflict', 'this report changed concurrently, try again');
  }
  for (let i = 0; i < count; i++) out[i] ??= new AppError('internal', 'a report batch answered too few');
  return out;
}

/**
 * Reports from inside games, accepted durably for the whole batch in one statement
 * (gm_accept_game_reports) and no organization-wide lock: each report row with the id of its
 * reported player's moderation ticket, which every report about them goes into while it is open
 * (a new one once staff solve or close it). The workers' fold (db/report-fold.ts) then opens that
 * ticket in the moderation queue (tag `report`) or adds to it, and writes the `player.reported`
 * event, within seconds. Idempotent on each report's key: a repeat returns the first report.
 * Results are in the items' order; a blocked reporter's slot is an error. Players are made on
 * first sight, read first and inserted only when missing (an upsert would lock a much-reported
 * player's row), their display name following the game's latest.
 */
export async function reportsFromGame(
  tx: Tx,
  items: readonly ReportItem[],
): Promise<Array<Accepted | AppError>> {
  if (items.length === 0) return [];
  const { text, values } = acceptStatement(tx.orgId, items);
  return answers((await tx.query<AcceptRow>(text, values)).rows, items.length);
}

const MAX_ATTEMPTS = 3;

/**
 * reportsFromGame as one round trip: the statement outside a transaction block is its own
 * transaction, and the function sets the tenant in it transaction-locally, as withTenant does,
 * so the setting ends with the statement. Serialization failures and deadlocks (a player made
 * concurrently) retry the batch, as withTenant would; database errors come back mapped.
 */
export async function acceptGameReports(
  pool: Pool,
  orgId: string,
  items: readonly ReportItem[],
): Promise<Array<Accepted | AppError>> {
  if (!isUuid(orgId)) throw new AppError('not_found', 'organization not found');
  if (items.length === 0) return [];
  const statement = acceptStatement(orgId, items);
  for (let attempt = 1; ; attempt++) {
    try {
      return answers((await pool.query<AcceptRow>(statement)).rows, items.length);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) continue;
      throw mapDbError(err);
    }
  }
}

/** One report (see reportsFromGame): the batch of one, its error thrown. */
export async function reportFromGame(
  tx: Tx,
  gameId: string,
  raw: z.input<typeof gameReportInput>,
  idempotencyKey?: string,
): Promise<{ report: GameReport; created: boolean }> {
  const [r] = await reportsFromGame(tx, [
    { gameId, input: parseInput(gameReportInput, raw), idempotencyKey },
  ]);
  if (!r) throw new AppError('internal', 'a report batch answered nothing');
  if (r instanceof AppError) throw r;
  return r;
}
