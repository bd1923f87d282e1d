import { z } from 'zod';
import { refuse } from '../lib/i18n/refusal.js';
import { type Actor, recordChange } from './changes.js';
import { cancelCloseRequest } from './close-requests.js';
import { id, jsonRecord, tag } from './schemas.js';
import type { Tx } from './tenant.js';
import {
  type ExpectedVersion,
  expectedVersionInput,
  lockTicket as lock,
  notFound,
  recordStatus,
  requireStaff,
  requireWorkable,
  statusColumns,
  type Ticket,
  ticketChange,
  updateTicket as update,
} from './ticket-rows.js';
import { canTransition, PRIORITIES, STATUSES } from './ticket-rules.js';
import { parseInput } from './validate.js';

// Status, priority, fields and rating: the changes that move a ticket along.

export const statusInput = z.object({
  ticketId: id,
  status: z.enum(STATUSES),
  reason: z.string().trim().min(1).max(500).optional(),
  /** Refuse (precondition_failed) unless the ticket is still at this version (ticket-rows.ts). */
  expectedVersion: expectedVersionInput.optional(),
});

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
  const before = await lock(tx, input.ticketId, input.expectedVersion);
  if (before.status === input.status) return before;
  requireWorkable(before);
  if (!canTransition(before.status, input.status)) {
    throw refuse(
      'invalid_transition',
      'deny.transition',
      { from: before.status, to: input.status },
      undefined,
      { from: before.status, to: input.status },
    );
  }
  if (actor.type === 'player' && input.status !== 'solved' && input.status !== 'closed') {
    throw refuse('forbidden', 'deny.playerCloseOwn');
  }
  const ticket = await update(tx, before.id, `status = $2::text, ${statusColumns('$3::text')}`, [
    input.status,
    input.reason ?? null,
  ]);
  await recordStatus(tx, actor, ticket, before.status, input.reason ?? null);
  // A pending close request is moot once the ticket is closed another way or reopened (a
  // confirmed or timed-out request is settled before its own close, so it is not touched).
  if (input.status === 'closed') await cancelCloseRequest(tx, ticket, 'closed', actor);
  else if (input.status === 'open' && (before.status === 'closed' || before.status === 'solved'))
    await cancelCloseRequest(tx, ticket, 'reopened', actor);
  return ticket;
}

export const close = (
  tx: Tx,
  input: { ticketId: string; reason?: string; expectedVersion?: ExpectedVersion },
  actor: Actor,
) => setStatus(tx, { ...input, status: 'closed' }, actor);

export async function reopen(
  tx: Tx,
  ticketId: string,
  actor: Actor,
  expectedVersion?: ExpectedVersion,
): Promise<Ticket> {
  const t = await lock(tx, ticketId, expectedVersion);
  if (t.status !== 'solved' && t.status !== 'closed') {
    throw refuse('invalid_transition', 'deny.notReopenable', { number: t.number, status: t.status });
  }
  return setStatus(tx, { ticketId, status: 'open' }, actor);
}

// ---------------------------------------------------------------------------------------------
// Fields

export const priorityInput = z.object({
  ticketId: id,
  priority: z.enum(PRIORITIES),
  expectedVersion: expectedVersionInput.optional(),
});

export async function setPriority(
  tx: Tx,
  rawInput: z.input<typeof priorityInput>,
  actor: Actor,
): Promise<Ticket> {
  const input = parseInput(priorityInput, rawInput);
  requireStaff(actor);
  const before = await lock(tx, input.ticketId, input.expectedVersion);
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
    expectedVersion: expectedVersionInput.optional(),
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
  const before = await lock(tx, input.ticketId, input.expectedVersion);
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
  if (ticket.tags.length > 50) throw refuse('validation_failed', 'deny.tooManyTags');
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
// Rating

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
  if (before.rating !== null) throw refuse('already_rated', 'deny.alreadyRated', { number: before.number });
  if (before.status !== 'solved' && before.status !== 'closed') {
    throw refuse('invalid_transition', 'deny.rateWhenDone');
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
