import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { refuse } from '../lib/i18n/refusal.js';
import { type Actor, type Change, isStaff, recordChange } from './changes.js';
import { type StoredSentiment, TICKET_SENTIMENT_COLUMN } from './message-sentiment.js';
import type { Tx } from './tenant.js';
import { type Origin, type Priority, type Status, statusEvent } from './ticket-rules.js';

/**
 * What every ticket module shares (tickets.ts, ticket-messages.ts, ticket-actions.ts,
 * ticket-status.ts, ticket-merge.ts): the row shape, the locked read and update, the change record and the
 * status columns a reply and a status change both keep consistent.
 */
export interface Ticket {
  id: string;
  orgId: string;
  number: number;
  subject: string;
  status: Status;
  priority: Priority;
  origin: Origin;
  externalId: string | null;
  requesterId: string | null;
  categoryId: string | null;
  teamId: string | null;
  assigneeId: string | null;
  gameId: string | null;
  tags: string[];
  customFields: Record<string, unknown>;
  discordGuildId: string | null;
  discordChannelId: string | null;
  mergedIntoId: string | null;
  closeReason: string | null;
  rating: number | null;
  ratingComment: string | null;
  firstResponseAt: Date | null;
  lastPlayerMessageAt: Date | null;
  lastStaffMessageAt: Date | null;
  solvedAt: Date | null;
  closedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** The sentiment of the player's latest scored message on this ticket. */
  playerSentiment: Pick<StoredSentiment, 'score' | 'label'> | null;
  /**
   * The ticket's version (the API's ETag), on rows read by `lockTicket`, `updateTicket` and
   * `ticketVersion`: it changes when a field people read and edit changes, whoever changes it.
   */
  version?: string;
}

// Row columns aliased to the domain names, so rows come back already shaped.
export const TICKET_COLUMNS = `id, org_id as "orgId", number, subject, status, priority, origin, external_id as "externalId",
  requester_id as "requesterId", category_id as "categoryId", team_id as "teamId", assignee_id as "assigneeId",
  game_id as "gameId", tags, custom_fields as "customFields", discord_guild_id as "discordGuildId",
  discord_channel_id as "discordChannelId", merged_into_id as "mergedIntoId", close_reason as "closeReason",
  rating, rating_comment as "ratingComment", first_response_at as "firstResponseAt",
  last_player_message_at as "lastPlayerMessageAt", last_staff_message_at as "lastStaffMessageAt",
  solved_at as "solvedAt", closed_at as "closedAt", created_at as "createdAt", updated_at as "updatedAt",
  ${TICKET_SENTIMENT_COLUMN}`;

/**
 * The ticket's version is its `revision`, which a trigger (migration 217) bumps whenever a field
 * of the ticket's API representation that people read and edit changes, by any module (an edit,
 * a reply, an erasure, a deleted team's foreign key). The system's own writes leave it alone:
 * the SLA clock's due time, the Discord side's ids, the sentiment refresh, updated_at. Postgres's
 * xmin, the version before, changed with all of those, so an edit from a view nobody else had
 * touched was refused. A lock (select ... for update) leaves it as it is. Only equality means
 * anything.
 */
const VERSION = 'revision::text as "version"';
const COLUMNS = `${TICKET_COLUMNS}, ${VERSION}`;

/** What the outbox carries about a ticket: enough for webhooks and live views without a refetch. */
export const summary = (t: Ticket) => ({
  id: t.id,
  number: t.number,
  subject: t.subject,
  status: t.status,
  priority: t.priority,
  origin: t.origin,
  discordChannelId: t.discordChannelId,
  requesterId: t.requesterId,
  assigneeId: t.assigneeId,
  teamId: t.teamId,
  categoryId: t.categoryId,
  tags: t.tags,
  updatedAt: t.updatedAt,
});

/**
 * The ticket's summary in a message event also says whether the ticket has an email thread, so
 * the relay queues the email reply from the event alone (workers/event-jobs.ts) instead of a job
 * per staff message on every ticket that reads the ticket and finds no thread.
 */
