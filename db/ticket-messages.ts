import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { refuse } from '../lib/i18n/refusal.js';
import { type Attachment, attachToMessage, replyFileIds } from './attachments.js';
import { type Actor, recordChange } from './changes.js';
import { cancelCloseRequest } from './close-requests.js';
import {
  MESSAGE_SENTIMENT_COLUMN,
  messageSentiment,
  type StoredSentiment,
  sentimentValues,
} from './message-sentiment.js';
import { type AuthorKind, addedToTicket, authorKind } from './participants.js';
import { body, externalId, id } from './schemas.js';
import type { Tx } from './tenant.js';
import {
  lockTicket as lock,
  messageSummary,
  recordStatus,
  requireWorkable,
  statusColumns,
  type Ticket,
  ticketChange,
  updateTicket as update,
} from './ticket-rows.js';
import { canTransition, ORIGINS, type Origin, STATUSES, type Status } from './ticket-rules.js';
import { parseInput } from './validate.js';

/**
 * A ticket's conversation: the public messages written on it (`reply`, from every door) and the
 * read of them (`conversation`). Opening a ticket writes its first message too (tickets.ts), with
 * the author `authorOf` gives.
 */

/** Who a message is written as: a member, a player, or the system for everyone else. */
export function authorOf(actor: Actor): { type: string; userId: string | null; playerId: string | null } {
  switch (actor.type) {
    case 'user':
      return { type: 'user', userId: actor.id, playerId: null };
    case 'player':
      return { type: 'player', userId: null, playerId: actor.id };
    case 'token':
    case 'system':
    case 'rule':
      return { type: 'system', userId: null, playerId: null };
  }
}

export interface Message {
  id: string;
  ticketId: string | null;
  channelId: string;
  authorType: string;
  /** Who the message speaks for: a participant has a player profile too (participants.ts). */
  authorKind: AuthorKind;
  authorUserId: string | null;
  authorPlayerId: string | null;
  origin: Origin;
  externalId: string | null;
  body: string;
  createdAt: Date;
  /** Players' messages only (message-sentiment.ts); null for staff, system and older messages. */
  sentiment: StoredSentiment | null;
}

const MESSAGE_COLUMNS = `id, ticket_id as "ticketId", channel_id as "channelId", author_type as "authorType",
  author_kind as "authorKind", author_user_id as "authorUserId", author_player_id as "authorPlayerId", origin, external_id as "externalId",
  body, created_at as "createdAt", ${MESSAGE_SENTIMENT_COLUMN}`;

export const replyInput = z.object({
  ticketId: id,
  body: body.min(1, 'a reply needs some text'),
  origin: z.enum(ORIGINS),
  externalId: externalId.optional(),
  /** Staff may set the status with the reply (reply and set pending, reply and solve). */
  status: z.enum(STATUSES).optional(),
  /** Files staff uploaded to the ticket just before, sent with the reply (attachments.ts). */
  attachmentIds: replyFileIds.optional(),
  /**
   * A player's message from someone who is not the ticket's player (another member writing in a
   * public forum post, someone staff added): recorded under their own profile as a participant's
   * (`author_kind`), it does not speak for the player (no close request withdrawn, no player reply
   * for the SLA, rules or analytics); only someone staff added wakes the ticket (participants.ts).
   */
  participant: z.boolean().optional(),
});
export type ReplyInput = z.input<typeof replyInput>;

/**
 * A public message on the ticket. A member's or API token's reply counts as a response (first and
 * next response time; a rule's or the system's does not); a
 * player's message on a ticket waiting for them (pending, solved) puts it back to open, and so
 * does a participant's (`participant`) when staff added them to the ticket; otherwise a
 * participant's changes nothing but the conversation. Idempotent
 * on the message's external id. Staff may send files uploaded to the ticket with the reply.
 */
