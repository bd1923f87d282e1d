import { z } from 'zod';
import { refuse, say } from '../lib/i18n/refusal.js';
import { type Actor, recordChange } from './changes.js';
import { ticketWorkerRefusal } from './memberships.js';
import { body, id } from './schemas.js';
import type { Tx } from './tenant.js';
import {
  type ExpectedVersion,
  expectedVersionInput,
  lockTicket as lock,
  requireStaff,
  requireWorkable,
  type Ticket,
  ticketChange,
  updateTicket as update,
} from './ticket-rows.js';
import { parseInput } from './validate.js';

// Notes, assignment, claim and transfer: who works a ticket, and what they note on it.

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

/** The internal notes of a ticket, oldest first. */
export async function listNotes(tx: Tx, ticketId: string): Promise<Note[]> {
  const r = await tx.query<Note>(
    `select id, ticket_id as "ticketId", author_user_id as "authorUserId", body, created_at as "createdAt"
     from ticket_notes where org_id = $1::uuid and ticket_id = $2::uuid order by created_at, id`,
    [tx.orgId, parseInput(id, ticketId)],
  );
  return r.rows;
}

/** The notes with their authors' names, newest first: what `/ticket notes` shows staff. */
export async function notesWithAuthors(
  tx: Tx,
  ticketId: string,
): Promise<(Note & { authorName: string | null })[]> {
  const r = await tx.query<Note & { authorName: string | null }>(
    `select n.id, n.ticket_id as "ticketId", n.author_user_id as "authorUserId", n.body, n.created_at as "createdAt",
       u.display_name as "authorName"
     from ticket_notes n left join users u on u.id = n.author_user_id
     where n.org_id = $1::uuid and n.ticket_id = $2::uuid order by n.created_at desc, n.id desc`,
    [tx.orgId, parseInput(id, ticketId)],
  );
  return r.rows;
}

// ---------------------------------------------------------------------------------------------
// Assignment

export const assignInput = z.object({
  ticketId: id,
  assigneeId: id.nullable(),
  /** Refuse (precondition_failed) unless the ticket is still at this version (ticket-rows.ts). */
  expectedVersion: expectedVersionInput.optional(),
});

/** Assigns (or, with null, unassigns) a staff member; the assignee must be able to work tickets. */
export async function assign(tx: Tx, rawInput: z.input<typeof assignInput>, actor: Actor): Promise<Ticket> {
  const input = parseInput(assignInput, rawInput);
  requireStaff(actor);
  const before = await lock(tx, input.ticketId, input.expectedVersion);
  requireWorkable(before);
  if (before.status === 'closed')
    throw refuse('invalid_transition', 'deny.closedAssign', { number: before.number });
  if (before.assigneeId === input.assigneeId) return before;
  if (input.assigneeId) await requireTicketWorker(tx, input.assigneeId, actor);
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

/**
 * The assignee must be a member who can work tickets (memberships.ts ticketWorkerRefusal): a
 * ticket given to someone disabled, or whose role can't read or reply to it, sits unseen. Someone
 * taking a ticket themselves was checked by the door they came through, against their current
 * Discord roles too, which their membership's role may not show: only disabled is checked then.
 */
async function requireTicketWorker(tx: Tx, assigneeId: string, actor: Actor): Promise<void> {
  const refusal = await ticketWorkerRefusal(tx, assigneeId);
  if (!refusal) return;
  if (refusal.reason === 'not_member') throw refuse('not_found', 'deny.assigneeNotMember');
  const self = actor.type === 'user' && actor.id === assigneeId;
  if (refusal.reason === 'missing_permission' && self) return;
  // By key, so a moderator assigning from Discord reads it in their language.
  const [key, params] =
    refusal.reason === 'disabled'
      ? (['deny.assigneeDisabled', {}] as const)
      : (['deny.assigneeCannotWork', { permissions: refusal.lacking.join(', ') }] as const);
  const message = say('en-US', key, params);
  throw refuse('validation_failed', key, params, undefined, [
    { path: 'assigneeId', message, reason: refusal.reason, permissions: refusal.lacking },
  ]);
}

/** The acting staff member takes the ticket. */
export function claim(
  tx: Tx,
  ticketId: string,
  actor: Actor,
  expectedVersion?: ExpectedVersion,
): Promise<Ticket> {
  if (actor.type !== 'user') throw refuse('forbidden', 'deny.claimStaffOnly');
  return assign(tx, { ticketId, assigneeId: actor.id, expectedVersion }, actor);
}

export const transferInput = z.object({
  ticketId: id,
  teamId: id.nullable(),
  keepAssignee: z.boolean().default(false),
  expectedVersion: expectedVersionInput.optional(),
});

/** Moves the ticket to another team; the assignee is cleared unless asked to keep it. */
export async function transfer(
  tx: Tx,
  rawInput: z.input<typeof transferInput>,
  actor: Actor,
): Promise<Ticket> {
  const input = parseInput(transferInput, rawInput);
  requireStaff(actor);
  const before = await lock(tx, input.ticketId, input.expectedVersion);
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
