import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { tooLarge } from '../lib/storage/common.js';
import { type Actor, recordChange } from './changes.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { ORIGINS } from './ticket-rules.js';
import { parseInput } from './validate.js';

// Built once: a zod schema costs more to construct than to check a few ids against.
const MESSAGE_IDS = z.array(id).max(500);
// A batch of copy jobs' reads or marks (`workers/batcher.ts` flushes at 100 callers).
const ID_LISTS = z.array(z.array(id).max(100)).max(100);
const COPIES = z
  .array(
    z.object({
      attachmentId: id,
      storageKey: z.string().min(1).max(1024),
      sizeBytes: z.number().int().min(0),
      sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256'),
    }),
  )
  .max(100);

/** The largest attachment accepted, in bytes (25 MiB, Discord's own upload limit for most servers). */
export const MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;

/**
 * Content types accepted for upload. Screenshots, clips, logs and crash bundles; nothing a
 * browser would run if opened from our origin (no HTML, SVG, or scripts), and not the catch-all
 * `application/octet-stream`, which would make the list meaningless.
 */
export const ALLOWED_CONTENT_TYPES = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'video/mp4',
  'video/webm',
  'text/plain',
  'text/csv',
  'application/json',
  'application/pdf',
  'application/zip',
  'application/gzip',
  'application/x-7z-compressed',
] as const;
export type AllowedContentType = (typeof ALLOWED_CONTENT_TYPES)[number];

const allowed: ReadonlySet<string> = new Set(ALLOWED_CONTENT_TYPES);

/** The 413 a streaming upload throws when it passes the limit mid-stream (as storage's `maxBytes` does). */
export const attachmentTooLarge = (limit = MAX_ATTACHMENT_BYTES) => tooLarge(limit);

/**
 * Checks an upload's declared type and (when known up front) size before a byte is stored.
 * Returns the media type without parameters (`text/plain; charset=utf-8` is `text/plain`).
 * Throws `unsupported_media_type` (415) or `payload_too_large` (413). A streaming upload whose
 * size is unknown must still count bytes and throw `attachmentTooLarge()` past the limit.
 */
