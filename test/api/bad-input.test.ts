import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../../api/plugins/input-guard.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, errorCode, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let owner: Caller;
let ticketId: string;

beforeAll(async () => {
  api = await startTestApi(db.app, { settings: { secretKey: randomBytes(32).toString('base64') } });
  org = await makeOrg(db.app, 'BadInput');
  owner = await api.sessionFor(org.ownerId);
  const t = await api.call(owner, { method: 'POST', url: tickets(), payload: { subject: 'Existing' } });
  expect(t.statusCode, t.body).toBe(201);
  ticketId = t.json().id;
});
afterAll(() => api.close());

const tickets = () => `/v1/orgs/${org.orgId}/tickets`;
const count = async (sql: string) => Number((await db.admin.query(sql, [org.orgId])).rows[0].count as string);
const ticketCount = () => count('select count(*) from tickets where org_id = $1');

/** A 400 `invalid_character` whose details name `path`. */
function expectNulRefused(res: { statusCode: number; body: string; json(): unknown }, path: string) {
  expect(res.statusCode, res.body).toBe(400);
  const { error } = res.json() as { error: { code: string; details: Array<{ path: string }> } };
  expect(error.code).toBe('invalid_character');
  expect(error.details[0]?.path).toBe(path);
}

describe('the NUL character', () => {
  it('in a body field is a 400 naming the field, and nothing is written', async () => {
    const before = await ticketCount();
    const res = await api.call(owner, { method: 'POST', url: tickets(), payload: { subject: 'a\u0000b' } });
    expectNulRefused(res, 'body.subject');
    expect(await ticketCount()).toBe(before);
  });

  it('deep inside a body (array items, free-form JSON and its keys) names the exact path', async () => {
    const tags = await api.call(owner, {
      method: 'POST',
      url: tickets(),
      payload: { subject: 'ok', tags: ['fine', 'bad\u0000'] },
    });
    expectNulRefused(tags, 'body.tags.1');
    const value = await api.call(owner, {
      method: 'POST',
      url: tickets(),
      payload: { subject: 'ok', customFields: { build: { notes: ['x', '\u0000'] } } },
    });
    expectNulRefused(value, 'body.customFields.build.notes.1');
    const key = await api.call(owner, {
      method: 'POST',
      url: tickets(),
      payload: { subject: 'ok', customFields: { 'k\u0000': 1 } },
    });
    expectNulRefused(key, 'body.customFields.k\\u0000');
  });

  it('in an update, a reply and a note is refused before the handler runs', async () => {
    const events = () => count('select count(*) from ticket_events where org_id = $1');
    const before = await events();
    const patch = await api.call(owner, {
      method: 'PATCH',
      url: `${tickets()}/${ticketId}`,
      payload: { subject: 'x\u0000' },
    });
    expectNulRefused(patch, 'body.subject');
    for (const what of ['replies', 'notes']) {
      const res = await api.call(owner, {
        method: 'POST',
        url: `${tickets()}/${ticketId}/${what}`,
        payload: { body: 'hello\u0000world' },
      });
      expect(res.statusCode, `${what}: ${res.body}`).toBe(400);
      expect(errorCode(res)).toBe('invalid_character');
    }
    expect(await events()).toBe(before);
  });

  it('in the query string is a 400 naming the parameter', async () => {
    const res = await api.call(owner, { method: 'GET', url: `${tickets()}?q=a%00b` });
    expectNulRefused(res, 'query.q');
  });

  it('in a path parameter is a 400 naming the parameter', async () => {
    const res = await api.call(owner, { method: 'GET', url: `${tickets()}/abc%00def` });
    expectNulRefused(res, 'params.ticketId');
  });

  it("in an attachment's ?filename= is a 400 and nothing is stored", async () => {
    const res = await api.call(owner, {
      method: 'POST',
      url: `${tickets()}/${ticketId}/attachments?filename=a%00.txt`,
      payload: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expectNulRefused(res, 'query.filename');
    expect(await count('select count(*) from attachments where org_id = $1')).toBe(0);
  });

  it('in an Idempotency-Key header is a 400, never a 500', async () => {
    const res = await api.call(owner, {
      method: 'POST',
      url: tickets(),
      payload: { subject: 'keyed' },
      headers: { 'idempotency-key': 'abc\u0000def' },
    });
    expect(res.statusCode, res.body).toBe(400);
  });

  it('is answered after the access check: a caller without access gets 401, not a hint about input', async () => {
    const res = await api.app.inject({ method: 'POST', url: tickets(), payload: { subject: 'a\u0000' } });
    expect(res.statusCode).toBe(401);
  });

  it('reaching the database some other way (not through the API) is a named 400, not an internal error', async () => {
    const err = await withTenant(db.app, org.orgId, (tx) =>
      openTicket(tx, { subject: 'from elsewhere\u0000', origin: 'discord' }, org.owner),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_character', status: 400 });
  });
});

describe('deeply nested JSON', () => {
  const post = (payload: string) =>
    api.call(owner, {
      method: 'POST',
      url: tickets(),
      payload,
      headers: { 'content-type': 'application/json' },
    });
  const nested = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

  it('100,000 nested arrays in a free-form field are a 400, not a stack overflow', async () => {
    const before = await ticketCount();
    const res = await post(`{"subject":"deep","customFields":{"k":${nested(100_000)}}}`);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.details[0].path).toBe('body');
    expect(res.json().error.message).toContain(`${MAX_JSON_DEPTH} levels`);
    expect(await ticketCount()).toBe(before);
  });

  it('a 100,000-deep body, of arrays or objects, is a 400', async () => {
    expect((await post(nested(100_000))).statusCode).toBe(400);
    const objects = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    expect((await post(objects)).statusCode).toBe(400);
  });

  it('nesting within the limit still works, and brackets inside strings do not count', async () => {
    const ok = await post(
      `{"subject":"${'['.repeat(200)}","customFields":{"k":${nested(MAX_JSON_DEPTH - 2)}}}`,
    );
    expect(ok.statusCode, ok.body).toBe(201);
  });

  it('the depth check follows JSON strings and escapes exactly', () => {
    expect(jsonDepthExceeds(nested(3), 3)).toBe(false);
    expect(jsonDepthExceeds(nested(4), 3)).toBe(true);
    expect(jsonDepthExceeds('["\\"[[[[["]', 3)).toBe(false);
    expect(jsonDepthExceeds('["\\\\",[[[]]]]', 3)).toBe(true);
    expect(jsonDepthExceeds('[[],[],[],[],[]]', 2)).toBe(false);
  });
});

describe('URLs the router refuses', () => {
  it('answer in the API error shape without echoing the URL back', async () => {
    const long = await api.call(owner, { method: 'GET', url: `/v1/orgs/${'x'.repeat(5_000)}` });
    // 414 from the router, or 404 when a catch-all route (the panel's) takes the path instead.
    expect([404, 414]).toContain(long.statusCode);
    expect(errorCode(long)).toBe(long.statusCode === 414 ? 'uri_too_long' : 'not_found');
    expect(long.body.length).toBeLessThan(500);
    const longPage = await api.call(owner, { method: 'GET', url: `/tickets/${'x'.repeat(5_000)}.js` });
    expect(longPage.statusCode).toBe(404);
    expect(longPage.body.length).toBeLessThan(500);
    const broken = await api.call(owner, { method: 'GET', url: '/v1/orgs/%E0%A4%A' });
    expect(broken.statusCode).toBe(400);
    expect(errorCode(broken)).toBe('bad_request');
  });
});
