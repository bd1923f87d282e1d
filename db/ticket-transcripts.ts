import { id, snowflake } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * The transcripts made of a ticket (`ticket_transcripts`): the copy the sync job stores at each
 * close and its post in the guild's transcript channel. They are snapshots of the player's name
 * and words, so whatever removes those from the ticket (a player's erasure, retention) removes
 * the transcripts too: the stored copy is deleted (not re-rendered; the live transcript page
 * renders the ticket as it is now, and a later close stores a new copy of what is left) and the
 * post is queued for deletion on Discord.
 */

/** Where a ticket's transcript is stored (each close overwrites it). */
export const transcriptStorageKey = (orgId: string, ticketId: string) =>
  `orgs/${orgId}/transcripts/${ticketId}.html`;

/** Records a transcript stored and/or posted; a replay of the same one records nothing new. */
export async function recordTranscript(
  tx: Tx,
  ticketId: string,
  made: { storageKey: string | null; post: { channelId: string; messageId: string } | null },
): Promise<void> {
  if (!made.storageKey && !made.post) return;
  await tx.query(
    `insert into ticket_transcripts (org_id, ticket_id, storage_key, channel_id, discord_message_id)
     values ($1::uuid, $2::uuid, $3::text, $4::text, $5::text) on conflict do nothing`,
    [
      tx.orgId,
      parseInput(id, ticketId),
      made.storageKey,
      made.post ? parseInput(snowflake, made.post.channelId) : null,
      made.post ? parseInput(snowflake, made.post.messageId) : null,
    ],
  );
}

/**
 * SQL fragment for a data-modifying statement: with `$1` the org and `<tickets>` a subquery of
 * ticket ids, the CTEs `transcripts` (their stored keys, `key`) and `transcript_posts` (their
 * posts queued in discord_erasures for the privacy sweep). The rows themselves go with the
 * ticket (purge) or through {@link forgetTranscriptsSql} (erase, anonymise).
 */
export const transcriptsSql = (tickets: string) => `transcripts as (
    select tt.storage_key as key, tt.channel_id, tt.discord_message_id from ticket_transcripts tt
     where tt.org_id = $1::uuid and tt.ticket_id in (${tickets})
  ), transcript_posts as (
    insert into discord_erasures (org_id, channel_id, discord_message_id)
    select distinct $1::uuid, channel_id, discord_message_id from transcripts where discord_message_id is not null
    on conflict do nothing returning 1
  )`;

/** With {@link transcriptsSql}: the CTE `transcripts_gone` deleting the rows read there. */
export const forgetTranscriptsSql = (tickets: string) => `transcripts_gone as (
    delete from ticket_transcripts tt where tt.org_id = $1::uuid and tt.ticket_id in (${tickets}) returning 1
  )`;

/**
 * Removes the transcripts of the tickets: their posts are queued for deletion on Discord, their
 * rows deleted; returns the distinct storage keys of the stored copies for the caller to delete
 * (or queue) once the transaction commits.
 */
export async function eraseTranscripts(tx: Tx, ticketIds: readonly string[]): Promise<string[]> {
  if (!ticketIds.length) return [];
  const r = await tx.query<{ keys: string[] }>(
    `with ${transcriptsSql('select unnest($2::uuid[])')}, ${forgetTranscriptsSql('select unnest($2::uuid[])')}
     select array(select distinct key from transcripts where key is not null) as keys`,
    [tx.orgId, ticketIds],
  );
  return r.rows[0]?.keys ?? [];
}
