import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../api/routes/panel.js';
import { S3Storage } from '../../lib/storage/index.js';
import { startTestApi, type TestApi } from '../api/support.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { sharedBrowser } from './support.js';

/**
 * With S3 storage, /v1/files answers with a redirect to the bucket's presigned URL, and Chromium
 * checks the redirect's target against the page's img-src: the panel's CSP has to name the
 * bucket's origin, or every image preview is blocked. The bucket here is a loopback server on
 * another origin than the API, addressed path style as MinIO (or S3_FORCE_PATH_STYLE) is.
 */
const db = useTestDb();
const BUCKET = 'gm-files';
// A 1×1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

interface PageImage {
  src: string;
  naturalWidth: number;
  onload: () => void;
  onerror: () => void;
}
interface PageDocument {
  createElement(tag: 'img'): PageImage;
  body: { append(node: PageImage): void };
}

let bucket: Server;
let bucketOrigin: string;
let api: TestApi;
let url: string;
let browser: Browser;

/** Just enough S3 for puts and presigned gets (signatures are not checked). */
function startBucket(): Promise<Server> {
  const objects = new Map<string, { type: string; body: Buffer }>();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://bucket').pathname;
    if (req.method === 'PUT') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        objects.set(path, { type: String(req.headers['content-type']), body: Buffer.concat(chunks) });
        res.writeHead(200).end();
      });
      return;
    }
    const obj = objects.get(path);
    if (!obj) return void res.writeHead(404).end('<Error><Code>NoSuchKey</Code></Error>');
    res.writeHead(200, { 'content-type': obj.type, 'content-length': obj.body.length }).end(obj.body);
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

beforeAll(async () => {
  bucket = await startBucket();
  bucketOrigin = `http://127.0.0.1:${(bucket.address() as AddressInfo).port}`;
  const storage = new S3Storage({
    endpoint: bucketOrigin,
    region: 'us-east-1',
    bucket: BUCKET,
    accessKeyId: 'test-key',
    secretAccessKey: 'test-secret',
    forcePathStyle: true,
  });
  // The API on another port of the same host: another origin than the bucket's. Its links are
  // made from PUBLIC_URL, so the port is chosen before the app is built.
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  api = await startTestApi(db.app, { storage, settings: { publicUrl: url, now: Date.now } });
  await api.app.listen({ host: '127.0.0.1', port });
  browser = await sharedBrowser();
}, 60_000);
afterAll(async () => {
  await api?.close();
  await new Promise((r) => bucket?.close(r));
});

describe('image previews with S3 storage', () => {
  it('names the bucket in img-src: path style the endpoint, otherwise the virtual host', () => {
    const vhost = new S3Storage({
      endpoint: 'https://storage.googleapis.com',
      region: 'auto',
      bucket: BUCKET,
      accessKeyId: 'k',
      secretAccessKey: 's',
      forcePathStyle: false,
    });
    expect(vhost.downloadOrigin).toBe(`https://${BUCKET}.storage.googleapis.com`);
    expect(contentSecurityPolicy("'sha256-x'", vhost.downloadOrigin)).toContain(
      `img-src 'self' data: https://cdn.discordapp.com https://${BUCKET}.storage.googleapis.com;`,
    );
    expect(contentSecurityPolicy("'sha256-x'", undefined)).toContain(
      "img-src 'self' data: https://cdn.discordapp.com;",
    );
  });

  it('shows an image attachment in the panel page through the redirect to the bucket', async () => {
    const org = await makeOrg(db.app, 'Bucketed');
    const token = await api.tokenFor(db.app, org.orgId, ['tickets:write']);
    const ticket = await api.call(token, {
      method: 'POST',
      url: `/v1/orgs/${org.orgId}/tickets`,
      payload: { subject: 'Screenshot of the bug' },
    });
    expect(ticket.statusCode).toBe(201);
    const upload = await api.call(token, {
      method: 'POST',
      url: `/v1/orgs/${org.orgId}/tickets/${ticket.json().id}/attachments?filename=shot.png`,
      payload: PNG,
      headers: { 'content-type': 'image/png' },
    });
    expect(upload.statusCode, upload.body).toBe(201);
    const fileUrl: string = upload.json().url;
    expect(fileUrl.startsWith(`${url}/v1/files/`)).toBe(true);
    // The API's link is a redirect to the bucket, another origin.
    const hop = await fetch(fileUrl, { redirect: 'manual' });
    expect(hop.status).toBe(302);
    expect(hop.headers.get('location')?.startsWith(`${bucketOrigin}/${BUCKET}/`)).toBe(true);

    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      await page.goto(`${url}/`);
      const width = await page.evaluate(
        (src) =>
          new Promise<number>((resolve) => {
            // The test's own TypeScript has no DOM types; this runs in the page.
            const { document } = globalThis as unknown as { document: PageDocument };
            const img = document.createElement('img');
            img.onload = () => resolve(img.naturalWidth);
            img.onerror = () => resolve(-1);
            img.src = src;
            document.body.append(img);
          }),
        fileUrl,
      );
      expect(violations).toEqual([]);
      expect(width).toBe(1);
    } finally {
      await ctx.close();
    }
  });
});
