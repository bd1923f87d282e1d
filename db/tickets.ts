import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, type Change, isStaff, recordChange } from './changes.js';
import { body, externalId, id, jsonRecord, limit, snowflake, tag } from './schemas.js';
import type { Tx } from './tenant.js';
import {
  canTransition,
  ORIGINS,
  type Origin,
  PRIORITIES,
  type Priority,
  STATUSES,
  type Status,
  statusEvent,
} from './ticket-rules.js';
import { parseInput } from './validate.js';

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
}

// Row columns aliased to the domain names, so rows come back already shaped.
export const TICKET_COLUMNS = `id, org_id as "orgId", number, subject, status, priority, origin, external_id as "externalId",
  requester_id as "requesterId", category_id as "categoryId", team_id as "teamId", assignee_id as "assigneeId",
  game_id as "gameId", tags, custom_fields as "customFields", discord_guild_id as "discordGuildId",
  discord_channel_id as "discordChannelId", merged_into_id as "mergedIntoId", close_reason as "closeReason",
  rating, rating_comment as "ratingComment", first_response_at as "firstResponseAt",
  last_player_message_at as "lastPlayerMessageAt", last_staff_message_at as "lastStaffMessageAt",
  solved_at as "solvedAt", closed_at as "closedAt", created_at as "createdAt", updated_at as "updatedAt"`;
const COLUMNS = TICKET_COLUMNS;

/** What the outbox carries about a ticket: enough for webhooks and live views without a refetch. */
const summary = (t: Ticket) => ({
  id: t.id,
  number: t.number,
  subject: t.subject,
  status: t.status,
  priority: t.priority,
  origin: t.origin,
  requesterId: t.requesterId,
  assigneeId: t.assigneeId,
  teamId: t.teamId,
  categoryId: t.categoryId,
  tags: t.tags,
  updatedAt: t.updatedAt,
});

/**
 * A change to one ticket: the history and audit action with its data, and the outbox event
 * (named after the action unless `eventType` says otherwise) whose payload leads with the
 * ticket's summary, so webhooks and live views need no refetch.
 */
