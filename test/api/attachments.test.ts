import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'content-disposition';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, errorCode, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let owner: Caller;

beforeAll(async () => {
  api = await startTestApi(db.app, { settings: { secretKey: randomBytes(32).toString('base64') } });
  org = await makeOrg(db.app, 'Files');
  owner = await api.sessionFor(org.ownerId);
});
afterAll(() => api.close());

/** A real 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);
/** The start of a Windows executable (an "MZ" header with its PE signature). */
const EXE = (() => {
  const b = Buffer.alloc(512);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x80, 0x3c);
  b.write('PE\0\0', 0x80, 'latin1');
  return b;
})();

const tickets = () => `/v1/orgs/${org.orgId}/tickets`;
async function newTicket(): Promise<string> {
  const res = await api.call(owner, { method: 'POST', url: tickets(), payload: { subject: 'Files' } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}
const attachmentRows = async (ticketId: string) =>
  Number(
    (await db.admin.query('select count(*) from attachments where ticket_id = $1', [ticketId])).rows[0]
      .count as string,
  );
/** Every stored object of the org, as files under the local storage folder. */
function storedFiles(): string[] {
  const root = join(api.storageDir, 'objects', 'orgs', org.orgId, 'attachments');
  try {
    return readdirSync(root);
  } catch {
    return [];
  }
}

function rawUpload(ticketId: string, body: Buffer | string, type: string, name = 'file.bin') {
  return api.call(owner, {
    method: 'POST',
    url: `${tickets()}/${ticketId}/attachments?filename=${encodeURIComponent(name)}`,
    payload: body,
    headers: { 'content-type': type },
  });
}

/** A multipart/form-data body as a browser or `curl -F` sends it. */
function form(parts: Array<{ name: string; filename?: string; type?: string; data: Buffer | string }>) {
  const boundary = `----gamemod${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}`;
    const head = [`--${boundary}`, `Content-Disposition: ${disposition}`];
    if (p.type) head.push(`Content-Type: ${p.type}`);
    chunks.push(Buffer.from(`${head.join('\r\n')}\r\n\r\n`), Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

function formUpload(ticketId: string, f: ReturnType<typeof form>, query = '') {
  return api.call(owner, {
    method: 'POST',
    url: `${tickets()}/${ticketId}/attachments${query}`,
    payload: f.payload,
    headers: { 'content-type': f.type },
  });
}

/**
 * Downloads an attachment through its signed link. Anonymous, so rate-limited per address: an
 * address of this file's own, since every test file's API shares the run's Redis, where another
 * file's tight limits or its clock could have emptied 127.0.0.1's bucket.
 */
const DOWNLOADER = '127.0.44.1';
async function download(url: string) {
  const u = new URL(url);
  return api.app.inject({ method: 'GET', url: u.pathname + u.search, remoteAddress: DOWNLOADER });
}

describe('uploads of text types', () => {
  it('accepts text/plain (with a charset) and stores the exact bytes', async () => {
    const t = await newTicket();
    const text = 'line one\nline two: ünïcödé\n';
    const res = await rawUpload(t, text, 'text/plain; charset=utf-8', 'log.txt');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ contentType: 'text/plain', filename: 'log.txt' });
    const got = await download(res.json().url);
    expect(got.statusCode).toBe(200);
    expect(got.headers['content-type']).toContain('text/plain');
    expect(got.body).toBe(text);
  });

  it('accepts application/json as a file, without parsing it (even invalid or deeply nested JSON)', async () => {
    const t = await newTicket();
    for (const body of ['{"crash":{"frames":[1,2,3]}}', '{not json', `${'['.repeat(5000)}`]) {
      const res = await rawUpload(t, body, 'application/json', 'crash.json');
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().contentType).toBe('application/json');
      expect((await download(res.json().url)).body).toBe(body);
    }
    expect(await attachmentRows(t)).toBe(3);
  });
});

describe('multipart/form-data uploads', () => {
  it('stores the file part under its own name and type (what `curl -F file=@shot.png` sends)', async () => {
    const t = await newTicket();
    const f = form([
      { name: 'note', data: 'a field before the file' },
      { name: 'file', filename: 'shot.png', type: 'image/png', data: PNG },
    ]);
    const res = await formUpload(t, f);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      filename: 'shot.png',
      contentType: 'image/png',
      sizeBytes: PNG.length,
    });
    const got = await download(res.json().url);
    expect(got.rawPayload.equals(PNG)).toBe(true);
  });

  it('takes ?filename= over the part name, and a text file part works too', async () => {
    const t = await newTicket();
    const res = await formUpload(
      t,
      form([{ name: 'file', filename: 'x.txt', type: 'text/plain', data: 'hello' }]),
      '?filename=renamed.txt',
    );
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().filename).toBe('renamed.txt');
    expect((await download(res.json().url)).body).toBe('hello');
  });

  it('refuses a disallowed part type (415) and a form without a file (422), storing nothing; a second file part is never stored', async () => {
    const t = await newTicket();
    const before = storedFiles().length;
    const html = await formUpload(
      t,
      form([{ name: 'file', filename: 'x.html', type: 'text/html', data: '<script>1</script>' }]),
    );
    expect(html.statusCode, html.body).toBe(415);
    const none = await formUpload(t, form([{ name: 'note', data: 'no file here' }]));
    expect(none.statusCode, none.body).toBe(422);
    expect(none.json().error.details[0].path).toBe('body.file');
    expect(await attachmentRows(t)).toBe(0);
    const two = await formUpload(
      t,
      form([
        { name: 'file', filename: 'a.txt', type: 'text/plain', data: 'a' },
        { name: 'file', filename: 'b.txt', type: 'text/plain', data: 'b' },
      ]),
    );
    expect([201, 413]).toContain(two.statusCode);
    expect(storedFiles().length - before).toBe(two.statusCode === 201 ? 1 : 0);
  });

  it('answers a malformed or cut-off multipart body with 400, never a 500', async () => {
    const t = await newTicket();
    const noBoundary = await api.call(owner, {
      method: 'POST',
      url: `${tickets()}/${t}/attachments?filename=a.txt`,
      payload: '<script>alert(1)</script>',
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
    });
    expect(noBoundary.statusCode, noBoundary.body).toBe(400);
    const whole = form([{ name: 'file', filename: 'a.txt', type: 'text/plain', data: 'x'.repeat(10_000) }]);
    const cut = await api.call(owner, {
      method: 'POST',
      url: `${tickets()}/${t}/attachments`,
      payload: whole.payload.subarray(0, 5_000),
      headers: { 'content-type': whole.type },
    });
    expect(cut.statusCode, cut.body).toBe(400);
    expect(await attachmentRows(t)).toBe(0);
  });

  it('refuses a file past the limit with 413 and leaves nothing behind', async () => {
    const t = await newTicket();
    const before = storedFiles().length;
    const big = Buffer.concat([PNG, Buffer.alloc(25 * 1024 * 1024, 1)]);
    const res = await formUpload(
      t,
      form([{ name: 'file', filename: 'big.png', type: 'image/png', data: big }]),
    );
    expect(res.statusCode, res.body).toBe(413);
    expect(await attachmentRows(t)).toBe(0);
    expect(storedFiles().length).toBe(before);
  });
});

