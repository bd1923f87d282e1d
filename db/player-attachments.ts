import { AppError } from '../lib/errors.js';
import type { TicketReach } from './player-tickets.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * The files a player may see on their own ticket, for /sdk/v1: only those on the ticket's public
 * messages (a staff reply's files, the player's own from Discord or email). A file uploaded to the
 * ticket but never sent has no message and stays staff's; internal notes carry no files.
 */
export interface SdkFile {
  id: string;
  messageId: string;
  filename: string;
  contentType: string;
  sizeBytes: number;
}

/** The files of these messages of the ticket, oldest first. */
export async function filesOfPlayerMessages(
  tx: Tx,
  ticketId: string,
  messageIds: readonly string[],
): Promise<SdkFile[]> {
  if (!messageIds.length) return [];
  // Through the message, so a file counts only on a message of this ticket still shown.
  const r = await tx.query<SdkFile>(
    `select a.id, a.message_id as "messageId", a.filename, a.content_type as "contentType",
            a.size_bytes as "sizeBytes"
       from attachments a
       join messages m on m.org_id = a.org_id and m.id = a.message_id
      where a.org_id = $1::uuid and a.message_id = any($3::uuid[])
        and m.ticket_id = $2::uuid and m.deleted_at is null
      order by a.created_at, a.id`,
    [tx.orgId, ticketId, messageIds],
  );
  return r.rows;
}

/** Where a player's file is: stored here (its key) or only linked (Discord's CDN, not yet copied). */
export interface PlayerFileSource {
  id: string;
  storageKey: string | null;
  externalUrl: string | null;
}

/**
 * One file of the player's ticket in reach (player-tickets.ts), when it is on a public message of
 * it; anything else (another player's ticket, one out of the key's reach, a file not sent, a deleted message, an unknown id) is not found.
 */
export async function playerFile(
  tx: Tx,
  playerId: string,
  reach: TicketReach,
  ticketId: string,
  attachmentId: string,
): Promise<PlayerFileSource> {
  const r = await tx.query<PlayerFileSource>(
    `select a.id, a.storage_key as "storageKey", a.external_url as "externalUrl"
       from attachments a
       join messages m on m.org_id = a.org_id and m.id = a.message_id
       join tickets t on t.org_id = m.org_id and t.id = m.ticket_id
      where a.org_id = $1::uuid and a.id = $4::uuid and t.id = $3::uuid and t.requester_id = $2::uuid
        and m.deleted_at is null and ($5::uuid is null or (t.game_id = $5::uuid and t.origin = 'game'))`,
    [tx.orgId, playerId, parseInput(id, ticketId), parseInput(id, attachmentId), reach],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'attachment not found');
  return r.rows[0];
}