export async function reply(
  tx: Tx,
  rawInput: ReplyInput,
  actor: Actor,
): Promise<{ message: Message; ticket: Ticket; created: boolean; attachments: Attachment[] }> {
  const input = parseInput(replyInput, rawInput);
  let ticket = await lock(tx, input.ticketId);
  if (input.externalId) {
    const dup = await tx.query<Message>(
      `select ${MESSAGE_COLUMNS} from messages where org_id = $1::uuid and origin = $2::text and external_id = $3::text`,
      [tx.orgId, input.origin, input.externalId],
    );
    if (dup.rows[0]) return { message: dup.rows[0], ticket, created: false, attachments: [] };
  }
  requireWorkable(ticket);
  if (ticket.status === 'closed') {
    throw refuse('invalid_transition', 'deny.closedReply', { number: ticket.number });
  }
  const staff = actor.type !== 'player';
  // Only a person answers the player: a member, or the org's API token (an integration relays
  // what its staff wrote). A rule's canned reply or a system message (an acknowledgement, a
  // notice) moves no response clock: not the SLA's first and next response, not the rules' wait
  // for a staff reply, not auto-close's wait on the player.
  const answers = actor.type === 'user' || actor.type === 'token';
  if (input.status && !staff) throw refuse('forbidden', 'deny.statusStaffOnly');
  if (input.attachmentIds?.length && !staff)
    throw new AppError('forbidden', 'only staff send uploaded files with a reply');
  const author = authorOf(actor);
  const kind = authorKind(actor, input.participant);
  const player = kind === 'player';
  // Only the player's own words make the ticket's player sentiment (rules and analytics read it).
  const sentiment = staff || player ? messageSentiment(author.type, input.body) : null;
  // Whether the ticket has an email thread (it came by email, or an email ticket merged into it
  // brought its own) rides on the insert: the message event says it, so the relay queues an email
  // reply from the event alone, and a look-up of its own would cost every message a round trip.
  const m = await tx.query<Message & { emailThread: boolean }>(
    `insert into messages (org_id, channel_id, ticket_id, author_type, author_user_id, author_player_id, origin,
       external_id, body, created_at, sentiment_score, sentiment_comparative, sentiment_label, sentiment_language,
       author_kind)
     select $1::uuid, c.id, $2::uuid, $3::text, $4::uuid, $5::uuid, $6::text, $7::text, $8::text, clock_timestamp(),
       $9::int, $10::real, $11::text, $12::text, $13::text
     from message_channels c where c.org_id = $1::uuid and c.ticket_id = $2::uuid
     returning ${MESSAGE_COLUMNS}, exists (
       select 1 from email_threads e where e.org_id = $1::uuid and e.ticket_id = $2::uuid) as "emailThread"`,
    [
      tx.orgId,
      ticket.id,
      author.type,
      author.userId,
      author.playerId,
      input.origin,
      input.externalId ?? null,
      input.body,
      ...sentimentValues(sentiment),
      kind,
    ],
  );
  const { emailThread, ...message } = m.rows[0] as Message & { emailThread: boolean };
  const attachments = await attachToMessage(tx, {
    ticketId: ticket.id,
    messageId: message.id,
    attachmentIds: input.attachmentIds ?? [],
  });
  const files = attachments.map((a) => ({ id: a.id, filename: a.filename, sizeBytes: a.sizeBytes }));

  const before = ticket.status;
  let next: Status | undefined = input.status;
  const waitingOnPlayer = before === 'pending' || before === 'solved';
  const wakes =
    player ||
    (waitingOnPlayer &&
      actor.type === 'player' &&
      kind === 'participant' &&
      (await addedToTicket(tx, ticket.id, actor.id)));
  if (wakes && waitingOnPlayer) next = 'open';
  if (next && next !== before && !canTransition(before, next)) {
    throw refuse('invalid_transition', 'deny.transition', { from: before, to: next });
  }
  // The message's own time, not the transaction's: a reply that waited for the ticket's lock
  // behind a player's message is written after it, and answers it (the SLA compares the two).
  const sent = '(select m.created_at from messages m where m.id = $3::uuid)';
  ticket = await update(
    tx,
    ticket.id,
    answers
      ? `first_response_at = coalesce(first_response_at, ${sent}), last_staff_message_at = ${sent},
         status = $2::text, ${statusColumns()}`
      : staff
        ? `status = $2::text, ${statusColumns()}`
        : player
          ? `last_player_message_at = ${sent}, status = $2::text, ${statusColumns()},
           player_sentiment_label = coalesce($4::text, player_sentiment_label),
           player_sentiment_score = case when $4::text is null then player_sentiment_score else $5::int end`
          : `status = $2::text, ${statusColumns()}`,
    answers
      ? [next ?? before, message.id]
      : player
        ? [next ?? before, message.id, sentiment?.label ?? null, sentiment?.score ?? null]
        : [next ?? before],
  );
  const marked = input.participant && !staff ? { participant: true } : {};
  await recordChange(
    tx,
    actor,
    ticketChange(
      ticket,
      'message.created',
      {
        messageId: message.id,
        origin: message.origin,
        ...marked,
        ...(files.length ? { attachments: files } : {}),
      },
      {
        // In place of the plain summary: the email reply is queued from the event alone.
        ticket: messageSummary(ticket, emailThread),
        message,
        ...marked,
        ...(files.length ? { attachments: files } : {}),
      },
    ),
  );
  if (next && next !== before) await recordStatus(tx, actor, ticket, before, null);
  // The player wrote: whatever staff asked about closing is answered by the conversation.
  if (player) await cancelCloseRequest(tx, ticket, 'player_replied', actor);
  return { message, ticket, created: true, attachments };
}

export async function conversation(tx: Tx, ticketId: string): Promise<Message[]> {
  const r = await tx.query<Message>(
    `select ${MESSAGE_COLUMNS} from messages where org_id = $1::uuid and ticket_id = $2::uuid and deleted_at is null
     order by created_at, id`,
    [tx.orgId, parseInput(id, ticketId)],
  );
  return r.rows;
}