export function checkUpload(upload: {
  contentType: string | undefined;
  size?: number;
  maxBytes?: number;
}): AllowedContentType {
  const type = (upload.contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (!allowed.has(type)) {
    throw new AppError(
      'unsupported_media_type',
      `${type ? `content type ${type.slice(0, 100)}` : 'a missing content type'} is not accepted; allowed: ${ALLOWED_CONTENT_TYPES.join(', ')}`,
      { details: { contentType: type || null, allowed: ALLOWED_CONTENT_TYPES } },
    );
  }
  const limit = upload.maxBytes ?? MAX_ATTACHMENT_BYTES;
  if (upload.size !== undefined && upload.size > limit) throw attachmentTooLarge(limit);
  return type as AllowedContentType;
}

export interface Attachment {
  id: string;
  ticketId: string | null;
  messageId: string | null;
  filename: string;
  contentType: string;
  sizeBytes: number;
  storageKey: string | null;
  externalUrl: string | null;
  contentId: string | null;
  disposition: 'attachment' | 'inline';
  sha256: string | null;
  createdAt: Date;
}

const COLUMNS = `id, ticket_id as "ticketId", message_id as "messageId", filename, content_type as "contentType",
  size_bytes as "sizeBytes", storage_key as "storageKey", external_url as "externalUrl",
  content_id as "contentId", disposition, sha256, created_at as "createdAt"`;

// Path separators and control characters are dropped so a name is safe in a
// Content-Disposition header and on anyone's disk.
const filename = z
  .string()
  .transform((s) =>
    [...s]
      .filter((c) => c > '\u001f' && c !== '\u007f' && c !== '/' && c !== '\\')
      .join('')
      .trim(),
  )
  .pipe(z.string().min(1, 'a file name is required').max(255));

export const recordAttachmentInput = z
  .object({
    ticketId: id.optional(),
    messageId: id.optional(),
    filename,
    contentType: z.string().trim().toLowerCase().min(1).max(255),
    sizeBytes: z.number().int().min(0),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256')
      .optional(),
    storageKey: z.string().min(1).max(1024).optional(),
    externalUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    contentId: z.string().trim().min(1).max(255).optional(),
    disposition: z.enum(['attachment', 'inline']).default('attachment'),
    /** Where the file came from, for the history entry. */
    origin: z.enum(ORIGINS),
  })
  .refine((v) => v.ticketId || v.messageId, { message: 'an attachment belongs to a ticket or a message' })
  .refine((v) => v.storageKey || v.externalUrl, {
    message: 'an attachment is stored (storageKey) or linked (externalUrl)',
  });

/**
 * Records a stored (or linked) file on a ticket or a message. A message's ticket is filled in
 * from the message, so listing by ticket finds it; naming a message of another ticket is refused.
 * Writes the ticket's history, the audit entry for staff, and a `ticket.attachment_added` event.
 */
export async function recordAttachment(
  tx: Tx,
  raw: z.input<typeof recordAttachmentInput>,
  actor: Actor,
): Promise<Attachment> {
  const input = parseInput(recordAttachmentInput, raw);
  let ticketId = input.ticketId ?? null;
  if (input.messageId) {
    const m = await tx.query<{ ticket_id: string | null }>(
      'select ticket_id from messages where org_id = $1::uuid and id = $2::uuid',
      [tx.orgId, input.messageId],
    );
    if (!m.rows[0]) throw new AppError('not_found', 'message not found');
    const messageTicket = m.rows[0].ticket_id;
    if (ticketId && messageTicket !== ticketId) {
      throw new AppError('validation_failed', 'the message is not on this ticket', {
        details: [{ path: 'messageId', message: 'not on this ticket' }],
      });
    }
    ticketId = messageTicket;
  } else {
    const t = await tx.query('select 1 from tickets where org_id = $1::uuid and id = $2::uuid', [
      tx.orgId,
      ticketId,
    ]);
    if (!t.rows[0]) throw new AppError('not_found', 'ticket not found');
  }
  const r = await tx.query<Attachment>(
    // clock_timestamp, not the transaction's now(): files added in one transaction keep their order.
    `insert into attachments (org_id, ticket_id, message_id, filename, content_type, size_bytes, sha256,
       storage_key, external_url, content_id, disposition, created_at)
     values ($1::uuid, $2::uuid, $3::uuid, $4::text, $5::text, $6::bigint, $7::text, $8::text, $9::text,
       $10::text, $11::text, clock_timestamp())
     returning ${COLUMNS}`,
    [
      tx.orgId,
      ticketId,
      input.messageId ?? null,
      input.filename,
      input.contentType,
      input.sizeBytes,
      input.sha256 ?? null,
      input.storageKey ?? null,
      input.externalUrl ?? null,
      input.contentId ?? null,
      input.disposition,
    ],
  );
  const a = r.rows[0] as Attachment;
  const data = {
    attachmentId: a.id,
    messageId: a.messageId,
    filename: a.filename,
    contentType: a.contentType,
    sizeBytes: a.sizeBytes,
    origin: input.origin,
  };
  await recordChange(tx, actor, {
    ...(ticketId ? { ticketId } : { target: { type: 'attachment', id: a.id } }),
    action: 'attachment.added',
    data,
    event: ticketId
      ? { type: 'ticket.attachment_added', aggregateType: 'ticket', aggregateId: ticketId, payload: data }
      : undefined,
  });
  return a;
}

/** One attachment of the current organization; another organization's id is simply not found. */
export async function getAttachment(tx: Tx, attachmentId: string): Promise<Attachment> {
  const r = await tx.query<Attachment>(
    `select ${COLUMNS} from attachments where org_id = $1::uuid and id = $2::uuid`,
    [tx.orgId, parseInput(id, attachmentId)],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'attachment not found');
  return r.rows[0];
}

export const listAttachmentsInput = z
  .object({ ticketId: id.optional(), messageId: id.optional() })
  .refine((v) => Boolean(v.ticketId) !== Boolean(v.messageId), {
    message: 'name either a ticket or a message',
  });

/** The attachments of a ticket (its messages' included) or of one message, oldest first. */
export async function listAttachments(
  tx: Tx,
  raw: z.input<typeof listAttachmentsInput>,
): Promise<Attachment[]> {
  const input = parseInput(listAttachmentsInput, raw);
  const r = await tx.query<Attachment>(
    `select ${COLUMNS} from attachments
      where org_id = $1::uuid and ${input.ticketId ? 'ticket_id' : 'message_id'} = $2::uuid
      order by created_at, id`,
    [tx.orgId, input.ticketId ?? input.messageId],
  );
  return r.rows;
}

/** The attachments of these messages (a conversation page), oldest first. */
export async function attachmentsOfMessages(tx: Tx, messageIds: readonly string[]): Promise<Attachment[]> {
  if (!messageIds.length) return [];
  const r = await tx.query<Attachment>(
    `select ${COLUMNS} from attachments where org_id = $1::uuid and message_id = any($2::uuid[])
      order by created_at, id`,
    [tx.orgId, parseInput(MESSAGE_IDS, messageIds)],
  );
  return r.rows;
}

/**
 * For each list of attachment ids (concurrent copy jobs of one organization), those still only
 * linked (no stored copy), oldest first: what each job fetches. One statement for all the lists;
 * an id in two lists comes back in both.
 */
export async function linkedOnlyPerList(
  tx: Tx,
  lists: ReadonlyArray<readonly string[]>,
): Promise<Attachment[][]> {
  const parsed = parseInput(ID_LISTS, lists);
  const ids: string[] = [];
  const listOf: number[] = [];
  parsed.forEach((list, i) => {
    for (const a of new Set(list)) {
      ids.push(a);
      listOf.push(i);
    }
  });
  const out: Attachment[][] = parsed.map(() => []);
  if (!ids.length) return out;
  const r = await tx.query<Attachment & { list: number }>(
    `select k.list, ${COLUMNS}
     from unnest($2::uuid[], $3::int[]) as k(attachment_id, list)
     join attachments on org_id = $1::uuid and id = k.attachment_id
     where storage_key is null and external_url is not null
     order by k.list, created_at, id`,
    [tx.orgId, ids, listOf],
  );
  for (const { list, ...a } of r.rows) out[list]?.push(a);
  return out;
}

/** What marking a stored copy did: recorded it, found one recorded already, or found no row. */
export type CopyMark = 'copied' | 'already' | 'gone';

/**
 * Records the stored copies of linked attachments, with their real size and digest, in one
 * statement. Per copy: `copied` when it was recorded; `already` when the row has a copy (another
 * worker got there first, or the same attachment came earlier in this batch); `gone` when the row
 * no longer exists (erased or purged while the file was fetched: the caller deletes its copy).
 */
export async function markCopies(
  tx: Tx,
  raw: ReadonlyArray<{ attachmentId: string; storageKey: string; sizeBytes: number; sha256: string }>,
): Promise<CopyMark[]> {
  const copies = parseInput(COPIES, raw);
  // Each attachment once (the first copy of it wins; they are the same object), in id order, so
  // two batches that share rows lock them in the same order.
  const first = new Map<string, (typeof copies)[number]>();
  for (const c of copies) if (!first.has(c.attachmentId)) first.set(c.attachmentId, c);
  const unique = [...first.values()].sort((x, y) => (x.attachmentId < y.attachmentId ? -1 : 1));
  if (!unique.length) return [];
  // The outer select reads the rows as they were before the update: present means not deleted.
  const r = await tx.query<{ id: string; marked: boolean; present: boolean }>(
    `with c as (
       select * from unnest($2::uuid[], $3::text[], $4::bigint[], $5::text[]) as c(id, storage_key, size_bytes, sha256)
     ), marked as (
       update attachments a set storage_key = c.storage_key, size_bytes = c.size_bytes, sha256 = c.sha256
         from c where a.org_id = $1::uuid and a.id = c.id and a.storage_key is null
       returning a.id
     )
     select c.id, c.id in (select id from marked) as marked,
            exists (select 1 from attachments a where a.org_id = $1::uuid and a.id = c.id) as present
       from c`,
    [
      tx.orgId,
      unique.map((c) => c.attachmentId),
      unique.map((c) => c.storageKey),
      unique.map((c) => c.sizeBytes),
      unique.map((c) => c.sha256),
    ],
  );
  const outcome = new Map(
    r.rows.map((row): [string, CopyMark] => [
      row.id,
      row.marked ? 'copied' : row.present ? 'already' : 'gone',
    ]),
  );
  return copies.map((c) => {
    const o = outcome.get(c.attachmentId) ?? 'gone';
    return o === 'copied' && first.get(c.attachmentId) !== c ? 'already' : o;
  });
}

/** The most files one reply carries: Discord takes 10 files on a message. */
export const MAX_REPLY_FILES = 10;
export const replyFileIds = z
  .array(id)
  .max(MAX_REPLY_FILES, `a reply carries at most ${MAX_REPLY_FILES} files`);

/**
 * Hands files uploaded to a ticket over to a reply on it, so they go wherever the reply goes (the
 * Discord thread or DM, the player's mail, the transcript). Only files of this ticket, stored here
 * and not yet on a message qualify; any other id refuses the whole reply (the caller's
 * transaction rolls back), naming the ids, so a file never silently stays behind.
 */
export async function attachToMessage(
  tx: Tx,
  input: { ticketId: string; messageId: string; attachmentIds: readonly string[] },
): Promise<Attachment[]> {
  const ids = [...new Set(parseInput(replyFileIds, input.attachmentIds))];
  if (!ids.length) return [];
  const r = await tx.query<Attachment>(
    `update attachments set message_id = $3::uuid
      where org_id = $1::uuid and ticket_id = $2::uuid and id = any($4::uuid[])
        and message_id is null and storage_key is not null
      returning ${COLUMNS}`,
    [tx.orgId, input.ticketId, input.messageId, ids],
  );
  if (r.rows.length !== ids.length) {
    const taken = new Set(r.rows.map((a) => a.id));
    const refused = ids.filter((x) => !taken.has(x));
    throw new AppError(
      'validation_failed',
      'attachmentIds: only files uploaded to this ticket and not yet sent can go with a reply',
      { details: [{ path: 'attachmentIds', message: `not attachable: ${refused.join(', ')}` }] },
    );
  }
  return r.rows.sort((a, b) => +a.createdAt - +b.createdAt || (a.id < b.id ? -1 : 1));
}