export const messageSummary = (t: Ticket, emailThread: boolean) => ({ ...summary(t), emailThread });

/**
 * A change to one ticket: the history and audit action with its data, and the outbox event
 * (named after the action unless `eventType` says otherwise) whose payload leads with the
 * ticket's summary, so webhooks and live views need no refetch.
 */
export function ticketChange(
  ticket: Ticket,
  action: string,
  data: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  eventType = action,
): Change {
  return {
    ticketId: ticket.id,
    action,
    data,
    event: {
      type: eventType,
      aggregateType: 'ticket',
      aggregateId: ticket.id,
      payload: { ticket: summary(ticket), ...extra },
    },
  };
}

export const notFound = () => refuse('not_found', 'deny.ticketNotFound');

/**
 * What a change can be conditioned on (the API's If-Match): `'*'`, the ticket exists, or the
 * versions the caller read, one of which must still be the ticket's.
 */
export const expectedVersionInput = z.union([
  z.literal('*'),
  z.array(z.string().trim().min(1).max(100)).min(1).max(20),
]);
export type ExpectedVersion = z.infer<typeof expectedVersionInput>;

/**
 * Locks the ticket for a change. With `expected`, a ticket changed since the caller read it is
 * refused (`precondition_failed`) before anything else is checked or written: the caller's
 * read-modify-write would silently undo the other change. Checked under the lock, so no change
 * can slip in between the check and the write.
 */
export async function lockTicket(tx: Tx, ticketId: string, expected?: ExpectedVersion): Promise<Ticket> {
  const r = await tx.query<Ticket>(`select ${COLUMNS} from tickets where id = $1::uuid for update`, [
    ticketId,
  ]);
  const t = r.rows[0];
  if (!t) throw notFound();
  if (expected && expected !== '*' && !expected.includes(t.version as string)) {
    throw new AppError(
      'precondition_failed',
      `ticket #${t.number} was changed since it was read; read it again before changing it`,
    );
  }
  return t;
}

/** The ticket's current version, for a read that hands it out (the API's ETag). */
export async function ticketVersion(tx: Tx, ticketId: string): Promise<string> {
  const r = await tx.query<{ version: string }>(`select ${VERSION} from tickets where id = $1::uuid`, [
    ticketId,
  ]);
  const row = r.rows[0];
  if (!row) throw notFound();
  return row.version;
}

/** Applies an update to a locked ticket and returns the new row. */
export async function updateTicket(
  tx: Tx,
  ticketId: string,
  set: string,
  values: unknown[],
): Promise<Ticket> {
  const r = await tx.query<Ticket>(
    `update tickets set ${set ? `${set}, ` : ''}updated_at = now() where id = $1::uuid returning ${COLUMNS}`,
    [ticketId, ...values],
  );
  return r.rows[0] as Ticket;
}

export function requireStaff(actor: Actor): void {
  if (!isStaff(actor)) throw refuse('forbidden', 'deny.staffOnly');
}

export function requireWorkable(t: Ticket): void {
  if (t.mergedIntoId) throw refuse('invalid_transition', 'deny.merged');
}

// Keeps solved_at/closed_at/close_reason consistent with the status set as $2 in the same update.
export const statusColumns = (
  reason = 'close_reason',
) => `solved_at = case when $2::text = 'solved' then coalesce(solved_at, now())
    when $2::text in ('open', 'pending', 'on_hold') then null else solved_at end,
  closed_at = case when $2::text = 'closed' then coalesce(closed_at, now()) end,
  close_reason = case when $2::text = 'closed' then ${reason} end`;

export async function recordStatus(
  tx: Tx,
  actor: Actor,
  ticket: Ticket,
  from: Status,
  reason: string | null,
) {
  await recordChange(
    tx,
    actor,
    ticketChange(
      ticket,
      statusEvent(from, ticket.status),
      { from, to: ticket.status, reason },
      { from, to: ticket.status, reason },
    ),
  );
}