describe('the type comes from the bytes as well as the declaration', () => {
  it('refuses an executable declared as image/png or text/plain with 415, storing nothing', async () => {
    const t = await newTicket();
    const before = storedFiles().length;
    for (const type of ['image/png', 'text/plain', 'application/json']) {
      const res = await rawUpload(t, EXE, type, 'shot.png');
      expect(res.statusCode, `${type}: ${res.body}`).toBe(415);
      expect(errorCode(res)).toBe('unsupported_media_type');
      expect(res.json().error.details.detected).toBe('application/x-msdownload');
    }
    const viaForm = await formUpload(
      t,
      form([{ name: 'file', filename: 'a.png', type: 'image/png', data: EXE }]),
    );
    expect(viaForm.statusCode, viaForm.body).toBe(415);
    expect(await attachmentRows(t)).toBe(0);
    expect(storedFiles().length).toBe(before);
  });

  it('refuses a PNG declared as JPEG, and bytes with no signature declared as an image', async () => {
    const t = await newTicket();
    expect((await rawUpload(t, PNG, 'image/jpeg', 'a.jpg')).statusCode).toBe(415);
    expect((await rawUpload(t, 'just text', 'image/png', 'a.png')).statusCode).toBe(415);
    expect((await rawUpload(t, '', 'image/gif', 'a.gif')).statusCode).toBe(415);
    expect((await rawUpload(t, PNG, 'image/png', 'a.png')).statusCode).toBe(201);
  });
});

