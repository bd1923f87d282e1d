import type { TranscriptLine, TranscriptTicket } from '../lib/discord/transcript.js';
import { AppError } from '../lib/errors.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * What a ticket's transcript shows (lib/discord/transcript.ts renders it): the conversation
 * without internal notes (those live in `ticket_notes`), for the copy the workers store on close
 * and the live web pages (api/routes/transcripts.ts).
 */

export interface TranscriptHead extends TranscriptTicket {
  id: string;
  status: string;
  closeReason: string | null;
  requesterId: string | null;
}

/** The ticket's heading facts; not found for another org's ticket (row-level security). */
export async function transcriptHead(tx: Tx, ticketId: string): Promise<TranscriptHead> {
  const r = await tx.query<TranscriptHead>(
    `select t.id, t.number, t.subject, t.status, t.close_reason as "closeReason", t.created_at as "createdAt",
       t.requester_id as "requesterId", p.display_name as "requesterName"
     from tickets t
     left join player_profiles p on p.org_id = t.org_id and p.id = t.requester_id
     where t.org_id = $1::uuid and t.id = $2::uuid`,
    [tx.orgId, parseInput(id, ticketId)],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'ticket not found');
  return r.rows[0];
}

/** The whole conversation with author names and its attachments, oldest first: what a transcript shows. */
export async function transcriptLines(tx: Tx, ticketId: string): Promise<TranscriptLine[]> {
  const r = await tx.query<TranscriptLine>(
    `select m.created_at as at, m.author_type as "authorType", coalesce(u.display_name, p.display_name) as "authorName",
       m.origin, m.body, m.edited_at as "editedAt",
       coalesce((select json_agg(json_build_object('id', a.id, 'filename', a.filename, 'sizeBytes', a.size_bytes, 'stored', a.storage_key is not null)
                 order by a.created_at) from attachments a where a.org_id = m.org_id and a.message_id = m.id), '[]') as attachments
     from messages m
     left join users u on u.id = m.author_user_id
     left join player_profiles p on p.org_id = m.org_id and p.id = m.author_player_id
     where m.org_id = $1::uuid and m.ticket_id = $2::uuid and m.deleted_at is null
     order by m.created_at, m.id`,
    [tx.orgId, parseInput(id, ticketId)],
  );
  return r.rows;
}
