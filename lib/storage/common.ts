import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';
import { create } from 'content-disposition';
import { AppError } from '../errors.js';

/**
 * Where attachment bodies and transcripts live. Keys are opaque to the storage; the database
 * keeps them (`attachments.storage_key`) next to the file's metadata.
 */
export interface Storage {
  readonly driver: 'local' | 's3';
  /**
   * Stores `body` under `key`, replacing what was there. Readers never see a half-written object.
   * Fails with `payload_too_large` past `maxBytes`, leaving nothing behind.
   */
  put(key: string, body: Readable | Buffer, opts: PutOptions): Promise<PutResult>;
  /** Opens an object for reading. Throws `ObjectNotFoundError` when there is none. */
  get(key: string): Promise<StoredObject>;
  /** Removes an object; removing a missing one is not an error. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /**
   * A URL a browser can fetch the object from directly for `expiresInSeconds`, or null when the
   * driver has none (local files are streamed by the API itself behind its own signed URL).
   */
  presignGet(key: string, opts: PresignOptions): string | null;
  /**
   * The origin (`https://host[:port]`) of presignGet's URLs, for a page's Content-Security-Policy;
   * undefined for a driver that has none.
   */
  readonly downloadOrigin?: string;
}

export interface PutOptions {
  contentType: string;
  /** The exact size when known up front (an HTTP Content-Length); a mismatch fails the put. */
  contentLength?: number;
  maxBytes?: number;
}

export interface PutResult {
  size: number;
  /** Lowercase hex SHA-256 of the stored bytes. */
  sha256: string;
}

export interface StoredObject {
  body: Readable;
  size: number;
  contentType: string;
}

export interface PresignOptions {
  expiresInSeconds: number;
  /** Sets the download's Content-Disposition (and the file name the browser saves as). */
  disposition?: 'attachment' | 'inline';
  filename?: string;
}

/** The typed "no such object" (a 404 where it reaches HTTP). */
export class ObjectNotFoundError extends AppError {
  constructor(readonly key: string) {
    super('not_found', 'stored object not found', { details: { key } });
    this.name = 'ObjectNotFoundError';
  }
}

// Segments of letters, digits, '.', '_' and '-', not starting with a dot, joined by single
// slashes: no traversal ('..'), no absolute paths, no hidden files, nothing that needs encoding.
const KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

/** Throws `validation_failed` for a key that could escape its folder or needs escaping anywhere. */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key.length > 1024 || !KEY.test(key)) {
    throw new AppError('validation_failed', 'invalid storage key', {
      details: [{ path: 'key', message: 'segments of [A-Za-z0-9._-] joined by /, no leading dot' }],
    });
  }
}

/** The 413 for a body past its limit, wherever it is noticed (declared size or mid-stream). */
export const tooLarge = (maxBytes: number) =>
  new AppError('payload_too_large', `files are limited to ${formatBytes(maxBytes)}`, {
    details: { limit: maxBytes },
  });

function formatBytes(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`;
}

/**
 * Passes bytes through while counting and hashing them, failing the stream past `maxBytes` or
 * when the total differs from a declared length (a truncated or padded upload).
 */
export class Measure extends Transform {
  size = 0;
  private readonly hash = createHash('sha256');
  constructor(
    private readonly maxBytes = Number.POSITIVE_INFINITY,
    private readonly expected?: number,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) cb(tooLarge(this.maxBytes));
    else if (this.expected !== undefined && this.size > this.expected) cb(lengthMismatch(this.expected));
    else {
      this.hash.update(chunk);
      cb(null, chunk);
    }
  }
  override _flush(cb: TransformCallback): void {
    cb(this.expected !== undefined && this.size !== this.expected ? lengthMismatch(this.expected) : null);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

const lengthMismatch = (expected: number) =>
  new AppError('bad_request', `the body does not match its declared length of ${expected} bytes`);

/** Checks a put's options and a Buffer body against them before any I/O. */
export function checkPut(key: string, body: Readable | Buffer, opts: PutOptions): void {
  assertValidKey(key);
  if (!Buffer.isBuffer(body)) return;
  if (opts.maxBytes !== undefined && body.length > opts.maxBytes) throw tooLarge(opts.maxBytes);
  if (opts.contentLength !== undefined && body.length !== opts.contentLength) {
    throw lengthMismatch(opts.contentLength);
  }
}

// Not C0/C1 control characters (CR, LF, NUL...) nor path separators.
const printable = (c: string) => {
  const code = c.codePointAt(0) ?? 0;
  return code > 0x1f && (code < 0x7f || code > 0x9f) && c !== '/' && c !== '\\';
};

/**
 * A Content-Disposition value (RFC 6266, built by the `content-disposition` library): an ASCII
 * fallback `filename` and the real name percent-encoded in `filename*`, safe whatever the file was
 * called. Control characters and path separators are dropped first, so a name can neither break
 * the header (CR, LF) nor come out as a path or an invisible character on the user's disk.
 */
export function contentDisposition(opts: {
  disposition?: 'attachment' | 'inline';
  filename?: string;
}): string {
  const type = opts.disposition ?? 'attachment';
  const name = [...(opts.filename ?? '')].filter(printable).join('').trim();
  return name ? create(name, { type }) : type;
}
