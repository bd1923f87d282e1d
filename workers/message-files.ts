import type { Readable } from 'node:stream';
import { attachmentsOfMessages } from '../db/attachments.js';
import { withTenant } from '../db/tenant.js';
import type { WorkerDeps } from './deps.js';

/**
 * The files a staff reply carries (uploaded in the panel or through the API, then sent with the
 * reply), read from storage for a post or a mail. Which files go and which are only named depends
 * on their recorded sizes alone, so every attempt of a job builds the same text; a storage
 * failure throws, and the job retries rather than sending the reply without its file.
 */
export interface OutgoingFile {
  name: string;
  data: Buffer;
  contentType: string;
}

export async function messageFiles(
  deps: Pick<WorkerDeps, 'pool' | 'storage'>,
  orgId: string,
  messageId: string,
  maxTotalBytes: number,
): Promise<{ files: OutgoingFile[]; named: string[] }> {
  const list = await withTenant(deps.pool, orgId, (tx) => attachmentsOfMessages(tx, [messageId]));
  const files: OutgoingFile[] = [];
  const named: string[] = [];
  let total = 0;
  for (const a of list) {
    // Linked files (a player's Discord upload) are not ours to send again from here.
    if (!a.storageKey) continue;
    if (!deps.storage || total + a.sizeBytes > maxTotalBytes) {
      named.push(a.filename);
      continue;
    }
    const obj = await deps.storage.get(a.storageKey);
    files.push({ name: a.filename, data: await collect(obj.body), contentType: a.contentType });
    total += a.sizeBytes;
  }
  return { files, named };
}

async function collect(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body)
    parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}
