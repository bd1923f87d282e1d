import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import aws4 from 'aws4';
import { AppError } from '../errors.js';
import {
  assertValidKey,
  checkPut,
  contentDisposition,
  Measure,
  ObjectNotFoundError,
  type PresignOptions,
  type PutOptions,
  type PutResult,
  type Storage,
  type StoredObject,
} from './common.js';

export interface S3Options {
  /** e.g. `https://s3.eu-west-1.amazonaws.com`, `http://minio:9000`, `https://storage.googleapis.com`. */
  endpoint: string;
  /** `auto` for Cloud Storage. */
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `/<bucket>/<key>` on the endpoint's host (MinIO's default) instead of `<bucket>.<host>/<key>`. */
  forcePathStyle: boolean;
  /** Host name resolution for the connection (tests point virtual hosts at loopback). */
  lookup?: LookupFunction;
  /** Where bodies of unknown length are spooled before upload (S3 needs a Content-Length). */
  tmpDir?: string;
}

/** S3 answered with an error other than "no such key". */
export class StorageRequestError extends AppError {
  constructor(
    readonly httpStatus: number,
    readonly s3Code: string,
    message: string,
  ) {
    super(
      httpStatus >= 500 ? 'unavailable' : 'internal',
      `object storage refused the request: ${s3Code}${message ? ` (${message})` : ''}`,
      { details: { s3Code, httpStatus } },
    );
    this.name = 'StorageRequestError';
  }
}

interface Target {
  url: URL;
  /** What is signed and sent as Host. */
  host: string;
  /** The path and query as sent, before signing. */
  path: string;
}

const sha256hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const encodeKey = (key: string) => key.split('/').map(encodeURIComponent).join('/');

/**
 * An S3-compatible bucket, signed with AWS Signature V4 (the `aws4` package) over node's
 * http/https, streaming both ways. Works with AWS S3, MinIO, and Cloud Storage's XML API
 * (HMAC keys, region `auto`).
 */
export class S3Storage implements Storage {
  readonly driver = 's3' as const;
  private readonly endpoint: URL;
  private readonly basePath: string;

  constructor(private readonly opts: S3Options) {
    this.endpoint = new URL(opts.endpoint);
    this.basePath = this.endpoint.pathname.replace(/\/+$/, '');
  }

  /** The bucket's address: the endpoint itself (path style) or the bucket's virtual host on it. */
  private bucketUrl(): URL {
    const url = new URL(this.endpoint.href);
    if (!this.opts.forcePathStyle) url.hostname = `${this.opts.bucket}.${url.hostname}`;
    return url;
  }

  /**
   * The origin presignGet's URLs are on. /v1/files redirects a browser there, and the browser
   * checks the redirect's target against the page's CSP (img-src for a preview).
   */
  get downloadOrigin(): string {
    return this.bucketUrl().origin;
  }

  private target(key: string, query = ''): Target {
    assertValidKey(key);
    const url = this.bucketUrl();
    const path = this.opts.forcePathStyle
      ? `${this.basePath}/${this.opts.bucket}/${encodeKey(key)}`
      : `${this.basePath}/${encodeKey(key)}`;
    return { url, host: url.host, path: query ? `${path}?${query}` : path };
  }

  private sign(method: string, t: Target, headers: Record<string, string | number>): OutgoingHttpHeaders {
    const signed = aws4.sign(
      {
        service: 's3',
        region: this.opts.region,
        method,
        host: t.host,
        path: t.path,
        headers: { ...headers },
      },
      { accessKeyId: this.opts.accessKeyId, secretAccessKey: this.opts.secretAccessKey },
    );
    return signed.headers as OutgoingHttpHeaders;
  }

