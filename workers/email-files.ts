import { recordAttachment } from '../db/attachments.js';
import type { Actor } from '../db/changes.js';
import type { Tx } from '../db/tenant.js';
import { attachmentName, type ParsedEmail } from '../lib/email/parse.js';
import type { Logger } from '../lib/logger.js';
import type { Storage } from '../lib/storage/index.js';

/**
 * The objects a received mail puts in storage (its raw copy and its attachments) and the
 * attachment rows that name them. Each delivery writes under names of its own
 * (`orgs/<org>/email/<sha256>-<delivery>`): two deliveries of the same mail at once never write
 * over the objects the other's rows name, and the one that turns out a duplicate removes its own.
 */

/** Attachments larger than this are kept in the raw mail only. */
const MAX_ATTACHMENT = 25 * 1024 * 1024;

export interface StoredFile {
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  key: string;
  contentId: string | null;
  disposition: 'inline' | 'attachment';
}

export async function storeAttachments(
  storage: Storage,
  prefix: string,
  parsed: ParsedEmail,
): Promise<StoredFile[]> {
  const out: StoredFile[] = [];
  for (const [i, a] of parsed.attachments.entries()) {
    if (a.content.length > MAX_ATTACHMENT) continue;
    const key = `${prefix}/${i + 1}`;
    const put = await storage.put(key, a.content, { contentType: a.contentType });
    // Cleaned to what recordAttachment accepts: one file's odd metadata must never roll back the
    // whole mail (it would be refused with 451 until it bounced).
    out.push({
      filename: attachmentName(a.filename, i + 1, a.contentType),
      contentType: a.contentType.trim().slice(0, 255) || 'application/octet-stream',
      size: put.size,
      sha256: put.sha256,
      key,
      contentId: a.contentId?.slice(0, 255).trim() || null,
      disposition: a.disposition,
    });
  }
  return out;
}

export async function attach(
  tx: Tx,
  files: StoredFile[],
  messageId: string | null,
  actor: Actor,
  ticketId?: string,
): Promise<void> {
  for (const f of files) {
    await recordAttachment(
      tx,
      {
        ...(messageId ? { messageId } : { ticketId }),
        filename: f.filename,
        contentType: f.contentType,
        sizeBytes: f.size,
        sha256: f.sha256,
        storageKey: f.key,
        ...(f.contentId ? { contentId: f.contentId } : {}),
        disposition: f.disposition,
        origin: 'email',
      },
      actor,
    );
  }
}

/**
 * Removes what a delivery that lost to another delivery of the same mail wrote: no row names it.
 * A delete that fails leaves an object nothing names; it never fails the intake.
 */
export async function discard(storage: Storage, logger: Logger, keys: string[]): Promise<void> {
  for (const key of keys) {
    await storage.delete(key).catch((err: Error) => {
      logger.warn({ key, err: err.message }, 'could not remove the objects of a duplicate delivery');
    });
  }
}
