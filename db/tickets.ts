import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import { messageSentiment, sentimentValues } from './message-sentiment.js';
import { body, externalId, id, jsonRecord, snowflake, tag } from './schemas.js';
import type { Tx } from './tenant.js';
import { authorOf } from './ticket-messages.js';
import { notFound, TICKET_COLUMNS, type Ticket, ticketChange } from './ticket-rows.js';
import { ORIGINS, type Origin, PRIORITIES } from './ticket-rules.js';
import { parseInput } from './validate.js';

// The ticket's other changes live in modules of their own; callers keep one import path.
export { addNote, assign, claim, listNotes, transfer } from './ticket-actions.js';
export { merge } from './ticket-merge.js';
export type { Message } from './ticket-messages.js';
export { conversation, reply } from './ticket-messages.js';
export type { Ticket } from './ticket-rows.js';
export { TICKET_COLUMNS } from './ticket-rows.js';
export { close, rate, reopen, setPriority, setStatus, updateFields } from './ticket-status.js';

const COLUMNS = TICKET_COLUMNS;

// ---------------------------------------------------------------------------------------------
// Open

export const openTicketInput = z.object({
  /** The id to give the ticket, when it was promised before it existed (a player report's queue). */
  id: id.optional(),
  subject: z.string().trim().min(1).max(200),
  body: body.optional(),
  origin: z.enum(ORIGINS),
  /** Discord interaction id, email Message-ID, SDK idempotency key...: a replay returns the same ticket. */
  externalId: externalId.optional(),
  /** External id of the first message (a forum post's starter message, an email's Message-ID). */
  messageExternalId: externalId.optional(),
  requesterId: id.optional(),
  categoryId: id.optional(),
  teamId: id.optional(),
  gameId: id.optional(),
  priority: z.enum(PRIORITIES).default('normal'),
  tags: z.array(tag).max(20).default([]),
  customFields: jsonRecord.default({}),
  discordGuildId: snowflake.optional(),
  discordChannelId: snowflake.optional(),
  /** The player's language (a Discord locale such as `de` or `pt-BR`): what player-facing text uses. */
  locale: z.string().trim().min(2).max(35).optional(),
});
export type OpenTicketInput = z.input<typeof openTicketInput>;

async function byExternalId(tx: Tx, origin: Origin, ext: string): Promise<Ticket | undefined> {
  const r = await tx.query<Ticket>(
    `select ${COLUMNS} from tickets where org_id = $1::uuid and origin = $2::text and external_id = $3::text`,
    [tx.orgId, origin, ext],
  );
  return r.rows[0];
}

export interface OpenOptions {
  /**
   * The caller already took the organization's counter row (`for no key update`) in this
   * transaction and found no ticket under `externalId` (db/game-players.ts does both in the round
   * trip that makes the player), so the look-up below would only repeat it.
   */
  counterHeld?: boolean;
}

/**
 * Opens a ticket with the next per-org number. The number comes from a counter row updated in
 * this transaction, so numbers are gapless and race-free (a rolled-back open gives its number
 * back). With an external id, a replay, even a concurrent one, returns the existing ticket.
 */
