import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  assertValidKey,
  checkPut,
  Measure,
  ObjectNotFoundError,
  type PutOptions,
  type PutResult,
  type Storage,
  type StoredObject,
} from './common.js';

const isMissing = (err: unknown) => (err as { code?: string }).code === 'ENOENT';

// Attachments are players' and staff's files: only the service's own user may read them. The
// umask can only take bits away, so these modes hold whatever it is (short of one that locks
// the owner out).
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/**
 * Objects as files under `root/objects/<key>`, their content type in `root/meta/<key>.json`.
 * Writes go to `root/tmp/` first and are renamed into place (same file system, so the rename is
 * atomic): a reader sees the old object or the new one, never a partial file.
 */
export class LocalStorage implements Storage {
  readonly driver = 'local' as const;
  constructor(private readonly root: string) {}

  private paths(key: string) {
    assertValidKey(key);
    return { data: join(this.root, 'objects', key), meta: join(this.root, 'meta', `${key}.json`) };
  }

  async put(key: string, body: Readable | Buffer, opts: PutOptions): Promise<PutResult> {
    checkPut(key, body, opts);
    const { data, meta } = this.paths(key);
    const tmp = join(this.root, 'tmp', randomBytes(12).toString('hex'));
    await this.ensureDirs([dirname(tmp), dirname(data), dirname(meta)]);
    const measure = new Measure(opts.maxBytes, opts.contentLength);
    // Opened before streaming: a write stream opening the file itself may create it after a failed
    // upload was cleaned up, leaving a stray temporary file.
    const file = await open(tmp, 'wx', FILE_MODE);
    // The metadata is known up front: written while the body streams.
    const metaWritten = writeFile(`${tmp}.json`, JSON.stringify({ contentType: opts.contentType }), {
      mode: FILE_MODE,
    });
    try {
      const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
      await Promise.all([pipeline(source, measure, file.createWriteStream()), metaWritten]);
      // Metadata first: a reader that sees the new body finds its type already in place.
      await rename(`${tmp}.json`, meta);
      await rename(tmp, data);
    } catch (err) {
      await file.close().catch(() => {});
      await metaWritten.catch(() => {});
      await Promise.all([rm(tmp, { force: true }), rm(`${tmp}.json`, { force: true })]);
      // A folder removed behind our back: made again by the next put.
      if (isMissing(err)) this.madeDirs.clear();
      throw err;
    }
    return { size: measure.size, sha256: measure.digest() };
  }

  /** Folders this process made already: a put makes each one once, not on every write. */
  private readonly madeDirs = new Set<string>();

  private async ensureDirs(dirs: readonly string[]): Promise<void> {
    const missing = dirs.filter((d) => !this.madeDirs.has(d));
    await Promise.all(missing.map((d) => mkdir(d, { recursive: true, mode: DIR_MODE })));
    for (const d of missing) this.madeDirs.add(d);
  }

  async get(key: string): Promise<StoredObject> {
    const { data, meta } = this.paths(key);
    // Open first, then stat the open file: a concurrent replace cannot split size from body.
    const file = await open(data).catch((err) => {
      throw isMissing(err) ? new ObjectNotFoundError(key) : err;
    });
    const s = await file.stat();
    if (!s.isFile()) {
      await file.close();
      throw new ObjectNotFoundError(key);
    }
    const contentType = await readFile(meta, 'utf8')
      .then((m) => String((JSON.parse(m) as { contentType?: unknown }).contentType))
      .catch(() => 'application/octet-stream');
    return { body: file.createReadStream(), size: s.size, contentType };
  }

  async delete(key: string): Promise<void> {
    const { data, meta } = this.paths(key);
    await rm(data, { force: true });
    await rm(meta, { force: true });
  }

  async exists(key: string): Promise<boolean> {
    const { data } = this.paths(key);
    return stat(data).then(
      (s) => s.isFile(),
      (err) => {
        if (isMissing(err)) return false;
        throw err;
      },
    );
  }

  presignGet(key: string): null {
    assertValidKey(key);
    return null;
  }
}
