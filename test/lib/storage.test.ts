import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import type { LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import {
  contentDisposition,
  createStorage,
  LocalStorage,
  ObjectNotFoundError,
  S3Storage,
  type Storage,
} from '../../lib/storage/index.js';
import { canonicalRequest, type FakeS3, signatureFor, startFakeS3 } from '../support/fake-s3.js';

const ACCESS_KEY = 'GMTESTACCESSKEY';
const SECRET = 'gm-test-secret-access-key-0123456789';
const BUCKET = 'gm-attachments';

let clockOffsetMs = 0;
let s3: FakeS3;
let dir: string;

beforeAll(async () => {
  s3 = await startFakeS3({
    credentials: { [ACCESS_KEY]: SECRET },
    region: 'eu-west-1',
    now: () => new Date(Date.now() + clockOffsetMs),
  });
  s3.buckets.set(BUCKET, new Map());
  dir = await mkdtemp(join(tmpdir(), 'gm-storage-'));
});

afterAll(async () => {
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// Virtual-host-style names (<bucket>.localhost) resolve to the fake server.
const loopback: LookupFunction = (_host, options, cb) => {
  if ((options as { all?: boolean }).all) {
    (cb as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
      { address: '127.0.0.1', family: 4 },
    ]);
  } else cb(null, '127.0.0.1', 4);
};

function s3Storage(overrides: Partial<ConstructorParameters<typeof S3Storage>[0]> = {}) {
  return new S3Storage({
    endpoint: s3.url,
    region: 'eu-west-1',
    bucket: BUCKET,
    accessKeyId: ACCESS_KEY,
    secretAccessKey: SECRET,
    forcePathStyle: true,
    tmpDir: join(dir, 'spool'),
    ...overrides,
  });
}

const adapters: Array<[string, () => Storage]> = [
  ['local filesystem', () => new LocalStorage(join(dir, 'local'))],
  ['S3 path-style', () => s3Storage()],
  [
    'S3 virtual-host-style',
    () => s3Storage({ endpoint: `http://localhost:${s3.port}`, forcePathStyle: false, lookup: loopback }),
  ],
];

/** The permission bits of a file or folder. */
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** `total` bytes in 64 KiB chunks, generated lazily so nothing holds the whole body. */
function chunked(total: number, seed: Buffer): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(64 * 1024, total - sent);
      const chunk = Buffer.alloc(n);
      for (let i = 0; i < n; i += seed.length) seed.copy(chunk, i, 0, Math.min(seed.length, n - i));
      sent += n;
      this.push(chunk);
    },
  });
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * A body that sends "first " then waits for `release()` before "last": while it waits, the
 * files an upload writes to can be looked at. `started` resolves once the first chunk is out.
 */
function heldBody() {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let firstSent!: () => void;
  const started = new Promise<void>((r) => {
    firstSent = r;
  });
  const body = Readable.from(
    (async function* () {
      yield Buffer.from('first ');
      firstSent();
      await gate;
      yield Buffer.from('last');
    })(),
  );
  return { body, started, release };
}

