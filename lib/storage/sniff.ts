import { Readable } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import { AppError } from '../errors.js';

/** What `file-type` reads to recognise a format (its own "reasonable detection size"). */
export const SNIFF_BYTES = 4100;

/**
 * Reads the first `bytes` of `source` and gives them back with a stream of the whole body (the
 * head again, then the rest, unread until someone reads it), so the type can be checked from the
 * bytes while the upload still streams into storage. A failure of the source reaches the body.
 */
export async function peek(source: Readable, bytes = SNIFF_BYTES): Promise<{ head: Buffer; body: Readable }> {
  const it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let got = 0;
  let ended = false;
  while (got < bytes) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    chunks.push(r.value);
    got += r.value.length;
  }
  const first = Buffer.concat(chunks);
  async function* all() {
    try {
      if (first.length > 0) yield first;
      while (!ended) {
        const r = await it.next();
        if (r.done) ended = true;
        else yield r.value;
      }
    } finally {
      // The reader gave up early (a 413 mid-stream): stop the source too.
      if (!ended) await it.return?.();
    }
  }
  return { head: first.subarray(0, bytes), body: Readable.from(all(), { objectMode: false }) };
}

/**
 * Binary formats and what their bytes may be recognised as. Text types (plain text, CSV, JSON)
 * have no signature: for them the bytes must not be any recognised binary format.
 */
const SIGNATURES: Record<string, readonly string[]> = {
  'image/png': ['image/png', 'image/apng'],
  'image/jpeg': ['image/jpeg'],
  'image/gif': ['image/gif'],
  'image/webp': ['image/webp'],
  'video/mp4': ['video/mp4', 'video/x-m4v'],
  'video/webm': ['video/webm', 'audio/webm'],
  'application/pdf': ['application/pdf'],
  'application/zip': ['application/zip'],
  'application/gzip': ['application/gzip'],
  'application/x-7z-compressed': ['application/x-7z-compressed'],
};

/**
 * Checks an upload's declared type against its first bytes and returns the type to store. A
 * mismatch is refused (415) rather than stored as what the bytes are: what they are may be a type
 * we never accept (an executable called shot.png), and the uploader's client is the one to fix.
 * A declared binary type needs its own signature; a declared text type needs no signature at all.
 */
export async function typeFromBytes(declared: string, head: Buffer): Promise<string> {
  const detected = (await fileTypeFromBuffer(head))?.mime;
  const expected = SIGNATURES[declared];
  const agrees = expected ? detected !== undefined && expected.includes(detected) : detected === undefined;
  if (agrees) return declared;
  throw new AppError(
    'unsupported_media_type',
    `the file's content is ${detected ? `${detected}` : 'not recognisable'}, not the declared ${declared}`,
    { details: { declared, detected: detected ?? null } },
  );
}
