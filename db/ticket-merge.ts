import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import { refreshTicketSentiment } from './message-sentiment.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import {
  expectedVersionInput,
  lockTicket as lock,
  requireStaff,
  requireWorkable,
  type Ticket,
  ticketChange,
  updateTicket as update,
} from './ticket-rows.js';
import { parseInput } from './validate.js';

export const mergeInput = z.object({
  sourceId: id,
  targetId: id,
  /** Refuse (precondition_failed) unless the source is still at this version (ticket-rows.ts). */
  expectedVersion: expectedVersionInput.optional(),
});

/**
 * Merges the source ticket into the target: the source's conversation, notes and attachments
 * move over (and its email thread, when the target has none) and the source closes pointing at
 * the target. The source's player, when another than the target's, is a participant on the
 * target. Both tickets are locked in id order so two opposite merges cannot deadlock.
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
  const sourceVersion = (ticketId: string) =>
    ticketId === input.sourceId ? input.expectedVersion : undefined;
  const a = await lock(tx, first as string, sourceVersion(first as string));
  const b = await lock(tx, second as string, sourceVersion(second as string));
  const source = a.id === input.sourceId ? a : b;
  const target = a.id === input.targetId ? a : b;
  requireWorkable(source);
  requireWorkable(target);
  if (target.status === 'closed')
    throw new AppError('invalid_transition', `ticket #${target.number} is closed`);
  await tx.query(
    `with moved as (
       -- The source's player, when not the target's, is someone staff brought onto the target
       -- (participants.ts): the target's SLA, analytics, rules, sentiment and the SDK's author stay
       -- its own player's. Their messages keep their profile as author.
       update messages m set ticket_id = $3::uuid, channel_id = tc.id,
         author_kind = case when m.author_kind = 'player' and m.author_player_id <> t.requester_id
                            then 'participant' else m.author_kind end
       from message_channels tc join tickets t on t.org_id = tc.org_id and t.id = tc.ticket_id
       where tc.org_id = $1::uuid and tc.ticket_id = $3::uuid
         and m.org_id = $1::uuid and m.ticket_id = $2::uuid
     ), notes as (
       update ticket_notes set ticket_id = $3::uuid where org_id = $1::uuid and ticket_id = $2::uuid
     ), mail as (
       -- The source's player writes by email: unless the target has an email thread of its own,
       -- the thread moves with the conversation, so staff replies on the target reach them by mail.
       update email_threads set ticket_id = $3::uuid where org_id = $1::uuid and ticket_id = $2::uuid
          and not exists (select 1 from email_threads x where x.org_id = $1::uuid and x.ticket_id = $3::uuid)
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
  // The target's player sentiment is its latest player message's, which may now be the source's.
  await refreshTicketSentiment(tx, [target.id]);
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