describe.each(adapters)('storage contract: %s', (_name, make) => {
  const key = (suffix: string) => `org-1/${randomBytes(4).toString('hex')}/${suffix}`;

  it('round-trips a buffer with its size, hash and content type, and deletes it', async () => {
    const storage = make();
    const k = key('hello.txt');
    const body = Buffer.from('hello, storage');
    expect(await storage.exists(k)).toBe(false);
    const put = await storage.put(k, body, { contentType: 'text/plain' });
    expect(put).toEqual({ size: body.length, sha256: sha256(body) });
    expect(await storage.exists(k)).toBe(true);
    const got = await storage.get(k);
    expect(got.size).toBe(body.length);
    expect(got.contentType).toBe('text/plain');
    expect((await readAll(got.body)).equals(body)).toBe(true);
    await storage.put(k, Buffer.from('replaced'), { contentType: 'application/json' });
    const again = await storage.get(k);
    expect((await readAll(again.body)).toString()).toBe('replaced');
    expect(again.contentType).toBe('application/json');
    await storage.delete(k);
    expect(await storage.exists(k)).toBe(false);
    await storage.delete(k); // deleting a missing object is fine
  });

  it('streams a multi-megabyte body in and out, with and without a declared length', async () => {
    const storage = make();
    const total = 6 * 1024 * 1024 + 123;
    const seed = randomBytes(4096);
    const expected = await readAll(chunked(total, seed));
    for (const contentLength of [total, undefined]) {
      const k = key(`big-${contentLength ?? 'unknown'}.bin`);
      const put = await storage.put(k, chunked(total, seed), {
        contentType: 'application/zip',
        contentLength,
      });
      expect(put).toEqual({ size: total, sha256: sha256(expected) });
      const got = await storage.get(k);
      expect(got.size).toBe(total);
      expect(sha256(await readAll(got.body))).toBe(sha256(expected));
    }
  });

  it('answers a missing object with the typed not-found error', async () => {
    const storage = make();
    const err = await storage.get(key('missing.png')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectNotFoundError);
    expect(err).toMatchObject({ code: 'not_found', status: 404 });
  });

  it('refuses keys that could escape or need escaping, before any I/O', async () => {
    const storage = make();
    for (const bad of [
      '../etc/passwd',
      'a/../../b',
      '/abs',
      'a//b',
      '.hidden',
      'a/.x',
      '',
      'a b',
      'a\\b',
      'é',
    ]) {
      await expect(storage.put(bad, Buffer.from('x'), { contentType: 'text/plain' })).rejects.toMatchObject({
        code: 'validation_failed',
      });
      await expect(storage.get(bad)).rejects.toMatchObject({ code: 'validation_failed' });
      await expect(storage.exists(bad)).rejects.toMatchObject({ code: 'validation_failed' });
      await expect(storage.delete(bad)).rejects.toMatchObject({ code: 'validation_failed' });
    }
  });

  it('fails an oversized or short upload and leaves nothing behind', async () => {
    const storage = make();
    const k = key('too-big.bin');
    await expect(
      storage.put(k, chunked(300_000, Buffer.from('abc')), { contentType: 'text/plain', maxBytes: 100_000 }),
    ).rejects.toMatchObject({ code: 'payload_too_large', status: 413 });
    await expect(
      storage.put(k, chunked(300_000, Buffer.from('abc')), {
        contentType: 'text/plain',
        contentLength: 300_000,
        maxBytes: 100_000,
      }),
    ).rejects.toMatchObject({ code: 'payload_too_large' });
    await expect(
      storage.put(k, Buffer.alloc(10), { contentType: 'text/plain', contentLength: 11 }),
    ).rejects.toMatchObject({ code: 'bad_request' });
    await expect(
      storage.put(k, chunked(1000, Buffer.from('x')), { contentType: 'text/plain', contentLength: 2000 }),
    ).rejects.toMatchObject({ code: 'bad_request' });
    expect(await storage.exists(k)).toBe(false);
  });
});

