import { forgetOpenings } from './discord-ticket-openings.js';
import { forgetIdempotentAnswers } from './idempotency.js';
import type { Tx } from './tenant.js';

/**
 * What a player's erasure (db/player-privacy.ts) and retention's anonymise (db/retention-apply.ts)
 * both take from the copies of a ticket's text kept outside the ticket: pending and relayed
 * events, staff notifications. (What an erasure takes from report tickets: db/report-erasure.ts.)
 */

/**
 * Events about the player, their messages or the tickets keep only ids, numbers and flags (what jobs and the
 * relay act on); their text goes, relayed or not, so a webhook sent after the erase carries none.
 * `playerId` null scrubs the tickets' events alone (retention does not know of a player).
 */
export async function scrubOutbox(
  tx: Tx,
  playerId: string | null,
  ticketIds: readonly string[],
): Promise<void> {
  await tx.query(
    `update outbox o set payload = coalesce((
        select jsonb_object_agg(e.key, e.value) from jsonb_each(o.payload) e
         -- A Discord user id names the person (player.linked), unlike the message and channel ids kept.
         where e.key <> 'discordUserId' and (jsonb_typeof(e.value) in ('number', 'boolean', 'null')
            or (jsonb_typeof(e.value) = 'string'
                and e.value #>> '{}' ~ '^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9]{17,20})$')
            or (e.key = 'actor' and jsonb_typeof(e.value) = 'object'))
       ), '{}'::jsonb) || '{"erased":true}'::jsonb
      where o.org_id = $1::uuid
        and (o.aggregate_id = $2::uuid or o.aggregate_id = any($3::uuid[])
             or o.payload ->> 'ticketId' = any($3::text[]) or o.payload ->> 'playerId' = $2::text
             or o.aggregate_id in (select id from messages where org_id = $1::uuid and ticket_id = any($3::uuid[]))
             -- Their messages outside tickets: events of their DM channel with staff, and of any
             -- channel where they wrote (a mirrored Discord channel), whose aggregate is the channel.
             or o.aggregate_id in (select id from message_channels where org_id = $1::uuid and player_id = $2::uuid)
             -- A report they made: its event's aggregate is the player they reported.
             or o.payload #>> '{reporter,id}' = $2::text
             or o.payload #>> '{message,authorPlayerId}' = $2::text
             or o.payload #>> '{message,author_player_id}' = $2::text)`,
    [tx.orgId, playerId, ticketIds],
  );
}

/**
 * Staff notifications about the tickets quote them (a reply's excerpt, the subject in an SLA
 * notice): the text goes from the panel's list, from a digest still holding it and from the
 * panel's live event not yet relayed. Titles name only the event and the ticket's number.
 */
export async function scrubNotifications(tx: Tx, ticketIds: readonly string[]): Promise<void> {
  await tx.query(
    `update notifications set body = null
      where org_id = $1::uuid and ticket_id = any($2::uuid[]) and body is not null`,
    [tx.orgId, ticketIds],
  );
  await tx.query(
    `update outbox o set payload = jsonb_set(o.payload, '{notification,body}', 'null'::jsonb)
      where o.org_id = $1::uuid and o.event_type = 'notification.created'
        and o.payload #>> '{notification,ticketId}' = any($2::text[])`,
    [tx.orgId, ticketIds],
  );
}

/**
 * The analytics rollups refold a ticket when it writes history, but an erase or an anonymise
 * rewrites its fields without any: its stored contribution would keep the platform, build and
 * region the player gave (analytics_contributions, and as a dimension value in the rollups).
 * Noted here, the next fold (workers/analytics.ts, every 2 s) refolds them from what is left, so
 * the text goes and the counts move to "none" instead of disappearing: totals still add up.
 */
export async function refoldAnalytics(tx: Tx, ticketIds: readonly string[]): Promise<void> {
  if (!ticketIds.length) return;
  await tx.query(
    `insert into analytics_stale_tickets (org_id, ticket_id)
     select $1::uuid, t from unnest($2::uuid[]) t on conflict do nothing`,
    [tx.orgId, ticketIds],
  );
}

/**
 * Retention's anonymise, past the ticket's own row: the copies of its subject, fields and words
 * kept elsewhere go as an erase takes them (history and audit data of the ticket, its events,
 * staff notifications, its Discord opening, cached Idempotency-Key answers naming it, its
 * analytics contribution).
 */
export async function scrubAnonymisedTickets(tx: Tx, ticketIds: readonly string[]): Promise<void> {
  if (!ticketIds.length) return;
  await forgetOpenings(tx, ticketIds);
  await forgetIdempotentAnswers(tx, ticketIds);
  await scrubOutbox(tx, null, ticketIds);
  await scrubNotifications(tx, ticketIds);
  await refoldAnalytics(tx, ticketIds);
  // No player here: the tickets' own history and audit entries keep what happened, not what was said.
  await tx.query('select gm_scrub_player_history(null::uuid, $1::uuid[])', [ticketIds]);
}
