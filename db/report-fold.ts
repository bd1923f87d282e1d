import type { z } from 'zod';
import { pickLocale } from '../lib/i18n/locales.js';
import { reportReasonLabel, reportSubject } from '../lib/i18n/subjects.js';
import { contextFromTraceparent, inSpan } from '../lib/trace-context.js';
import type { Actor } from './changes.js';
import { orgIdPages } from './organizations.js';
import { REPORT_TAG } from './player-reports.js';
import { gameFields } from './player-tickets.js';
import type { Pool } from './pool.js';
import type { jsonRecord } from './schemas.js';
import type { Tx } from './tenant.js';
import { openTicket } from './tickets.js';

/** How many waiting reports one fold transaction takes. */
export const FOLD_BATCH = 1000;

interface Waiting {
  id: string;
  ticketId: string;
  reason: string;
  details: string | null;
  matchId: string | null;
  evidence: z.output<typeof jsonRecord> | null;
  gameId: string | null;
  reporterId: string | null;
  reporterAccount: string | null;
  reporterName: string | null;
  reportedId: string;
  reportedAccount: string | null;
  /** Null once the reported player was erased (between the report and this fold). */
  reportedName: string | null;
  /** The accepting request's trace context (migration 197), null when it was not traced. */
  traceparent: string | null;
  reportedErased: boolean;
}

/**
 * Who a report about an erased player names. The report is still filed: a reporter did report
 * someone, and dropping it would leave the moderation record short of a report staff may have
 * been told of; it names no one, as the tickets of reports about them do after the erase.
 */
export const ERASED_PLAYER = 'an erased player';

/** The account a player holds in the report's game: their own row or a game account linked to them. */
const ACCOUNT_IN_GAME = (player: string) => `select a.game_account_id, a.display_name from player_profiles a
   where a.org_id = r.org_id and a.game_id = r.game_id and (a.id = ${player} or a.linked_player_id = ${player})
   limit 1`;

const actorOf = (w: Waiting): Actor =>
  w.reporterId ? { type: 'player', id: w.reporterId } : { type: 'system' };

/**
 * Folds the organization's accepted reports into the moderation queue (db/player-reports.ts
 * accepts them): opens each reported player's promised ticket if it does not exist yet (tag
 * `report`, requester the first reporter, the report's context), files every report on its ticket
 * and writes, per report, the ticket's history row and the `player.reported` event, exactly as a
 * report used to in its own transaction. Reports are taken `skip locked` and an advisory lock
 * keeps a second fold of the same organization out, so passes on several workers never clash.
 * Each event carries its report's trace context, and a ticket opened carries its first report's,
 * so what follows them joins the trace of the request that made the report.
 */
