import { z } from 'zod';
import { type DiscordTicket, discordTicket } from './discord-sync.js';
import { id, snowflake } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * What the `discord.ticket_sync` job reads and records: a ticket's current state with what its
 * Discord side needs (close reason, who closed it, the guild's transcript channel), and what the
 * job has already done there (the state applied, the summary as last rendered, this close's
 * transcript and rating prompt, notices per outbox event). A run claims the ticket's row while it
 * talks to Discord, so two jobs of one ticket never interleave; a dead run's claim lapses.
 */

export interface TicketSide {
  /** `open` or `closed` (locked and archived, or read-only in channel mode), as last applied. */
  appliedState: 'open' | 'closed';
  summaryHash: string | null;
  /** The ticket's closed_at the three fields below belong to (a later close starts afresh). */
  closedCycle: Date | null;
  transcriptDone: boolean;
  transcriptMessageId: string | null;
  ratingPromptMessageId: string | null;
  /** The subject the channel is named after; null while it keeps its opening name. */
  namedSubject: string | null;
  /** This close's rating prompt by DM: sent, or refused by Discord (the player takes no DMs). */
  ratingDm: 'sent' | 'refused' | null;
}

export interface TicketForSync {
  ticket: DiscordTicket;
  closedAt: Date | null;
  closeReason: string | null;
  /** Who made the latest close: a staff member's or player's name; null for the system. */
  closedBy: string | null;
  mergedIntoNumber: number | null;
  /** The player's language: the ticket's, else the one last seen on the requester's profile. */
  locale: string | null;
  transcriptChannelId: string | null;
  /** Set once staff changed the subject: who did it last (null name for the system). */
  renamed: { by: string | null } | null;
  /**
   * The ticket named a player who was erased since (its requester, or the player a report in it
   * is about): its subject was rewritten, and its Discord side's name must follow.
   */
  erased: boolean;
  /**
   * Opened by DM (modmail): its thread is staff's alone, so nothing there may mention the player
   * (a mention adds them to a private thread); what is for them goes to their DM.
   */
  viaDm: boolean;
  /** The organization's name: a DM speaks for every organization, so it says which. */
  orgName: string;
  side: TicketSide;
}

/** The ticket, its Discord-side record and the guild settings the job needs, in one read. */
export async function ticketForSync(tx: Tx, ticketId: string): Promise<TicketForSync | undefined> {
  const tid = parseInput(id, ticketId);
  const r = await tx.query<Omit<TicketForSync, 'ticket' | 'side'> & { side: TicketSide | null }>(
    `select t.closed_at as "closedAt", t.close_reason as "closeReason",
       (select coalesce(u.display_name, p.display_name) from ticket_events e
          left join users u on e.actor_type = 'user' and u.id = e.actor_id
          left join player_profiles p on e.actor_type = 'player' and p.org_id = e.org_id and p.id = e.actor_id
        where e.org_id = t.org_id and e.ticket_id = t.id and e.type in ('ticket.closed', 'ticket.merged')
        order by e.id desc limit 1) as "closedBy",
       (select m.number from tickets m where m.org_id = t.org_id and m.id = t.merged_into_id) as "mergedIntoNumber",
       coalesce(t.locale, (select p.locale from player_profiles p where p.org_id = t.org_id and p.id = t.requester_id))
         as locale,
       g.settings ->> 'transcriptChannelId' as "transcriptChannelId",
       (select json_build_object('by', coalesce(u.display_name, p.display_name)) from ticket_events e
          left join users u on e.actor_type = 'user' and u.id = e.actor_id
          left join player_profiles p on e.actor_type = 'player' and p.org_id = e.org_id and p.id = e.actor_id
        where e.org_id = t.org_id and e.ticket_id = t.id and e.type = 'ticket.updated' and e.data ? 'subject'
        order by e.id desc limit 1) as renamed,
       (exists (select 1 from player_profiles p where p.org_id = t.org_id and p.id = t.requester_id
                  and p.erased_at is not null)
        or exists (select 1 from player_reports r
                     join player_profiles p on p.org_id = r.org_id and p.id = r.reported_id
                    where r.org_id = t.org_id and r.ticket_id = t.id and p.erased_at is not null)) as erased,
       exists (select 1 from discord_dm_tickets d where d.org_id = t.org_id and d.ticket_id = t.id) as "viaDm",
       (select o.name from organizations o where o.id = t.org_id) as "orgName",
       (select json_build_object('appliedState', s.applied_state, 'summaryHash', s.summary_hash,
          'closedCycle', s.closed_cycle, 'transcriptDone', s.transcript_done,
          'transcriptMessageId', s.transcript_message_id, 'ratingPromptMessageId', s.rating_prompt_message_id,
          'namedSubject', s.named_subject, 'ratingDm', s.rating_dm)
        from discord_ticket_sides s where s.org_id = t.org_id and s.ticket_id = t.id) as side
     from tickets t
     left join discord_guilds g on g.org_id = t.org_id and g.guild_id = t.discord_guild_id
     where t.org_id = $1::uuid and t.id = $2::uuid`,
    [tx.orgId, tid],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  const side: TicketSide = row.side
    ? { ...row.side, closedCycle: row.side.closedCycle ? new Date(row.side.closedCycle) : null }
    : {
        appliedState: 'open',
        summaryHash: null,
        closedCycle: null,
        transcriptDone: false,
        transcriptMessageId: null,
        ratingPromptMessageId: null,
        namedSubject: null,
        ratingDm: null,
      };
  return { ...row, ticket: await discordTicket(tx, tid), side };
}

/**
 * Claims the ticket's Discord side for `seconds`. False while another run holds a claim that has
 * not lapsed: the caller retries later. A job's next attempt takes back its own claim (see
 * claimMessageDelivery: the attempt that lost the database could not give it up).
 */
export async function claimTicketSide(
  tx: Tx,
  ticketId: string,
  claim: string,
  seconds: number,
): Promise<boolean> {
  const r = await tx.query(
    `insert into discord_ticket_sides (org_id, ticket_id, claim, claimed_until)
     values ($1::uuid, $2::uuid, $3::text, now() + make_interval(secs => $4::int))
     on conflict (org_id, ticket_id) do update set claim = excluded.claim, claimed_until = excluded.claimed_until
       where discord_ticket_sides.claimed_until is null or discord_ticket_sides.claimed_until < now()
          or discord_ticket_sides.claim = excluded.claim
     returning 1`,
    [tx.orgId, parseInput(id, ticketId), claim, seconds],
  );
  return (r.rowCount ?? 0) > 0;
}

export async function releaseTicketSide(tx: Tx, ticketId: string, claim: string): Promise<void> {
  await tx.query(
    `update discord_ticket_sides set claim = null, claimed_until = null
     where org_id = $1::uuid and ticket_id = $2::uuid and claim = $3::text`,
    [tx.orgId, parseInput(id, ticketId), claim],
  );
}

const sidePatch = z.object({
  appliedState: z.enum(['open', 'closed']).optional(),
  summaryHash: z.string().max(128).optional(),
  /** Starts a close's record afresh: transcript and rating prompt not done yet. */
  closedCycle: z.date().nullable().optional(),
  transcriptDone: z.boolean().optional(),
  transcriptMessageId: snowflake.optional(),
  ratingPromptMessageId: snowflake.optional(),
  namedSubject: z.string().max(300).optional(),
  ratingDm: z.enum(['sent', 'refused']).optional(),
});

/** Records one step done on Discord, under the run's claim (a lapsed claim records nothing). */
export async function recordTicketSide(
  tx: Tx,
  ticketId: string,
  claim: string,
  raw: z.input<typeof sidePatch>,
): Promise<void> {
  const p = parseInput(sidePatch, raw);
  const newCycle = p.closedCycle !== undefined;
  await tx.query(
    `update discord_ticket_sides set
       applied_state = coalesce($4::text, applied_state),
       summary_hash = coalesce($5::text, summary_hash),
       closed_cycle = case when $6::boolean then $7::timestamptz else closed_cycle end,
       transcript_done = case when $6::boolean then false else transcript_done end or coalesce($8::boolean, false),
       transcript_message_id = coalesce($9::text, case when $6::boolean then null else transcript_message_id end),
       rating_prompt_message_id = coalesce($10::text, case when $6::boolean then null else rating_prompt_message_id end),
       named_subject = coalesce($11::text, named_subject),
       rating_dm = coalesce($12::text, case when $6::boolean then null else rating_dm end),
       updated_at = now()
     where org_id = $1::uuid and ticket_id = $2::uuid and claim = $3::text`,
    [
      tx.orgId,
      parseInput(id, ticketId),
      claim,
      p.appliedState ?? null,
      p.summaryHash ?? null,
      newCycle,
      p.closedCycle ?? null,
      p.transcriptDone ?? null,
      p.transcriptMessageId ?? null,
      p.ratingPromptMessageId ?? null,
      p.namedSubject ?? null,
      p.ratingDm ?? null,
    ],
  );
}

/** Whether the notice for an outbox event was posted to a channel already. */
export async function noticePosted(tx: Tx, outboxId: number, channelId: string): Promise<boolean> {
  const r = await tx.query(
    'select 1 from discord_ticket_notices where org_id = $1::uuid and outbox_id = $2::bigint and channel_id = $3::text',
    [tx.orgId, outboxId, parseInput(snowflake, channelId)],
  );
  return (r.rowCount ?? 0) > 0;
}

export async function recordNotice(
  tx: Tx,
  outboxId: number,
  channelId: string,
  messageId: string | null,
): Promise<void> {
  await tx.query(
    `insert into discord_ticket_notices (org_id, outbox_id, channel_id, discord_message_id)
     values ($1::uuid, $2::bigint, $3::text, $4::text) on conflict do nothing`,
    [tx.orgId, outboxId, parseInput(snowflake, channelId), messageId],
  );
}

export interface SyncEvent {
  type: string;
  /** Whoever made the change (null: the system). */
  actorName: string | null;
  actorType: string | null;
  actorId: string | null;
  /** The ticket's assignee after the change; for an assignment (not a transfer), their Discord id. */
  assigneeId: string | null;
  assigneeDiscordId: string | null;
}

/** The event that asked for a sync: its type, who made it, and whom it assigned. */
export async function syncEvent(tx: Tx, outboxId: number): Promise<SyncEvent | undefined> {
  const r = await tx.query<SyncEvent>(
    `select o.event_type as type, o.payload -> 'actor' ->> 'type' as "actorType",
       o.payload -> 'actor' ->> 'id' as "actorId",
       coalesce(u.display_name, p.display_name) as "actorName",
       o.payload -> 'ticket' ->> 'assigneeId' as "assigneeId",
       (select d.discord_user_id from discord_accounts d
         where o.event_type = 'ticket.assigned' and o.payload ? 'previousAssigneeId'
           and d.user_id = (o.payload -> 'ticket' ->> 'assigneeId')::uuid) as "assigneeDiscordId"
     from outbox o
     left join users u on o.payload -> 'actor' ->> 'type' = 'user' and u.id = (o.payload -> 'actor' ->> 'id')::uuid
     left join player_profiles p on o.payload -> 'actor' ->> 'type' = 'player' and p.org_id = o.org_id
       and p.id = (o.payload -> 'actor' ->> 'id')::uuid
     where o.org_id = $1::uuid and o.id = $2::bigint`,
    [tx.orgId, outboxId],
  );
  return r.rows[0];
}

/**
 * Whether a closed ticket was closed within the last `hours` (its guild's reopen window) and is
 * not merged: a player writing in its thread then reopens it instead of being sent elsewhere.
 */
export async function withinReopenWindow(tx: Tx, ticketId: string, hours: number): Promise<boolean> {
  const r = await tx.query(
    `select 1 from tickets where org_id = $1::uuid and id = $2::uuid and status = 'closed'
       and merged_into_id is null and closed_at > now() - make_interval(hours => $3::int)`,
    [tx.orgId, parseInput(id, ticketId), hours],
  );
  return (r.rowCount ?? 0) > 0;
}
