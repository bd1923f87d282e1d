import type { Tx } from './tenant.js';

/**
 * What a player's erasure (db/player-privacy.ts) does to the tickets of reports by or about them.
 * Those tickets are the moderators' record (staff's notes, replies, actions, the report's
 * outcome): they stay whole, and only the erased player's own data goes, their name and ids
 * replaced by "an erased player" as whole words (gm_redact, migrations 226 and 232).
 */

/**
 * What the profile still says of the player before the erase blanks it, with the names and ids of
 * the further games' accounts linked to it (migration 228 blanks those rows with it): looked for
 * in report tickets, where staff may have named any of the player's accounts.
 */
export async function playerNeedles(tx: Tx, playerId: string): Promise<string[]> {
  const r = await tx.query<{ needle: string }>(
    `select distinct n as needle
       from player_profiles p,
            unnest(case when p.id = $2::uuid then array[p.display_name, p.game_account_id, p.discord_user_id, p.email]
                        else array[p.display_name, p.game_account_id] end) as n
      where p.org_id = $1::uuid and (p.id = $2::uuid or p.linked_player_id = $2::uuid) and n is not null`,
    [tx.orgId, playerId],
  );
  return r.rows.map((n) => n.needle);
}

/**
 * A game report's ticket belongs to its first reporter, but its subject ("Report: <name>
 * (<reason>)") and its `report` field name the reported player by their game name and account.
 * When that player is erased the ticket keeps the report (reason, evidence, the reporters' side)
 * as "Report #<number> (<reason>)" without their name or account. Returns those tickets (other
 * than `own`, the player's own tickets) and the names and accounts they held (the game's name at
 * the time may not be the profile's now), for redactReportTickets.
 */
export async function forgetReportedPlayer(
  tx: Tx,
  playerId: string,
  own: readonly string[],
): Promise<{ ids: string[]; names: string[] }> {
  const r = await tx.query<{ id: string; name: string | null; account: string | null }>(
    `with was as (
       select t.id, t.custom_fields #>> '{report,reportedPlayerName}' as name,
              t.custom_fields #>> '{report,reportedPlayerId}' as account
         from tickets t
        where t.org_id = $1::uuid and t.id <> all($3::uuid[])
          and t.id in (select r.ticket_id from player_reports r
                        where r.org_id = $1::uuid and r.reported_id = $2::uuid and r.ticket_id is not null)
        for update of t
     )
     update tickets t
        set subject = 'Report #' || t.number
                      || coalesce(' (' || replace(t.custom_fields #>> '{report,reason}', '_', ' ') || ')', ''),
            custom_fields = t.custom_fields #- '{report,reportedPlayerName}' #- '{report,reportedPlayerId}'
       from was where t.org_id = $1::uuid and t.id = was.id
      returning t.id, was.name, was.account`,
    [tx.orgId, playerId, own],
  );
  return {
    ids: r.rows.map((t) => t.id),
    names: [
      ...new Set(
        r.rows.flatMap((t) => [t.name, t.account]).filter((n): n is string => !!n && n !== playerId),
      ),
    ],
  };
}

/**
 * The report tickets the player opened by reporting: their game identity (`game`: account, name,
 * match), the evidence they sent, their rating comment and a delivery error go; subject, report
 * reason and the reported player stay for the moderators. Their messages are blanked by the erase.
 */
export async function keepReportTickets(tx: Tx, ticketIds: readonly string[]): Promise<void> {
  if (!ticketIds.length) return;
  await tx.query(
    `update tickets set custom_fields = custom_fields - 'game' #- '{report,evidence}',
            rating_comment = null, delivery_error = null
      where org_id = $1::uuid and id = any($2::uuid[])`,
    [tx.orgId, ticketIds],
  );
}

/**
 * Replaces the player's name and ids in what staff and others wrote on the report tickets
 * (messages, notes, history and audit data), and drops the text of the `player.reported` entries
 * of the reports by or about them (their details are blanked). Returns the history and audit
 * entries changed.
 */
export async function redactReportTickets(
  tx: Tx,
  playerId: string,
  needles: readonly string[],
  ticketIds: readonly string[],
): Promise<number> {
  if (!ticketIds.length) return 0;
  const all = [...new Set(needles)];
  await tx.query(
    `update messages set body = gm_redact(body, $3::text[], false)
      where org_id = $1::uuid and ticket_id = any($2::uuid[]) and body <> gm_redact(body, $3::text[], false)`,
    [tx.orgId, ticketIds, all],
  );
  await tx.query(
    `update ticket_notes set body = gm_redact(body, $3::text[], false)
      where org_id = $1::uuid and ticket_id = any($2::uuid[]) and body <> gm_redact(body, $3::text[], false)`,
    [tx.orgId, ticketIds, all],
  );
  const r = await tx.query<{ n: number }>(
    `select gm_redact_report_history($3::text[], $2::uuid[], array(
       select id from player_reports where org_id = $1::uuid and (reporter_id = $4::uuid or reported_id = $4::uuid)
     )) as n`,
    [tx.orgId, ticketIds, all, playerId],
  );
  return r.rows[0]?.n ?? 0;
}