  private send(
    method: string,
    t: Target,
    headers: OutgoingHttpHeaders,
    body?: Buffer | Readable,
  ): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const lib = t.url.protocol === 'https:' ? https : http;
      const req = lib.request(
        {
          hostname: t.url.hostname,
          port: t.url.port || undefined,
          path: t.path,
          method,
          headers,
          lookup: this.opts.lookup,
        },
        resolve,
      );
      req.on('error', (err) =>
        reject(
          err instanceof AppError
            ? err
            : new AppError('unavailable', 'object storage is unreachable', { cause: err }),
        ),
      );
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        pipeline(body, req).catch((err) => {
          req.destroy();
          reject(err);
        });
      }
    });
  }

  /** Turns a non-2xx answer into an error, reading S3's XML error body. */
  private async fail(res: IncomingMessage, key: string): Promise<never> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res as AsyncIterable<Buffer>) {
      if (size < 64 * 1024) chunks.push(c);
      size += c.length;
    }
    const xml = Buffer.concat(chunks).toString('utf8');
    const code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1] ?? `HTTP${res.statusCode}`;
    if (res.statusCode === 404 && (code === 'NoSuchKey' || code === 'HTTP404'))
      throw new ObjectNotFoundError(key);
    throw new StorageRequestError(
      res.statusCode ?? 0,
      code,
      /<Message>([^<]*)<\/Message>/.exec(xml)?.[1] ?? '',
    );
  }

  private async sendOk(
    method: string,
    key: string,
    headers: Record<string, string | number>,
    body?: Buffer | Readable,
  ): Promise<IncomingMessage> {
    const t = this.target(key);
    const res = await this.send(method, t, this.sign(method, t, headers), body);
    if ((res.statusCode ?? 0) >= 300) return this.fail(res, key);
    return res;
  }

  async put(key: string, body: Readable | Buffer, opts: PutOptions): Promise<PutResult> {
    checkPut(key, body, opts);
    if (Buffer.isBuffer(body)) {
      const sha256 = sha256hex(body);
      const res = await this.sendOk(
        'PUT',
        key,
        { 'Content-Type': opts.contentType, 'Content-Length': body.length, 'X-Amz-Content-Sha256': sha256 },
        body,
      );
      res.resume();
      return { size: body.length, sha256 };
    }
    if (opts.contentLength === undefined) return this.putSpooled(key, body, opts);
    // Known length: stream straight through, unsigned payload, hashing on the way.
    const measure = new Measure(opts.maxBytes, opts.contentLength);
    body.on('error', (err) => measure.destroy(err));
    const res = await this.sendOk(
      'PUT',
      key,
      {
        'Content-Type': opts.contentType,
        'Content-Length': opts.contentLength,
        'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD',
      },
      body.pipe(measure),
    );
    res.resume();
    return { size: measure.size, sha256: measure.digest() };
  }

  /**
   * S3 refuses a PUT without Content-Length, so a body of unknown size goes to a temporary file
   * first (bounded by `maxBytes`), then up with its length and its hash signed.
   */
  private async putSpooled(key: string, body: Readable, opts: PutOptions): Promise<PutResult> {
    const dir = this.opts.tmpDir ?? tmpdir();
    // The spool may sit in the shared OS temp folder: only this user may read an upload in flight.
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `gm-upload-${randomBytes(12).toString('hex')}`);
    try {
      const measure = new Measure(opts.maxBytes);
      await pipeline(body, measure, createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
      const sha256 = measure.digest();
      const res = await this.sendOk(
        'PUT',
        key,
        { 'Content-Type': opts.contentType, 'Content-Length': measure.size, 'X-Amz-Content-Sha256': sha256 },
        createReadStream(tmp),
      );
      res.resume();
      return { size: measure.size, sha256 };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async get(key: string): Promise<StoredObject> {
    const res = await this.sendOk('GET', key, {});
    return {
      body: res,
      size: Number(res.headers['content-length'] ?? 0),
      contentType: res.headers['content-type'] ?? 'application/octet-stream',
    };
  }

  async delete(key: string): Promise<void> {
    const t = this.target(key);
    const res = await this.send('DELETE', t, this.sign('DELETE', t, {}));
    if (res.statusCode === 404) return void res.resume();
    if ((res.statusCode ?? 0) >= 300) return this.fail(res, key);
    res.resume();
  }

  async exists(key: string): Promise<boolean> {
    const t = this.target(key);
    const res = await this.send('HEAD', t, this.sign('HEAD', t, {}));
    res.resume();
    if (res.statusCode === 404) return false;
    if ((res.statusCode ?? 0) >= 300)
      throw new StorageRequestError(res.statusCode ?? 0, `HTTP${res.statusCode}`, '');
    return true;
  }

  /** A SigV4 query-signed GET URL, valid for `expiresInSeconds` (at most 7 days, S3's limit). */
  presignGet(key: string, opts: PresignOptions): string {
    const expires = Math.min(Math.max(Math.floor(opts.expiresInSeconds), 1), 604_800);
    const query = new URLSearchParams({ 'X-Amz-Expires': String(expires) });
    if (opts.disposition || opts.filename)
      query.set('response-content-disposition', contentDisposition(opts));
    const t = this.target(key, query.toString());
    const signed = aws4.sign(
      { service: 's3', region: this.opts.region, method: 'GET', host: t.host, path: t.path, signQuery: true },
      { accessKeyId: this.opts.accessKeyId, secretAccessKey: this.opts.secretAccessKey },
    );
    return `${t.url.protocol}//${t.host}${signed.path}`;
  }
}
