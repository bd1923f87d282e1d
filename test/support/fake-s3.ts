import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback S3-compatible server: PUT, GET, HEAD and DELETE on objects, path-style and
 * virtual-host-style addressing, header-signed and presigned (query-signed) requests.
 *
 * Every request must carry a valid AWS Signature Version 4, checked here by an implementation
 * written from the AWS documentation ("Signature Version 4 signing process", "Authenticating
 * requests: Using query parameters"), independent of the `aws4` package the adapter signs with,
 * so the adapter is tested against the spec and not against itself. Failures answer with S3's
 * XML error codes (`SignatureDoesNotMatch`, `InvalidAccessKeyId`, `AccessDenied`, ...).
 */
export interface FakeS3Options {
  credentials: Record<string, string>;
  region?: string;
  /** The clock used for skew and expiry checks; tests move it forward. */
  now?: () => Date;
}

export interface StoredFakeObject {
  body: Buffer;
  contentType: string;
}

export interface FakeS3 {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  region: string;
  /** bucket -> key -> object */
  buckets: Map<string, Map<string, StoredFakeObject>>;
  /** One line per request: method, bucket, key, auth kind, status. */
  log: Array<{
    method: string;
    bucket: string;
    key: string;
    auth: 'header' | 'query' | 'none';
    status: number;
  }>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Signature Version 4, from the spec.

/** RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4 requires. */
export function uriEncode(s: string, encodeSlash = true): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (c === '/' && !encodeSlash)) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const sha256hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

export interface CanonicalParts {
  method: string;
  /** The path as sent on the wire (percent-encoded). */
  rawPath: string;
  /** The query pairs, decoded. */
  query: Array<[string, string]>;
  /** Lowercase header name -> value, only the signed ones. */
  headers: Record<string, string>;
  signedHeaders: string[];
  payloadHash: string;
}

/** The canonical request: S3 encodes each path segment once and does not normalise the path. */
export function canonicalRequest(p: CanonicalParts): string {
  const path = p.rawPath
    .split('/')
    .map((seg) => uriEncode(decodeURIComponent(seg)))
    .join('/');
  const query = p.query
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers = p.signedHeaders
    .map((h) => `${h}:${(p.headers[h] ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  return [p.method, path || '/', query, headers, p.signedHeaders.join(';'), p.payloadHash].join('\n');
}

/** The signature of a canonical request: string to sign, then the derived signing key. */
export function signatureFor(
  secret: string,
  amzDate: string,
  scope: { date: string; region: string; service: string },
  canonical: string,
): string {
  const scopeStr = `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scopeStr, sha256hex(canonical)].join('\n');
  const kDate = hmac(`AWS4${secret}`, scope.date);
  const kRegion = hmac(kDate, scope.region);
  const kService = hmac(kRegion, scope.service);
  const kSigning = hmac(kService, 'aws4_request');
  return createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');
}

// ---------------------------------------------------------------------------------------------
// The server.

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const AMZ_DATE = /^(\d{8})T\d{6}Z$/;
const MAX_SKEW_MS = 15 * 60 * 1000;

function parseAmzDate(s: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) throw new S3Error(403, 'AccessDenied', 'malformed X-Amz-Date');
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export async function startFakeS3(opts: FakeS3Options): Promise<FakeS3> {
  const region = opts.region ?? 'us-east-1';
  const now = opts.now ?? (() => new Date());
  const buckets = new Map<string, Map<string, StoredFakeObject>>();
  const log: FakeS3['log'] = [];

  /** Checks the request's signature; returns how it was signed. */
  function authenticate(req: IncomingMessage, rawPath: string, query: Array<[string, string]>) {
    const auth = headerValue(req, 'authorization');
    const q = new Map(query);
    let accessKey: string;
    let credScope: string[];
    let signedHeaders: string[];
    let given: string;
    let amzDate: string;
    let payloadHash: string;
    let kind: 'header' | 'query';
    if (auth) {
      kind = 'header';
      const m =
        /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
          auth,
        );
      if (!m) throw new S3Error(400, 'AuthorizationHeaderMalformed', 'the authorization header is malformed');
      [accessKey, ...credScope] = m[1]!.split('/') as [string, ...string[]];
      signedHeaders = m[2]!.split(';');
      given = m[3]!;
      amzDate = headerValue(req, 'x-amz-date') ?? '';
      payloadHash = headerValue(req, 'x-amz-content-sha256') ?? '';
      if (!payloadHash) throw new S3Error(400, 'InvalidRequest', 'missing x-amz-content-sha256');
      const skew = Math.abs(parseAmzDate(amzDate).getTime() - now().getTime());
      if (skew > MAX_SKEW_MS)
        throw new S3Error(403, 'RequestTimeTooSkewed', 'the request time is too skewed');
    } else if (q.has('X-Amz-Signature')) {
      kind = 'query';
      if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') {
        throw new S3Error(400, 'AuthorizationQueryParametersError', 'unsupported algorithm');
      }
      [accessKey, ...credScope] = (q.get('X-Amz-Credential') ?? '').split('/') as [string, ...string[]];
      signedHeaders = (q.get('X-Amz-SignedHeaders') ?? '').split(';');
      given = q.get('X-Amz-Signature') ?? '';
      amzDate = q.get('X-Amz-Date') ?? '';
      payloadHash = 'UNSIGNED-PAYLOAD';
      const expires = Number(q.get('X-Amz-Expires'));
      if (!Number.isInteger(expires) || expires < 1 || expires > 604_800) {
        throw new S3Error(400, 'AuthorizationQueryParametersError', 'X-Amz-Expires must be 1..604800');
      }
      const start = parseAmzDate(amzDate).getTime();
      if (now().getTime() > start + expires * 1000)
        throw new S3Error(403, 'AccessDenied', 'Request has expired');
      if (start - now().getTime() > MAX_SKEW_MS)
        throw new S3Error(403, 'AccessDenied', 'Request is not yet valid');
    } else {
      throw new S3Error(403, 'AccessDenied', 'Access Denied');
    }
    const [date, scopeRegion, service, terminator] = credScope;
    if (
      !AMZ_DATE.test(amzDate) ||
      amzDate.slice(0, 8) !== date ||
      terminator !== 'aws4_request' ||
      service !== 's3'
    ) {
      throw new S3Error(400, 'AuthorizationHeaderMalformed', 'the credential scope is malformed');
    }
    if (scopeRegion !== region) {
      throw new S3Error(
        400,
        'AuthorizationHeaderMalformed',
        `the region '${scopeRegion}' is wrong; expecting '${region}'`,
      );
    }
    const secret = opts.credentials[accessKey];
    if (secret === undefined)
      throw new S3Error(403, 'InvalidAccessKeyId', 'the access key id does not exist');
    if (!signedHeaders.includes('host')) throw new S3Error(403, 'AccessDenied', 'host must be signed');
    const headers: Record<string, string> = {};
    for (const h of signedHeaders) headers[h] = headerValue(req, h) ?? '';
    const canonical = canonicalRequest({
      method: req.method ?? 'GET',
      rawPath,
      query: query.filter(([k]) => kind === 'header' || k !== 'X-Amz-Signature'),
      headers,
      signedHeaders,
      payloadHash,
    });
    const expected = signatureFor(secret, amzDate, { date, region, service }, canonical);
    const a = Buffer.from(expected, 'utf8');
    const b = Buffer.from(given, 'utf8');
    if (a.length !== b.length || !timingSafeEqual(a, b)) {
      throw new S3Error(403, 'SignatureDoesNotMatch', 'the request signature we calculated does not match');
    }
    return { kind, payloadHash };
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    return Buffer.concat(chunks);
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<{ bucket: string; key: string; kind: 'header' | 'query' | 'none' }> {
    const rawUrl = req.url ?? '/';
    const qIndex = rawUrl.indexOf('?');
    const rawPath = qIndex < 0 ? rawUrl : rawUrl.slice(0, qIndex);
    const query = [...new URLSearchParams(qIndex < 0 ? '' : rawUrl.slice(qIndex + 1))];
    const hostname = (headerValue(req, 'host') ?? '').replace(/:\d+$/, '');
    // Virtual-host style when the Host names a bucket; otherwise the first path segment is it.
    const virtual = !/^(127\.0\.0\.1|localhost|\[::1\])$/.test(hostname);
    const segments = rawPath.split('/').slice(1).map(decodeURIComponent);
    const bucket = virtual ? (hostname.split('.')[0] ?? '') : (segments.shift() ?? '');
    const key = segments.join('/');
    const where = { bucket, key, kind: 'none' as 'header' | 'query' | 'none' };
    const { kind, payloadHash } = authenticate(req, rawPath, query);
    where.kind = kind;
    if (!bucket || !key) throw new S3Error(400, 'InvalidRequest', 'only object operations are supported');
    const objects = buckets.get(bucket);
    if (!objects) throw new S3Error(404, 'NoSuchBucket', 'the specified bucket does not exist');
    const q = new Map(query);
    switch (req.method) {
      case 'PUT': {
        if (kind !== 'header') throw new S3Error(403, 'AccessDenied', 'presigned PUT is not supported here');
        const declared = headerValue(req, 'content-length');
        if (declared === undefined)
          throw new S3Error(411, 'MissingContentLength', 'you must provide the Content-Length');
        const body = await readBody(req);
        if (body.length !== Number(declared))
          throw new S3Error(400, 'IncompleteBody', 'the body is shorter than declared');
        if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256hex(body)) {
          throw new S3Error(
            400,
            'XAmzContentSHA256Mismatch',
            'the provided x-amz-content-sha256 does not match',
          );
        }
        objects.set(key, { body, contentType: headerValue(req, 'content-type') ?? 'binary/octet-stream' });
        res.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex')}"` });
        res.end();
        return where;
      }
      case 'GET':
      case 'HEAD': {
        const obj = objects.get(key);
        if (!obj) throw new S3Error(404, 'NoSuchKey', 'the specified key does not exist');
        const headers: Record<string, string | number> = {
          'content-type': obj.contentType,
          'content-length': obj.body.length,
        };
        const disposition = q.get('response-content-disposition');
        if (disposition && kind === 'query') headers['content-disposition'] = disposition;
        res.writeHead(200, headers);
        res.end(req.method === 'GET' ? obj.body : undefined);
        return where;
      }
      case 'DELETE':
        objects.delete(key);
        res.writeHead(204);
        res.end();
        return where;
      default:
        throw new S3Error(405, 'MethodNotAllowed', 'the method is not allowed');
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).then(
      (w) =>
        log.push({
          method: req.method ?? '',
          bucket: w.bucket,
          key: w.key,
          auth: w.kind,
          status: res.statusCode,
        }),
      (err: unknown) => {
        const e = err instanceof S3Error ? err : new S3Error(500, 'InternalError', String(err));
        log.push({
          method: req.method ?? '',
          bucket: '',
          key: req.url ?? '',
          auth: 'none',
          status: e.status,
        });
        const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${e.code}</Code><Message>${e.message}</Message><RequestId>${randomBytes(8).toString('hex')}</RequestId></Error>`;
        // Like S3, answer before the body is read and close the connection.
        res.writeHead(e.status, { 'content-type': 'application/xml', connection: 'close' });
        res.end(req.method === 'HEAD' ? undefined : xml);
        req.resume();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    region,
    buckets,
    log,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