describe('local filesystem storage', () => {
  it('writes through a temporary folder and leaves no temporary files', async () => {
    const root = join(dir, 'atomic');
    const storage = new LocalStorage(root);
    await storage.put('a/b.txt', Buffer.from('1'), { contentType: 'text/plain' });
    await storage
      .put('a/c.txt', chunked(10_000, Buffer.from('z')), { contentType: 'text/plain', maxBytes: 10 })
      .catch(() => {});
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
    expect(await readdir(join(root, 'objects', 'a'))).toEqual(['b.txt']);
    expect(storage.presignGet('a/b.txt')).toBeNull();
  });

  it('leaves no temporary file behind however early the upload fails', async () => {
    const root = join(dir, 'early');
    const storage = new LocalStorage(root);
    // Bodies that fail on their first chunk, before the temporary file has even been opened.
    const failing = () =>
      new Readable({
        read() {
          this.destroy(new Error('client went away'));
        },
      });
    const tooBig = () => Readable.from([Buffer.alloc(64 * 1024)]);
    for (let i = 0; i < 40; i++) {
      await expect(
        storage.put(`a/${i}.txt`, i % 2 ? failing() : tooBig(), { contentType: 'text/plain', maxBytes: 10 }),
      ).rejects.toThrow();
    }
    // Anything still closing has had its chance to recreate a file.
    await new Promise((r) => setTimeout(r, 50));
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('keeps files 0600 and folders 0700 whatever the umask, temporary ones included', async () => {
    const root = join(dir, 'modes');
    const storage = new LocalStorage(root);
    // A umask of 0 would leave node's defaults (0666 files, 0777 folders) world-readable.
    const umask = process.umask(0);
    try {
      const { body, started, release } = heldBody();
      const put = storage.put('orgs/o1/attachments/deep/file.bin', body, { contentType: 'text/plain' });
      await started;
      await new Promise((r) => setTimeout(r, 20));
      const tmpEntries = await readdir(join(root, 'tmp'));
      expect(tmpEntries.length).toBeGreaterThan(0);
      for (const e of tmpEntries) expect(await modeOf(join(root, 'tmp', e)), `tmp/${e}`).toBe(0o600);
      release();
      await put;
      for (const d of [
        root,
        'tmp',
        'objects',
        'objects/orgs',
        'objects/orgs/o1',
        'objects/orgs/o1/attachments',
        'objects/orgs/o1/attachments/deep',
        'meta',
        'meta/orgs/o1/attachments/deep',
      ]) {
        expect(await modeOf(d === root ? root : join(root, d)), d).toBe(0o700);
      }
      expect(await modeOf(join(root, 'objects/orgs/o1/attachments/deep/file.bin'))).toBe(0o600);
      expect(await modeOf(join(root, 'meta/orgs/o1/attachments/deep/file.bin.json'))).toBe(0o600);
      await storage.put('orgs/o1/second.txt', Buffer.from('x'), { contentType: 'text/plain' });
      expect(await modeOf(join(root, 'objects/orgs/o1/second.txt'))).toBe(0o600);
    } finally {
      process.umask(umask);
    }
  });

  it('is what createStorage builds by default, under DATA_DIR/storage', () => {
    const config = loadConfig({ DATA_DIR: join(dir, 'data') });
    expect(config.storage.dir).toBe(join(dir, 'data', 'storage'));
    expect(createStorage(config.storage).driver).toBe('local');
  });
});

describe('contentDisposition', () => {
  it('gives an ASCII fallback and the real name encoded per RFC 5987', () => {
    expect(contentDisposition({})).toBe('attachment');
    expect(contentDisposition({ disposition: 'inline', filename: 'a.png' })).toBe('inline; filename=a.png');
    expect(contentDisposition({ filename: `é "q" (1)'*.txt` })).toBe(
      `attachment; filename="? \\"q\\" (1)'*.txt"; filename*=UTF-8''%C3%A9%20%22q%22%20%281%29%27%2A.txt`,
    );
  });

  it('drops control characters and path separators, so CR/LF can never split the header', () => {
    expect(contentDisposition({ filename: 'a\r\nSet-Cookie: x=1/..\\b\u0000.txt' })).toBe(
      'attachment; filename="aSet-Cookie: x=1..b.txt"',
    );
    expect(contentDisposition({ filename: '\r\n' })).toBe('attachment');
  });
});

describe('S3 storage', () => {
  it('createStorage builds it from the S3_* settings and names the missing ones', () => {
    const base = { STORAGE_DRIVER: 's3', S3_BUCKET: BUCKET, S3_ACCESS_KEY_ID: ACCESS_KEY };
    expect(() => createStorage(loadConfig(base).storage)).toThrow(/S3_SECRET_ACCESS_KEY/);
    const storage = createStorage(loadConfig({ ...base, S3_SECRET_ACCESS_KEY: SECRET }).storage);
    expect(storage.driver).toBe('s3');
  });

  it('signs requests that the independent verifier accepts, and that it rejects with bad credentials', async () => {
    const good = s3Storage();
    await good.put('cred/ok.txt', Buffer.from('ok'), { contentType: 'text/plain' });
    const wrongSecret = s3Storage({ secretAccessKey: 'not-the-secret' });
    await expect(wrongSecret.get('cred/ok.txt')).rejects.toMatchObject({ s3Code: 'SignatureDoesNotMatch' });
    await expect(
      wrongSecret.put('cred/ok.txt', Buffer.from('overwritten'), { contentType: 'text/plain' }),
    ).rejects.toMatchObject({ s3Code: 'SignatureDoesNotMatch', code: 'internal' });
    await expect(
      wrongSecret.put('cred/ok.txt', chunked(200_000, Buffer.from('q')), {
        contentType: 'text/plain',
        contentLength: 200_000,
      }),
    ).rejects.toMatchObject({ s3Code: 'SignatureDoesNotMatch' });
    await expect(s3Storage({ accessKeyId: 'NOPE' }).exists('cred/ok.txt')).rejects.toMatchObject({
      code: 'internal',
    });
    await expect(s3Storage({ region: 'us-west-2' }).get('cred/ok.txt')).rejects.toMatchObject({
      s3Code: 'AuthorizationHeaderMalformed',
    });
    // Nothing the bad clients sent was stored.
    expect(s3.buckets.get(BUCKET)?.get('cred/ok.txt')?.body.toString()).toBe('ok');
    // And an unsigned request is refused outright.
    const anon = await fetch(`${s3.url}/${BUCKET}/cred/ok.txt`);
    expect(anon.status).toBe(403);
    expect(await anon.text()).toContain('<Code>AccessDenied</Code>');
  });

  it('hands out presigned GET URLs that work, carry the disposition, resist tampering and expire', async () => {
    const storage = s3Storage();
    const body = randomBytes(50_000);
    await storage.put('pre/report.pdf', body, { contentType: 'application/pdf' });
    const url = storage.presignGet('pre/report.pdf', {
      expiresInSeconds: 60,
      disposition: 'attachment',
      filename: 'crash "report".pdf',
    });
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/pdf');
    expect(ok.headers.get('content-disposition')).toBe('attachment; filename="crash \\"report\\".pdf"');
    expect(Buffer.from(await ok.arrayBuffer()).equals(body)).toBe(true);

    const other = url.replace('pre/report.pdf', 'pre/other.pdf');
    expect((await fetch(other)).status).toBe(403);
    const longer = url.replace('X-Amz-Expires=60', 'X-Amz-Expires=600');
    const tampered = await fetch(longer);
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain('SignatureDoesNotMatch');

    clockOffsetMs = 61_000;
    try {
      const expired = await fetch(url);
      expect(expired.status).toBe(403);
      expect(await expired.text()).toContain('Request has expired');
    } finally {
      clockOffsetMs = 0;
    }
    const vhost = s3Storage({ endpoint: `http://localhost:${s3.port}`, forcePathStyle: false });
    expect(vhost.presignGet('pre/report.pdf', { expiresInSeconds: 5 })).toMatch(
      new RegExp(`^http://${BUCKET}\\.localhost:${s3.port}/pre/report\\.pdf\\?`),
    );
  });

  it('spools a body of unknown length to a 0600 file in a 0700 folder, whatever the umask', async () => {
    const spool = join(dir, 'spool-modes');
    const storage = s3Storage({ tmpDir: spool });
    const umask = process.umask(0);
    try {
      const { body, started, release } = heldBody();
      const put = storage.put('spooled/mode.txt', body, { contentType: 'text/plain' });
      await started;
      await new Promise((r) => setTimeout(r, 20));
      expect(await modeOf(spool)).toBe(0o700);
      const files = await readdir(spool);
      expect(files.length).toBe(1);
      expect(await modeOf(join(spool, files[0] as string))).toBe(0o600);
      release();
      await put;
    } finally {
      process.umask(umask);
    }
  });

  it("the fake's verifier reproduces the AWS documentation's example signatures", () => {
    // "Example: GET Object" and "Example: presigned URL" from the S3 SigV4 documentation.
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const scope = { date: '20130524', region: 'us-east-1', service: 's3' };
    const emptyHash = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    const get = canonicalRequest({
      method: 'GET',
      rawPath: '/test.txt',
      query: [],
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        range: 'bytes=0-9',
        'x-amz-content-sha256': emptyHash,
        'x-amz-date': '20130524T000000Z',
      },
      signedHeaders: ['host', 'range', 'x-amz-content-sha256', 'x-amz-date'],
      payloadHash: emptyHash,
    });
    expect(signatureFor(secret, '20130524T000000Z', scope, get)).toBe(
      'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
    const presigned = canonicalRequest({
      method: 'GET',
      rawPath: '/test.txt',
      query: [
        ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
        ['X-Amz-Credential', 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request'],
        ['X-Amz-Date', '20130524T000000Z'],
        ['X-Amz-Expires', '86400'],
        ['X-Amz-SignedHeaders', 'host'],
      ],
      headers: { host: 'examplebucket.s3.amazonaws.com' },
      signedHeaders: ['host'],
      payloadHash: 'UNSIGNED-PAYLOAD',
    });
    expect(signatureFor(secret, '20130524T000000Z', scope, presigned)).toBe(
      'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    );
  });
});