export async function openTicket(
  tx: Tx,
  rawInput: OpenTicketInput,
  actor: Actor,
  opts: OpenOptions = {},
): Promise<{ ticket: Ticket; created: boolean }> {
  const input = parseInput(openTicketInput, rawInput);
  if (input.externalId && !opts.counterHeld) {
    // One round trip: take the org's counter row (serializing opens of this org, so a concurrent
    // open with the same external id has committed by the time we hold it) and look for the
    // ticket. This read's snapshot predates the wait, so a duplicate committed meanwhile is
    // caught by the insert's own fresh `not exists` below, which then returns the existing one.
    const r = await tx.query<Ticket>(
      // `for no key update`, the lock the counter's update takes: `for update` would also wait for the
      // key-share lock every insert referencing the organization holds (a player made earlier in
      // this transaction), so two opens that each made a player first deadlocked on each other.
      `select ${COLUMNS} from (select id as locked_org from organizations where id = $1::uuid for no key update) o
         join tickets t on t.org_id = o.locked_org and t.origin = $2::text and t.external_id = $3::text`,
      [tx.orgId, input.origin, input.externalId],
    );
    if (r.rows[0]) return { ticket: r.rows[0], created: false };
  }
  const fromPlayer = actor.type === 'player' && input.body !== undefined;
  // Scored before the ticket row is written, so the ticket carries its opening message's
  // sentiment from its first event on (a ticket.created rule can read it).
  const opening = messageSentiment(authorOf(actor).type, input.body);
  const author = authorOf(actor);
  // The ticket, its conversation channel and its opening message in one statement.
  const r = await tx.query<Ticket>(
    `with seq as (
       update organizations set ticket_seq = ticket_seq + 1 where id = $1::uuid
       and not exists (select 1 from tickets where org_id = $1::uuid and origin = $4::text and external_id = $5::text)
       returning ticket_seq
     ), t as (
       insert into tickets (id, org_id, number, subject, priority, origin, external_id, requester_id, category_id, team_id,
         game_id, tags, custom_fields, discord_guild_id, discord_channel_id, last_player_message_at, locale,
         player_sentiment_label, player_sentiment_score)
       select coalesce($16::uuid, gen_random_uuid()), $1::uuid, seq.ticket_seq, $2::text, $3::text, $4::text, $5::text,
         $6::uuid, $7::uuid, $8::uuid, $9::uuid,
         $10::text[], $11::jsonb, $12::text, $13::text, case when $14::boolean then now() end, $15::text,
         $17::text, $18::int
       from seq
       returning ${COLUMNS}
     ), ch as (
       insert into message_channels (org_id, kind, ticket_id) select $1::uuid, 'ticket', t.id from t returning id, ticket_id
     ), m as (
       insert into messages (org_id, channel_id, ticket_id, author_type, author_user_id, author_player_id, origin,
         external_id, body, created_at, sentiment_score, sentiment_comparative, sentiment_label, sentiment_language)
       select $1::uuid, ch.id, ch.ticket_id, $19::text, $20::uuid, $21::uuid, $4::text, $22::text, $23::text,
         clock_timestamp(), $24::int, $25::real, $26::text, $27::text
       from ch where $23::text is not null
     )
     select * from t`,
    [
      tx.orgId,
      input.subject,
      input.priority,
      input.origin,
      input.externalId ?? null,
      input.requesterId ?? null,
      input.categoryId ?? null,
      input.teamId ?? null,
      input.gameId ?? null,
      [...new Set(input.tags)],
      JSON.stringify(input.customFields),
      input.discordGuildId ?? null,
      input.discordChannelId ?? null,
      fromPlayer,
      input.locale ?? null,
      input.id ?? null,
      opening?.label ?? null,
      opening?.score ?? null,
      author.type,
      author.userId,
      author.playerId,
      input.messageExternalId ?? null,
      input.body ?? null,
      ...sentimentValues(opening),
    ],
  );
  const ticket = r.rows[0];
  if (!ticket) {
    const existing = input.externalId ? await byExternalId(tx, input.origin, input.externalId) : undefined;
    if (existing) return { ticket: existing, created: false };
    throw new AppError('not_found', 'organization not found');
  }
  await recordChange(
    tx,
    actor,
    ticketChange(ticket, 'ticket.created', {
      number: ticket.number,
      origin: ticket.origin,
      subject: ticket.subject,
    }),
  );
  return { ticket, created: true };
}

// ---------------------------------------------------------------------------------------------
// Reads

export async function getTicket(tx: Tx, ticketId: string): Promise<Ticket> {
  const r = await tx.query<Ticket>(`select ${COLUMNS} from tickets where id = $1::uuid`, [
    parseInput(id, ticketId),
  ]);
  if (!r.rows[0]) throw notFound();
  return r.rows[0];
}

export interface TicketEvent {
  id: number;
  type: string;
  actorType: string;
  actorId: string | null;
  data: Record<string, unknown>;
  createdAt: Date;
}

export async function ticketHistory(tx: Tx, ticketId: string): Promise<TicketEvent[]> {
  const r = await tx.query<TicketEvent>(
    `select id, type, actor_type as "actorType", actor_id as "actorId", data, created_at as "createdAt"
     from ticket_events where org_id = $1::uuid and ticket_id = $2::uuid order by id`,
    [tx.orgId, parseInput(id, ticketId)],
  );
  return r.rows;
}
