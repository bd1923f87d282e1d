import { randomUUID } from 'node:crypto';
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

interface PlayerRow {
  id: string;
  blocked: boolean;
  name: string;
}

/** One report of a batch: its game, its parsed input and its idempotency key. */
export interface ReportItem {
  gameId: string;
  input: z.output<typeof gameReportInput>;
  idempotencyKey?: string | undefined;
}

const playerKey = (gameId: string, account: string) => `${gameId}\n${account}`;

/**
 * Every player a batch names, in one round trip, made on first sight (read first, insert only
 * when missing, as upsertGamePlayer does: an upsert would lock a much-reported player's row).
 */
async function batchPlayers(tx: Tx, items: readonly ReportItem[]): Promise<Map<string, PlayerRow>> {
  const wanted = new Map<string, { gameId: string; account: string; name: string }>();
  for (const { gameId, input } of items)
    for (const p of [input.reporter, input.reported])
      wanted.set(playerKey(gameId, p.id), { gameId, account: p.id, name: p.name });
  const list = [...wanted.values()];
  // Rows come back by their place in the input: a string Postgres stores differently than
  // JavaScript holds it (a lone surrogate becomes U+FFFD) would not find itself by value.
  const sql = `with input as (
      select * from unnest($2::uuid[], $3::text[], $4::text[]) with ordinality as i (game_id, account_id, name, n)
    ), found as (
      select i.n, p.id, p.blocked_at, p.display_name from input i
        join player_profiles p on p.org_id = $1::uuid and p.game_id = i.game_id and p.game_account_id = i.account_id
    ), ins as (
      insert into player_profiles (org_id, display_name, game_id, game_account_id)
      select $1::uuid, i.name, i.game_id, i.account_id from input i where not exists (select 1 from found f where f.n = i.n)
      on conflict do nothing
      returning id, game_id, game_account_id, blocked_at, display_name
    )
    select n::int, id, blocked_at is not null as blocked, display_name as name from found
    union all
    select i.n::int, ins.id, ins.blocked_at is not null, ins.display_name
      from ins join input i on i.game_id = ins.game_id and i.account_id = ins.game_account_id`;
  const values = [tx.orgId, list.map((p) => p.gameId), list.map((p) => p.account), list.map((p) => p.name)];
  const byN = new Map<number, PlayerRow & { n: number }>();
  for (let attempt = 0; attempt < 2 && byN.size < list.length; attempt++)
    // A second statement sees a player a concurrent first sight inserted after our snapshot.
    for (const row of (await tx.query<PlayerRow & { n: number }>(sql, values)).rows) byN.set(row.n, row);
  if (byN.size < list.length) throw new AppError('conflict', 'player changed concurrently, try again');
  const byKey = new Map<string, PlayerRow>();
  const renamed: Array<{ id: string; name: string }> = [];
  list.forEach((p, i) => {
    const row = byN.get(i + 1) as PlayerRow;
    byKey.set(playerKey(p.gameId, p.account), row);
    // The display name follows the game's latest (rare: only when a player was renamed).
    if (row.name !== p.name) renamed.push({ id: row.id, name: p.name });
  });
  if (renamed.length > 0)
    await tx.query(
      `update player_profiles p set display_name = u.name
         from unnest($2::uuid[], $3::text[]) as u (id, name) where p.org_id = $1::uuid and p.id = u.id`,
      [tx.orgId, renamed.map((r) => r.id), renamed.map((r) => r.name)],
    );
  return byKey;
}

/**
 * Reports from inside games, accepted durably in one short transaction for the whole batch (four
 * round trips, however many reports, and no organization-wide lock): each report row with the id
 * of its reported player's moderation ticket, which every report about them goes into while it
 * is open (a new one once staff solve or close it). The workers' fold (db/report-fold.ts) then
 * opens that ticket in the moderation queue (tag `report`) or adds to it, and writes the
 * `player.reported` event, within seconds. Idempotent on each report's key: a repeat returns the
 * first report. Results are in the items' order; a blocked reporter's slot is an error.
 */