function ticketChange(
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

const notFound = () => new AppError('not_found', 'ticket not found');

async function lock(tx: Tx, ticketId: string): Promise<Ticket> {
  const r = await tx.query<Ticket>(`select ${COLUMNS} from tickets where id = $1::uuid for update`, [
    ticketId,
  ]);
  const t = r.rows[0];
  if (!t) throw notFound();
  return t;
}

/** Applies an update to a locked ticket and returns the new row. */
async function update(tx: Tx, ticketId: string, set: string, values: unknown[]): Promise<Ticket> {
  const r = await tx.query<Ticket>(
    `update tickets set ${set ? `${set}, ` : ''}updated_at = now() where id = $1::uuid returning ${COLUMNS}`,
    [ticketId, ...values],
  );
  return r.rows[0] as Ticket;
}

function requireStaff(actor: Actor): void {
  if (!isStaff(actor)) throw new AppError('forbidden', 'only staff can do this');
}

function requireWorkable(t: Ticket): void {
  if (t.mergedIntoId) throw new AppError('invalid_transition', 'this ticket was merged into another ticket');
}

// ---------------------------------------------------------------------------------------------
// Open

export const openTicketInput = z.object({
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
});
export type OpenTicketInput = z.input<typeof openTicketInput>;

async function byExternalId(tx: Tx, origin: Origin, ext: string): Promise<Ticket | undefined> {
  const r = await tx.query<Ticket>(
    `select ${COLUMNS} from tickets where org_id = $1::uuid and origin = $2::text and external_id = $3::text`,
    [tx.orgId, origin, ext],
  );
  return r.rows[0];
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
): Promise<{ ticket: Ticket; created: boolean }> {
  const input = parseInput(openTicketInput, rawInput);
  if (input.externalId) {
    const existing = await byExternalId(tx, input.origin, input.externalId);
    if (existing) return { ticket: existing, created: false };
    // Serialize opens of this org behind the counter row, then look again with a fresh snapshot:
    // a concurrent open with the same external id has committed by the time we hold the lock.
    await tx.query('select 1 from organizations where id = $1::uuid for update', [tx.orgId]);
  }
  const fromPlayer = actor.type === 'player' && input.body !== undefined;
  const r = await tx.query<Ticket>(
    `with seq as (
       update organizations set ticket_seq = ticket_seq + 1 where id = $1::uuid
       and not exists (select 1 from tickets where org_id = $1::uuid and origin = $4::text and external_id = $5::text)
       returning ticket_seq
     )
     insert into tickets (org_id, number, subject, priority, origin, external_id, requester_id, category_id, team_id,
       game_id, tags, custom_fields, discord_guild_id, discord_channel_id, last_player_message_at)
     select $1::uuid, seq.ticket_seq, $2::text, $3::text, $4::text, $5::text, $6::uuid, $7::uuid, $8::uuid, $9::uuid,
       $10::text[], $11::jsonb, $12::text, $13::text, case when $14::boolean then now() end
     from seq
     returning ${COLUMNS}`,
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
    ],
  );
  const ticket = r.rows[0];
  if (!ticket) {
    const existing = input.externalId ? await byExternalId(tx, input.origin, input.externalId) : undefined;
    if (existing) return { ticket: existing, created: false };
    throw new AppError('not_found', 'organization not found');
  }
  const author = authorOf(actor);
  await tx.query(
    `with ch as (
       insert into message_channels (org_id, kind, ticket_id) values ($1::uuid, 'ticket', $2::uuid) returning id
     )
     insert into messages (org_id, channel_id, ticket_id, author_type, author_user_id, author_player_id, origin,
       external_id, body, created_at)
     select $1::uuid, ch.id, $2::uuid, $3::text, $4::uuid, $5::uuid, $6::text, $7::text, $8::text, clock_timestamp()
     from ch where $8::text is not null`,
    [
      tx.orgId,
      ticket.id,
      author.type,
      author.userId,
      author.playerId,
      input.origin,
      input.messageExternalId ?? null,
      input.body ?? null,
    ],
  );
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

function authorOf(actor: Actor): { type: string; userId: string | null; playerId: string | null } {
  switch (actor.type) {
    case 'user':
      return { type: 'user', userId: actor.id, playerId: null };
    case 'player':
      return { type: 'player', userId: null, playerId: actor.id };
    case 'token':
    case 'system':
      return { type: 'system', userId: null, playerId: null };
  }
}

// ---------------------------------------------------------------------------------------------
// Conversation

export interface Message {
  id: string;
  ticketId: string | null;
  channelId: string;
  authorType: string;
  authorUserId: string | null;
  authorPlayerId: string | null;
  origin: Origin;
  externalId: string | null;
  body: string;
  createdAt: Date;
}

const MESSAGE_COLUMNS = `id, ticket_id as "ticketId", channel_id as "channelId", author_type as "authorType",
  author_user_id as "authorUserId", author_player_id as "authorPlayerId", origin, external_id as "externalId",
  body, created_at as "createdAt"`;

export const replyInput = z.object({
  ticketId: id,
  body: body.min(1, 'a reply needs some text'),
  origin: z.enum(ORIGINS),
  externalId: externalId.optional(),
  /** Staff may set the status with the reply (reply and set pending, reply and solve). */
  status: z.enum(STATUSES).optional(),
});
export type ReplyInput = z.input<typeof replyInput>;

/**
 * A public message on the ticket. Staff replies count as responses (first response time); a
 * player's message on a ticket waiting for them (pending, solved) puts it back to open. Idempotent
 * on the message's external id.
 */
export async function reply(
  tx: Tx,
  rawInput: ReplyInput,
  actor: Actor,
): Promise<{ message: Message; ticket: Ticket; created: boolean }> {
  const input = parseInput(replyInput, rawInput);
  let ticket = await lock(tx, input.ticketId);
  if (input.externalId) {
    const dup = await tx.query<Message>(
      `select ${MESSAGE_COLUMNS} from messages where org_id = $1::uuid and origin = $2::text and external_id = $3::text`,
      [tx.orgId, input.origin, input.externalId],
    );
    if (dup.rows[0]) return { message: dup.rows[0], ticket, created: false };
  }
  requireWorkable(ticket);
  if (ticket.status === 'closed') {
    throw new AppError('invalid_transition', `ticket #${ticket.number} is closed; reopen it before replying`);
  }
  const staff = actor.type !== 'player';
  if (input.status && !staff) throw new AppError('forbidden', 'only staff can set the status');
  const author = authorOf(actor);
  const m = await tx.query<Message>(
    `insert into messages (org_id, channel_id, ticket_id, author_type, author_user_id, author_player_id, origin,
       external_id, body, created_at)
     select $1::uuid, c.id, $2::uuid, $3::text, $4::uuid, $5::uuid, $6::text, $7::text, $8::text, clock_timestamp()
     from message_channels c where c.org_id = $1::uuid and c.ticket_id = $2::uuid
     returning ${MESSAGE_COLUMNS}`,
    [
      tx.orgId,
      ticket.id,
      author.type,
      author.userId,
      author.playerId,
      input.origin,
      input.externalId ?? null,
      input.body,
    ],
  );
  const message = m.rows[0] as Message;

  const before = ticket.status;
  let next: Status | undefined = input.status;
  if (!staff && (before === 'pending' || before === 'solved')) next = 'open';
  if (next && next !== before && !canTransition(before, next)) {
    throw new AppError('invalid_transition', `cannot change status from ${before} to ${next}`);
  }
  ticket = await update(
    tx,
    ticket.id,
    staff
      ? `first_response_at = coalesce(first_response_at, now()), last_staff_message_at = now(), status = $2::text,
         ${statusColumns()}`
      : `last_player_message_at = now(), status = $2::text, ${statusColumns()}`,
    [next ?? before],
  );
  await recordChange(
    tx,
    actor,
    ticketChange(ticket, 'message.created', { messageId: message.id, origin: message.origin }, { message }),
  );
  if (next && next !== before) await recordStatus(tx, actor, ticket, before, null);
  return { message, ticket, created: true };
}

export const noteInput = z.object({ ticketId: id, body: body.min(1, 'a note needs some text') });

export interface Note {
  id: string;
  ticketId: string;
  authorUserId: string | null;
  body: string;
  createdAt: Date;
}

/** An internal note: staff only, never shown to the player, never posted to Discord. */
export async function addNote(tx: Tx, rawInput: z.input<typeof noteInput>, actor: Actor): Promise<Note> {
  const input = parseInput(noteInput, rawInput);
  requireStaff(actor);
  const ticket = await lock(tx, input.ticketId);
  const r = await tx.query<Note>(
    `insert into ticket_notes (org_id, ticket_id, author_user_id, body) values ($1::uuid, $2::uuid, $3::uuid, $4::text)
     returning id, ticket_id as "ticketId", author_user_id as "authorUserId", body, created_at as "createdAt"`,
    [tx.orgId, ticket.id, actor.type === 'user' ? actor.id : null, input.body],
  );
  const note = r.rows[0] as Note;
  await update(tx, ticket.id, '', []);
  await recordChange(tx, actor, {
    ticketId: ticket.id,
    action: 'note.created',
    data: { noteId: note.id },
    event: {
      type: 'note.created',
      aggregateType: 'ticket',
      aggregateId: ticket.id,
      payload: { ticketId: ticket.id, note },
    },
  });
  return note;
}

// ---------------------------------------------------------------------------------------------
// Assignment

export const assignInput = z.object({ ticketId: id, assigneeId: id.nullable() });

/** Assigns (or, with null, unassigns) a staff member; the assignee must belong to the org. */
export async function assign(tx: Tx, rawInput: z.input<typeof assignInput>, actor: Actor): Promise<Ticket> {
  const input = parseInput(assignInput, rawInput);
  requireStaff(actor);
  const before = await lock(tx, input.ticketId);
  requireWorkable(before);
  if (before.status === 'closed')
    throw new AppError(
      'invalid_transition',
      `ticket #${before.number} is closed; reopen it before assigning it`,
    );
  if (before.assigneeId === input.assigneeId) return before;
  if (input.assigneeId) {
    const member = await tx.query(
      'select 1 from memberships where org_id = $1::uuid and user_id = $2::uuid',
      [tx.orgId, input.assigneeId],
    );
    if (!member.rowCount)
      throw new AppError('not_found', 'the assignee is not a member of this organization');
  }
  const ticket = await update(tx, before.id, 'assignee_id = $2::uuid', [input.assigneeId]);
  await writeAssignment(tx, actor, ticket.id, { userId: input.assigneeId, teamId: null });
  await recordChange(
    tx,
    actor,
    ticketChange(
      ticket,
      input.assigneeId ? 'ticket.assigned' : 'ticket.unassigned',
      { from: before.assigneeId, to: input.assigneeId },
      { previousAssigneeId: before.assigneeId },
      'ticket.assigned',
    ),
  );
  return ticket;
}

/** The acting staff member takes the ticket. */
export function claim(tx: Tx, ticketId: string, actor: Actor): Promise<Ticket> {
  if (actor.type !== 'user') throw new AppError('forbidden', 'only a staff member can claim a ticket');
  return assign(tx, { ticketId, assigneeId: actor.id }, actor);
}

export const transferInput = z.object({
  ticketId: id,
  teamId: id.nullable(),
  keepAssignee: z.boolean().default(false),
});

/** Moves the ticket to another team; the assignee is cleared unless asked to keep it. */
export async function transfer(
  tx: Tx,
  rawInput: z.input<typeof transferInput>,
  actor: Actor,
): Promise<Ticket> {
  const input = parseInput(transferInput, rawInput);
  requireStaff(actor);
  const before = await lock(tx, input.ticketId);
  requireWorkable(before);
  if (before.teamId === input.teamId) return before;
  const ticket = await update(
    tx,
    before.id,
    `team_id = $2::uuid, assignee_id = case when $3::boolean then assignee_id end`,
    [input.teamId, input.keepAssignee],
  );
  await writeAssignment(tx, actor, ticket.id, { userId: ticket.assigneeId, teamId: input.teamId });
  await recordChange(
    tx,
    actor,
    ticketChange(
      ticket,
      'ticket.transferred',
      { fromTeam: before.teamId, toTeam: input.teamId },
      { previousTeamId: before.teamId },
      'ticket.assigned',
    ),
  );
  return ticket;
}

// Conversation and assignment rows use clock_timestamp(): several can be written in one
// transaction, where now() would give them all the same time and lose their order.
async function writeAssignment(
  tx: Tx,
  actor: Actor,
  ticketId: string,
  to: { userId: string | null; teamId: string | null },
): Promise<void> {
  await tx.query(
    `with closed as (
       update ticket_assignments set unassigned_at = clock_timestamp()
       where org_id = $1::uuid and ticket_id = $2::uuid and unassigned_at is null
     )
     insert into ticket_assignments (org_id, ticket_id, user_id, team_id, assigned_by, assigned_at)
     select $1::uuid, $2::uuid, $3::uuid, $4::uuid, $5::uuid, clock_timestamp() where $3::uuid is not null or $4::uuid is not null`,
    [tx.orgId, ticketId, to.userId, to.teamId, actor.type === 'user' ? actor.id : null],
  );
}

// ---------------------------------------------------------------------------------------------
// Status

// Keeps solved_at/closed_at/close_reason consistent with the status set as $2 in the same update.
const statusColumns = (
  reason = 'close_reason',
) => `solved_at = case when $2::text = 'solved' then coalesce(solved_at, now())
    when $2::text in ('open', 'pending', 'on_hold') then null else solved_at end,
  closed_at = case when $2::text = 'closed' then coalesce(closed_at, now()) end,
  close_reason = case when $2::text = 'closed' then ${reason} end`;

export const statusInput = z.object({
  ticketId: id,
  status: z.enum(STATUSES),
  reason: z.string().trim().min(1).max(500).optional(),
});

async function recordStatus(tx: Tx, actor: Actor, ticket: Ticket, from: Status, reason: string | null) {
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

/**
 * Moves the ticket along the allowed transitions (ticket-rules.ts). Setting the status it
 * already has is a no-op, so a retried request is harmless; anything else not allowed throws
 * `invalid_transition` and changes nothing.
 */
export async function setStatus(
  tx: Tx,
  rawInput: z.input<typeof statusInput>,
  actor: Actor,
): Promise<Ticket> {
  const input = parseInput(statusInput, rawInput);
  const before = await lock(tx, input.ticketId);
  if (before.status === input.status) return before;
  requireWorkable(before);
  if (!canTransition(before.status, input.status)) {
    throw new AppError(
      'invalid_transition',
      `cannot change status from ${before.status} to ${input.status}`,
      {
        details: { from: before.status, to: input.status },
      },
    );
  }
  if (actor.type === 'player' && input.status !== 'solved' && input.status !== 'closed') {
    throw new AppError('forbidden', 'players can only close their own tickets');
  }
  const ticket = await update(tx, before.id, `status = $2::text, ${statusColumns('$3::text')}`, [
    input.status,
    input.reason ?? null,
  ]);
  await recordStatus(tx, actor, ticket, before.status, input.reason ?? null);
  return ticket;
}

export const close = (tx: Tx, input: { ticketId: string; reason?: string }, actor: Actor) =>
  setStatus(tx, { ...input, status: 'closed' }, actor);

export async function reopen(tx: Tx, ticketId: string, actor: Actor): Promise<Ticket> {
  const t = await lock(tx, ticketId);
  if (t.status !== 'solved' && t.status !== 'closed') {
    throw new AppError('invalid_transition', `ticket #${t.number} is ${t.status}, not solved or closed`);
  }
  return setStatus(tx, { ticketId, status: 'open' }, actor);
}

// ---------------------------------------------------------------------------------------------
// Fields

export const priorityInput = z.object({ ticketId: id, priority: z.enum(PRIORITIES) });

export async function setPriority(
  tx: Tx,
  rawInput: z.input<typeof priorityInput>,
  actor: Actor,
): Promise<Ticket> {
  const input = parseInput(priorityInput, rawInput);
  requireStaff(actor);
  const before = await lock(tx, input.ticketId);
  if (before.priority === input.priority) return before;
  const ticket = await update(tx, before.id, 'priority = $2::text', [input.priority]);
  await recordChange(
    tx,
    actor,
    ticketChange(
      ticket,
      'ticket.priority_changed',
      { from: before.priority, to: ticket.priority },
      { from: before.priority, to: ticket.priority },
    ),
  );
  return ticket;
}

export const fieldsInput = z
  .object({
    ticketId: id,
    subject: z.string().trim().min(1).max(200).optional(),
    categoryId: id.nullable().optional(),
    addTags: z.array(tag).max(20).default([]),
    removeTags: z.array(tag).max(20).default([]),
    /** Merged into the existing fields; a null value removes that field. */
    customFields: jsonRecord.optional(),
  })
  .refine(
    (v) =>
      v.subject !== undefined ||
      v.categoryId !== undefined ||
      v.addTags.length ||
      v.removeTags.length ||
      v.customFields,
    {
      message: 'nothing to change',
    },
  );

/** Subject, category, tags and custom fields: the ticket.updated family. */
export async function updateFields(
  tx: Tx,
  rawInput: z.input<typeof fieldsInput>,
  actor: Actor,
): Promise<Ticket> {
  const input = parseInput(fieldsInput, rawInput);
  requireStaff(actor);
  const before = await lock(tx, input.ticketId);
  const ticket = await update(
    tx,
    before.id,
    `subject = coalesce($2::text, subject),
     category_id = case when $3::boolean then $4::uuid else category_id end,
     tags = (select coalesce(array_agg(distinct t order by t), '{}') from unnest(tags || $5::text[]) t
             where t <> all($6::text[])),
     custom_fields = case when $7::jsonb is null then custom_fields else jsonb_strip_nulls(custom_fields || $7::jsonb) end`,
    [
      input.subject ?? null,
      input.categoryId !== undefined,
      input.categoryId ?? null,
      input.addTags,
      input.removeTags,
      input.customFields ? JSON.stringify(input.customFields) : null,
    ],
  );
  if (ticket.tags.length > 50) throw new AppError('validation_failed', 'a ticket holds at most 50 tags');
  const changes: Record<string, unknown> = {};
  if (ticket.subject !== before.subject) changes.subject = { from: before.subject, to: ticket.subject };
  if (ticket.categoryId !== before.categoryId)
    changes.categoryId = { from: before.categoryId, to: ticket.categoryId };
  if (ticket.tags.join() !== before.tags.join()) changes.tags = { from: before.tags, to: ticket.tags };
  if (JSON.stringify(ticket.customFields) !== JSON.stringify(before.customFields))
    changes.customFields = ticket.customFields;
  if (Object.keys(changes).length === 0) return ticket;
  await recordChange(tx, actor, ticketChange(ticket, 'ticket.updated', changes, { changes }));
  return ticket;
}

// ---------------------------------------------------------------------------------------------
// Merge and rating

export const mergeInput = z.object({ sourceId: id, targetId: id });

/**
 * Merges the source ticket into the target: the source's conversation, notes and attachments
 * move over and the source closes pointing at the target. Both tickets are locked in id order so
 * two opposite merges cannot deadlock.
 */
export async function merge(
  tx: Tx,
  rawInput: z.input<typeof mergeInput>,
  actor: Actor,
): Promise<{ source: Ticket; target: Ticket }> {
  const input = parseInput(mergeInput, rawInput);
  requireStaff(actor);
  if (input.sourceId === input.targetId)
    throw new AppError('validation_failed', 'a ticket cannot be merged into itself');
  const [first, second] = [input.sourceId, input.targetId].sort();
  const a = await lock(tx, first as string);
  const b = await lock(tx, second as string);
  const source = a.id === input.sourceId ? a : b;
  const target = a.id === input.targetId ? a : b;
  requireWorkable(source);
  requireWorkable(target);
  if (target.status === 'closed')
    throw new AppError('invalid_transition', `ticket #${target.number} is closed`);
  await tx.query(
    `with moved as (
       update messages m set ticket_id = $3::uuid, channel_id = tc.id
       from message_channels tc where tc.org_id = $1::uuid and tc.ticket_id = $3::uuid
       and m.org_id = $1::uuid and m.ticket_id = $2::uuid
     ), notes as (
       update ticket_notes set ticket_id = $3::uuid where org_id = $1::uuid and ticket_id = $2::uuid
     )
     update attachments set ticket_id = $3::uuid where org_id = $1::uuid and ticket_id = $2::uuid`,
    [tx.orgId, source.id, target.id],
  );
  const reason = `merged into #${target.number}`;
  const closedSource = await update(
    tx,
    source.id,
    `status = 'closed', merged_into_id = $2::uuid, closed_at = now(), close_reason = $3::text`,
    [target.id, reason],
  );
  const newTarget = await update(
    tx,
    target.id,
    `tags = (select coalesce(array_agg(distinct t order by t), '{}')
     from unnest(tags || $2::text[]) t)`,
    [source.tags],
  );
  await recordChange(
    tx,
    actor,
    ticketChange(
      closedSource,
      'ticket.merged',
      { into: target.id, intoNumber: target.number },
      { from: source.status, to: 'closed', reason, mergedIntoId: target.id },
      'ticket.closed',
    ),
  );
  await recordChange(
    tx,
    actor,
    ticketChange(
      newTarget,
      'ticket.merged_from',
      { from: source.id, fromNumber: source.number },
      { changes: { mergedFrom: source.id } },
      'ticket.updated',
    ),
  );
  return { source: closedSource, target: newTarget };
}

export const rateInput = z.object({
  ticketId: id,
  rating: z.number().int().min(1).max(5),
  comment: z.string().trim().max(1000).optional(),
});

/** The player's satisfaction rating: once per ticket, only after it is solved or closed. */
export async function rate(tx: Tx, rawInput: z.input<typeof rateInput>, actor: Actor): Promise<Ticket> {
  const input = parseInput(rateInput, rawInput);
  const before = await lock(tx, input.ticketId);
  if (actor.type === 'player' && before.requesterId !== actor.id) throw notFound();
  if (before.rating !== null)
    throw new AppError('already_rated', `ticket #${before.number} was already rated`);
  if (before.status !== 'solved' && before.status !== 'closed') {
    throw new AppError('invalid_transition', 'a ticket can be rated once it is solved or closed');
  }
  const ticket = await update(
    tx,
    before.id,
    'rating = $2::smallint, rating_comment = $3::text, rated_at = now()',
    [input.rating, input.comment ?? null],
  );
  await recordChange(
    tx,
    actor,
    ticketChange(
      ticket,
      'ticket.rated',
      { rating: input.rating },
      { rating: input.rating, comment: input.comment ?? null },
    ),
  );
  return ticket;
}

// ---------------------------------------------------------------------------------------------
// Reads

/** The internal notes of a ticket, oldest first. */
export async function listNotes(tx: Tx, ticketId: string): Promise<Note[]> {
  const r = await tx.query<Note>(
    `select id, ticket_id as "ticketId", author_user_id as "authorUserId", body, created_at as "createdAt"
     from ticket_notes where org_id = $1::uuid and ticket_id = $2::uuid order by created_at, id`,
    [tx.orgId, parseInput(id, ticketId)],
  );
  return r.rows;
}

export async function getTicket(tx: Tx, ticketId: string): Promise<Ticket> {
  const r = await tx.query<Ticket>(`select ${COLUMNS} from tickets where id = $1::uuid`, [
    parseInput(id, ticketId),
  ]);
  if (!r.rows[0]) throw notFound();
  return r.rows[0];
}

export async function getTicketByNumber(tx: Tx, number: number): Promise<Ticket> {
  const r = await tx.query<Ticket>(
    `select ${COLUMNS} from tickets where org_id = $1::uuid and number = $2::bigint`,
    [tx.orgId, number],
  );
  if (!r.rows[0]) throw notFound();
  return r.rows[0];
}

export const listInput = z.object({
  status: z.array(z.enum(STATUSES)).optional(),
  priority: z.array(z.enum(PRIORITIES)).optional(),
  assigneeId: id.nullable().optional(),
  teamId: id.optional(),
  requesterId: id.optional(),
  origin: z.enum(ORIGINS).optional(),
  tag: tag.optional(),
  /** Opaque cursor from the previous page. */
  after: z.string().max(200).optional(),
  limit,
});

// The cursor carries Postgres's own text for updated_at: a JS Date would drop the microseconds
// and skip or repeat rows that share a millisecond.
const encodeCursor = (at: string, ticketId: string) => Buffer.from(`${at}|${ticketId}`).toString('base64url');
function decodeCursor(c: string): [string, string] {
  const [at, tid] = Buffer.from(c, 'base64url').toString().split('|');
  if (!at || !tid || !/^\d{4}-\d\d-\d\d [\d:.]+[+-]\d\d(:\d\d)?$/.test(at) || !id.safeParse(tid).success) {
    throw new AppError('validation_failed', 'invalid cursor', {
      details: [{ path: 'after', message: 'invalid cursor' }],
    });
  }
  return [at, tid];
}

/** The inbox: newest activity first, keyset-paginated on (updated_at, id). */
export async function listTickets(
  tx: Tx,
  rawInput: z.input<typeof listInput> = {},
): Promise<{ tickets: Ticket[]; next: string | null }> {
  const f = parseInput(listInput, rawInput);
  const [afterAt, afterId] = f.after ? decodeCursor(f.after) : [null, null];
  const r = await tx.query<Ticket & { cursorAt: string }>(
    `select ${COLUMNS}, updated_at::text as "cursorAt" from tickets
     where org_id = $1::uuid
       and ($2::text[] is null or status = any($2::text[]))
       and ($3::text[] is null or priority = any($3::text[]))
       and (not $4::boolean or assignee_id is not distinct from $5::uuid)
       and ($6::uuid is null or team_id = $6::uuid)
       and ($7::uuid is null or requester_id = $7::uuid)
       and ($8::text is null or origin = $8::text)
       and ($9::text is null or tags @> array[$9::text])
       and ($10::timestamptz is null or (updated_at, id) < ($10::timestamptz, $11::uuid))
     order by updated_at desc, id desc
     limit $12::int`,
    [
      tx.orgId,
      f.status ?? null,
      f.priority ?? null,
      f.assigneeId !== undefined,
      f.assigneeId ?? null,
      f.teamId ?? null,
      f.requesterId ?? null,
      f.origin ?? null,
      f.tag ?? null,
      afterAt,
      afterId,
      f.limit + 1,
    ],
  );
  const page = r.rows.slice(0, f.limit);
  const last = page.at(-1);
  const tickets = page.map(({ cursorAt: _, ...t }) => t);
  return { tickets, next: r.rows.length > f.limit && last ? encodeCursor(last.cursorAt, last.id) : null };
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

export async function conversation(tx: Tx, ticketId: string): Promise<Message[]> {
  const r = await tx.query<Message>(
    `select ${MESSAGE_COLUMNS} from messages where org_id = $1::uuid and ticket_id = $2::uuid and deleted_at is null
     order by created_at, id`,
    [tx.orgId, parseInput(id, ticketId)],
  );
  return r.rows;
}