describe('Content-Disposition on downloads', () => {
  it('keeps a unicode name, quotes and all, and never lets CR/LF or a path through', async () => {
    const t = await newTicket();
    const nasty = 'rapport "final" é日本\r\nSet-Cookie: x=1; ../../etc.txt';
    const res = await rawUpload(t, 'contents', 'text/plain', nasty);
    expect(res.statusCode, res.body).toBe(201);
    const got = await download(res.json().url);
    expect(got.statusCode).toBe(200);
    const header = got.headers['content-disposition'] as string;
    expect(header).not.toMatch(/[\r\n]/);
    expect(got.headers['set-cookie']).toBeUndefined();
    const parsed = parse(header);
    expect(parsed.type).toBe('attachment');
    // The stored name lost its control characters and slashes; the rest arrives intact.
    expect(parsed.parameters.filename).toBe('rapport "final" é日本Set-Cookie: x=1; ....etc.txt');
    expect(header).toMatch(/filename="[\x20-\x7e]*"/);
  });

  it('serves a file as a download under its plain name, with nosniff', async () => {
    const t = await newTicket();
    const res = await rawUpload(t, PNG, 'image/png', 'shot.png');
    const got = await download(res.json().url);
    expect(parse(got.headers['content-disposition'] as string)).toEqual({
      type: 'attachment',
      parameters: { filename: 'shot.png' },
    });
    expect(got.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('CORS on signed downloads', () => {
  const ORIGIN = 'https://game.example';
  it('lets a page on another origin (a browser game, a panel served elsewhere) fetch a file its link opens', async () => {
    const t = await newTicket();
    const res = await rawUpload(t, PNG, 'image/png', 'shot.png');
    const u = new URL(res.json().url);
    const preflight = await api.app.inject({
      method: 'OPTIONS',
      url: u.pathname + u.search,
      headers: { origin: ORIGIN, 'access-control-request-method': 'GET' },
      remoteAddress: DOWNLOADER,
    });
    expect(preflight.statusCode, preflight.body).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
    expect(String(preflight.headers['access-control-allow-methods'])).toContain('GET');
    const got = await api.app.inject({
      method: 'GET',
      url: u.pathname + u.search,
      headers: { origin: ORIGIN },
      remoteAddress: DOWNLOADER,
    });
    expect(got.statusCode).toBe(200);
    expect(got.headers['access-control-allow-origin'], 'the file is readable by the page').toBe('*');
    expect(String(got.headers['access-control-expose-headers'])).toContain('content-disposition');
    // The link is the credential: no cookie rides along, and none is asked for.
    expect(got.headers['access-control-allow-credentials']).toBeUndefined();
    // A refused link says so to the page too, instead of an opaque network error.
    const bad = await api.app.inject({
      method: 'GET',
      url: `${u.pathname}?token=nope`,
      headers: { origin: ORIGIN },
      remoteAddress: DOWNLOADER,
    });
    expect(bad.statusCode).toBeGreaterThanOrEqual(400);
    expect(bad.headers['access-control-allow-origin']).toBe('*');
  });
});