export async function reportsFromGame(
  tx: Tx,
  items: readonly ReportItem[],
): Promise<Array<{ report: GameReport; created: boolean } | AppError>> {
  const players = await batchPlayers(tx, items);
  const out: Array<{ report: GameReport; created: boolean } | AppError> = new Array(items.length);
  const rows: Array<{ i: number; id: string; reporter: string; reported: string; ext: string | null }> = [];
  items.forEach(({ gameId, input, idempotencyKey }, i) => {
    const reporter = players.get(playerKey(gameId, input.reporter.id)) as PlayerRow;
    const reported = players.get(playerKey(gameId, input.reported.id)) as PlayerRow;
    if (reporter.blocked)
      out[i] = new AppError('forbidden', 'this player is blocked from support', {
        details: { reason: 'player_blocked' },
      });
    else
      rows.push({
        i,
        id: randomUUID(),
        reporter: reporter.id,
        reported: reported.id,
        ext: idempotencyKey ? sdkExternalId('report', gameId, input.reporter.id, idempotencyKey) : null,
      });
  });
  if (rows.length === 0) return out;
  const inputOf = (r: (typeof rows)[number]) => (items[r.i] as ReportItem).input;
  // The queue row is updated, not just read, so a report waits for a concurrent one about the
  // same player and sees the ticket id it chose (a read could miss a row committed after this
  // statement's snapshot). A solved or closed ticket gives way to a new id under that lock.
  // Rows are taken in id order, so two batches naming the same players never deadlock.
  const inserted = await tx.query<GameReport>(
    `with r as (
       select * from unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[],
         $9::jsonb[]) with ordinality as r (id, reporter_id, reported_id, reason, details, external_id, match_id,
         evidence, n)
     ), queue as (
       insert into player_report_queues as q (org_id, reported_id, ticket_id)
       select $1::uuid, d.reported_id, gen_random_uuid() from (select distinct reported_id from r) d
        order by d.reported_id
       on conflict (org_id, reported_id) do update set ticket_id = case
         when exists (select 1 from tickets t where t.org_id = q.org_id and t.id = q.ticket_id
                       and t.status in ('solved', 'closed')) then excluded.ticket_id
         else q.ticket_id end
       returning reported_id, ticket_id
     )
     insert into player_reports (id, org_id, reporter_id, reported_id, reason, details, origin, external_id,
       match_id, evidence, queued_ticket_id)
     select r.id, $1::uuid, r.reporter_id, r.reported_id, r.reason, r.details, 'game', r.external_id, r.match_id,
            r.evidence, queue.ticket_id
       from r join queue on queue.reported_id = r.reported_id
      order by r.n
     on conflict (org_id, origin, external_id) do nothing
     returning id, queued_ticket_id as "ticketId", created_at as "createdAt"`,
    [
      tx.orgId,
      rows.map((r) => r.id),
      rows.map((r) => r.reporter),
      rows.map((r) => r.reported),
      rows.map((r) => inputOf(r).reason),
      rows.map((r) => inputOf(r).message || null),
      rows.map((r) => r.ext),
      rows.map((r) => inputOf(r).matchId ?? null),
      rows.map((r) => {
        const e = inputOf(r).evidence;
        return e ? JSON.stringify(e) : null;
      }),
    ],
  );
  const made = new Map(inserted.rows.map((row) => [row.id, row]));
  const repeats: typeof rows = [];
  for (const r of rows) {
    const row = made.get(r.id);
    if (row) out[r.i] = { report: row, created: true };
    else repeats.push(r);
  }
  if (repeats.length === 0) return out;
  // A key already used: its unique index made a concurrent first wait for us or us for it, and a
  // repeat within the batch conflicted with its first; either way the first is visible now.
  const dup = await tx.query<GameReport & { ext: string }>(
    `select id, coalesce(ticket_id, queued_ticket_id) as "ticketId", created_at as "createdAt", external_id as ext
       from player_reports where org_id = $1::uuid and origin = 'game' and external_id = any($2::text[])`,
    [tx.orgId, repeats.map((r) => r.ext)],
  );
  const byExt = new Map(dup.rows.map(({ ext, ...report }) => [ext, report]));
  for (const r of repeats) {
    const report = r.ext ? byExt.get(r.ext) : undefined;
    out[r.i] = report?.ticketId
      ? { report, created: false }
      : new AppError('conflict', 'this report changed concurrently, try again');
  }
  return out;
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
