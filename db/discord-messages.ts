import { z } from 'zod';
import { type Actor, emitEvent, recordChange } from './changes.js';
import { messageSentiment, RESCORED, refreshTicketSentiment, sentimentValues } from './message-sentiment.js';
import { id, snowflake } from './schemas.js';
import type { Tx } from './tenant.js';
import { type Message, reply } from './ticket-messages.js';
import { parseInput } from './validate.js';

/**
 * A ticket's messages written on Discord, mirrored into its conversation: recorded once per
 * Discord message id (with attachment metadata), and their edits and deletions as events. The
 * bot's other reads and records of a ticket's Discord side are in discord-sync.ts.
 */

const EDITED_BODY = z.string().max(16_000);

/** Attachments recorded with only a link (Discord's CDN): the workers copy them into storage. */
export const ATTACHMENTS_ADDED = 'message.attachments_added';

export const attachmentMeta = z.object({
  filename: z.string().min(1).max(255),
  // Discord's word for the type, kept only when it is a plain media type: it becomes a response
  // header when the file is downloaded.
  contentType: z
    .string()
    .max(255)
    .regex(/^[\w.+-]+\/[\w.+-]+(;[ \w.+=\-"]*)?$/)
    .catch('application/octet-stream')
    .default('application/octet-stream'),
  sizeBytes: z.number().int().min(0),
  url: z.string().url().max(2048),
});

export const discordMessageInput = z.object({
  ticketId: id,
  /** The Discord message id: the idempotency key. */
  messageId: snowflake,
  body: z.string().max(16_000),
  attachments: z.array(attachmentMeta).max(10).default([]),
  /** Written by someone neither staff nor the ticket's player (ticket-messages.ts `reply`). */
  participant: z.boolean().optional(),
});

/**
 * Records a message written in a ticket's Discord thread. Idempotent on the Discord message id,
 * and a message we delivered ourselves (its id is some message's `discord_message_id`) is never
 * recorded again. Attachments are stored as metadata with their CDN link, and a
 * `message.attachments_added` event asks the workers to copy the files into our storage (Discord's
 * links expire).
 */
export async function recordDiscordMessage(
  tx: Tx,
  raw: z.input<typeof discordMessageInput>,
  actor: Actor,
): Promise<{ message: Message | null; created: boolean }> {
  const input = parseInput(discordMessageInput, raw);
  const ours = await tx.query(
    'select 1 from messages where org_id = $1::uuid and discord_message_id = $2::text limit 1',
    [tx.orgId, input.messageId],
  );
  if (ours.rowCount) return { message: null, created: false };
  const text =
    input.body.trim() ||
    (input.attachments.length ? input.attachments.map((a) => a.filename).join(', ') : '');
  if (!text) return { message: null, created: false };
  const { message, created } = await reply(
    tx,
    {
      ticketId: input.ticketId,
      body: text,
      origin: 'discord',
      externalId: input.messageId,
      ...(input.participant ? { participant: true } : {}),
    },
    actor,
  );
  if (created && input.attachments.length) {
    const inserted = await tx.query<{ id: string }>(
      `insert into attachments (org_id, ticket_id, message_id, filename, content_type, size_bytes, external_url)
       select $1::uuid, $2::uuid, $3::uuid, f, c, s, u
       from unnest($4::text[], $5::text[], $6::bigint[], $7::text[]) as x(f, c, s, u)
       returning id`,
      [
        tx.orgId,
        input.ticketId,
        message.id,
        input.attachments.map((a) => a.filename),
        input.attachments.map((a) => a.contentType),
        input.attachments.map((a) => a.sizeBytes),
        input.attachments.map((a) => a.url),
      ],
    );
    await emitEvent(tx, {
      type: ATTACHMENTS_ADDED,
      aggregateType: 'ticket',
      aggregateId: input.ticketId,
      payload: {
        ticketId: input.ticketId,
        messageId: message.id,
        attachmentIds: inserted.rows.map((r) => r.id),
      },
    });
  }
  return { message, created };
}

/** An edit made on Discord: the body changes and the ticket's history keeps the event. */
export async function recordDiscordEdit(
  tx: Tx,
  raw: { messageId: string; body: string },
  actor: Actor,
): Promise<boolean> {
  const messageId = parseInput(snowflake, raw.messageId);
  const body = parseInput(EDITED_BODY, raw.body);
  const r = await tx.query<{ id: string; ticketId: string | null; old: string }>(
    `update messages m set body = $3::text, edited_at = now(), ${RESCORED}
     from (select id, body from messages where org_id = $1::uuid and origin = 'discord' and external_id = $2::text
           for update) old
     where m.id = old.id and m.deleted_at is null and m.body <> $3::text
     returning m.id, m.ticket_id as "ticketId", old.body as old`,
    [tx.orgId, messageId, body, ...sentimentValues(messageSentiment('player', body))],
  );
  const row = r.rows[0];
  if (!row) return false;
  await refreshTicketSentiment(tx, [row.ticketId]);
  await recordChange(tx, actor, {
    ...(row.ticketId ? { ticketId: row.ticketId } : {}),
    action: 'message.edited',
    data: { messageId: row.id, discordMessageId: messageId },
    event: {
      type: 'message.updated',
      aggregateType: 'ticket',
      aggregateId: row.ticketId ?? row.id,
      payload: { messageId: row.id, ticketId: row.ticketId, body },
    },
  });
  return true;
}

/** A deletion on Discord: the message is kept (soft delete) and the history says so. */
export async function recordDiscordDelete(tx: Tx, messageId: string, actor: Actor): Promise<boolean> {
  const r = await tx.query<{ id: string; ticketId: string | null }>(
    `update messages set deleted_at = now()
     where org_id = $1::uuid and origin = 'discord' and external_id = $2::text and deleted_at is null
     returning id, ticket_id as "ticketId"`,
    [tx.orgId, parseInput(snowflake, messageId)],
  );
  const row = r.rows[0];
  if (!row) return false;
  await refreshTicketSentiment(tx, [row.ticketId]);
  await recordChange(tx, actor, {
    ...(row.ticketId ? { ticketId: row.ticketId } : {}),
    action: 'message.deleted',
    data: { messageId: row.id, discordMessageId: messageId },
    event: {
      type: 'message.deleted',
      aggregateType: 'ticket',
      aggregateId: row.ticketId ?? row.id,
      payload: { messageId: row.id, ticketId: row.ticketId },
    },
  });
  return true;
}