export async function foldReports(tx: Tx, limit = FOLD_BATCH): Promise<{ reports: number; opened: number }> {
  const lock = await tx.query<{ ok: boolean }>(
    `select pg_try_advisory_xact_lock(hashtext('gm_report_fold'), hashtext($1::text)) as ok`,
    [tx.orgId],
  );
  if (!lock.rows[0]?.ok) return { reports: 0, opened: 0 };
  // A report's game is the one whose key filed it (migration 230), and its players are named by
  // their accounts in that game: a game account linked into a player of another game has its own
  // row (migration 228), whose id and name are what that game knows. Reports filed before the
  // game was recorded fall back to their profiles' game.
  const r = await tx.query<Waiting>(
    `select r.id, r.queued_ticket_id as "ticketId", r.reason, r.details, r.match_id as "matchId", r.evidence,
            coalesce(r.game_id, rp.game_id, dp.game_id) as "gameId", r.reporter_id as "reporterId",
            coalesce(ra.game_account_id, rp.game_account_id) as "reporterAccount",
            coalesce(ra.display_name, rp.display_name) as "reporterName",
            r.reported_id as "reportedId", coalesce(da.game_account_id, dp.game_account_id) as "reportedAccount",
            dp.display_name as "reportedName", r.traceparent, dp.erased_at is not null as "reportedErased"
       from player_reports r
       join player_profiles dp on dp.org_id = r.org_id and dp.id = r.reported_id
       left join player_profiles rp on rp.org_id = r.org_id and rp.id = r.reporter_id
       left join lateral (${ACCOUNT_IN_GAME('r.reporter_id')}) ra on true
       left join lateral (${ACCOUNT_IN_GAME('r.reported_id')}) da on true
      where r.org_id = $1::uuid and r.queued_ticket_id is not null
      order by r.created_at, r.id
      limit $2::int
      for update of r skip locked`,
    [tx.orgId, limit],
  );
  const waiting = r.rows;
  if (waiting.length === 0) return { reports: 0, opened: 0 };
  const ticketIds = [...new Set(waiting.map((w) => w.ticketId))];
  const exists = await tx.query<{ id: string }>(
    'select id from tickets where org_id = $1::uuid and id = any($2::uuid[])',
    [tx.orgId, ticketIds],
  );
  const have = new Set(exists.rows.map((t) => t.id));
  let opened = 0;
  const subjectLocale = pickLocale();
  // Oldest first: the first report about a player is what their ticket opens with.
  for (const w of waiting) {
    if (have.has(w.ticketId)) continue;
    have.add(w.ticketId);
    const reported = w.reportedAccount ?? w.reportedId;
    const reportedName = w.reportedErased ? null : w.reportedName;
    // The ticket continues the trace of the report that opened it: its ticket.created event (and
    // what the relay does with it) joins the SDK request's trace, not this sweep's.
    await inReportTrace(
      w,
      openTicket,
      tx,
      {
        id: w.ticketId,
        // No server language reaches the fold (it is the guild's, known to the bot alone), so the
        // subject is written in pickLocale's fallback, as every stored subject without a server is.
        subject: reportSubject(
          subjectLocale,
          reportedName ?? ERASED_PLAYER,
          reportReasonLabel(subjectLocale, w.reason),
        ),
        body: w.details ?? undefined,
        origin: 'game',
        requesterId: w.reporterId ?? undefined,
        gameId: w.gameId ?? undefined,
        tags: [REPORT_TAG],
        customFields: {
          ...(w.reporterAccount && w.reporterName
            ? gameFields(
                { id: w.reporterAccount, name: w.reporterName },
                w.matchId ? { matchId: w.matchId } : {},
              )
            : {}),
          report: {
            reason: w.reason,
            ...(reportedName ? { reportedPlayerId: reported, reportedPlayerName: reportedName } : {}),
            ...(w.evidence ? { evidence: w.evidence } : {}),
          },
        },
      },
      actorOf(w),
    );
    opened++;
  }
  // Every report's history row and event in one statement each, as recordChange writes them.
  const events = waiting.map((w) => {
    const actor = actorOf(w);
    return {
      data: {
        reportId: w.id,
        reason: w.reason,
        ...(w.details ? { message: w.details } : {}),
        ...(w.matchId ? { matchId: w.matchId } : {}),
      },
      payload: {
        report: { id: w.id, reason: w.reason, ticketId: w.ticketId, gameId: w.gameId, matchId: w.matchId },
        reporter: w.reporterId ? { id: w.reporterId, gameAccountId: w.reporterAccount } : null,
        reported: { id: w.reportedId, gameAccountId: w.reportedAccount },
        actor: { type: actor.type, id: 'id' in actor ? actor.id : null },
      },
    };
  });
  await tx.query(
    `with filed as (
       update player_reports set ticket_id = queued_ticket_id, queued_ticket_id = null
        where org_id = $1::uuid and id = any($2::uuid[])
     ), ev as (
       insert into ticket_events (org_id, ticket_id, type, actor_type, actor_id, data)
       select $1::uuid, e.ticket_id, 'player.reported', case when e.reporter_id is null then 'system' else 'player' end,
              e.reporter_id, e.data
         from unnest($3::uuid[], $4::uuid[], $5::jsonb[]) with ordinality as e (ticket_id, reporter_id, data, n)
        order by e.n
     )
     insert into outbox (org_id, event_type, aggregate_type, aggregate_id, payload, traceparent)
     select $1::uuid, 'player.reported', 'player', e.reported_id, e.payload, e.traceparent
       from unnest($6::uuid[], $7::jsonb[], $8::text[]) with ordinality as e (reported_id, payload, traceparent, n)
      order by e.n`,
    [
      tx.orgId,
      waiting.map((w) => w.id),
      waiting.map((w) => w.ticketId),
      waiting.map((w) => w.reporterId),
      events.map((e) => JSON.stringify(e.data)),
      waiting.map((w) => w.reportedId),
      events.map((e) => JSON.stringify(e.payload)),
      // Each event continues its own report's request (relay, jobs, webhooks join that trace).
      waiting.map((w) => w.traceparent),
    ],
  );
  return { reports: waiting.length, opened };
}

/**
 * Runs `fn(...args)` in a span under the report's trace context when it has one (linked to the
 * sweep's span), so the changes it records carry that context; as is otherwise.
 */
function inReportTrace<A extends unknown[], R>(w: Waiting, fn: (...a: A) => Promise<R>, ...args: A) {
  if (!w.traceparent) return fn(...args);
  return inSpan(
    'player_report.open_ticket',
    {
      parent: contextFromTraceparent(w.traceparent),
      attributes: { 'gamemod.report.id': w.id, 'gamemod.ticket.id': w.ticketId },
      linkActive: true,
    },
    () => fn(...args),
  );
}

/** The organizations with reports waiting for the fold (a narrow definer function: ids only). */
export function orgsWithWaitingReports(pool: Pool, page = 500): AsyncGenerator<string> {
  return orgIdPages(pool, 'gm_report_orgs_to_fold', page);
}
