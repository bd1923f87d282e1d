import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../db/pool.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, errorCode, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let token: Caller;

beforeAll(async () => {
  api = await startTestApi(db.app, {
    rateLimits: { auth: { burst: 3, perMinute: 6 }, default: { burst: 5, perMinute: 60 } },
  });
  org = await makeOrg(db.app, 'Platform');
  token = await api.tokenFor(db.app, org.orgId, ['tickets:write']);
});
afterAll(() => api.close());

const tickets = () => `/v1/orgs/${org.orgId}/tickets`;
const ticketCount = async () =>
  Number((await db.admin.query('select count(*) from tickets where org_id = $1', [org.orgId])).rows[0].count);

describe('Idempotency-Key', () => {
  it('replays the stored response for the same key and body, refuses another body, and never creates twice', async () => {
    const own = await api.tokenFor(db.app, org.orgId, ['tickets:write']);
    api.clock.advance(120_000); // a full bucket for the new token
    const send = (body: object) =>
      api.call(own, {
        method: 'POST',
        url: tickets(),
        payload: body,
        headers: { 'idempotency-key': 'order-1234' },
      });
    const first = await send({ subject: 'Refund order 1234' });
    expect(first.statusCode).toBe(201);
    const again = await send({ subject: 'Refund order 1234' });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().id).toBe(first.json().id);
    const other = await send({ subject: 'Something else' });
    expect(other.statusCode).toBe(422);
    expect(other.json().error.details.reason).toBe('idempotency_key_reused');
  });

  it('lets exactly one of many concurrent requests with one key create the ticket', async () => {
    const before = await ticketCount();
    const burst = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const caller = await api.tokenFor(db.app, org.orgId, ['tickets:write']);
        void i;
        return api.call(caller, {
          method: 'POST',
          url: tickets(),
          payload: { subject: 'Concurrent' },
          headers: { 'idempotency-key': 'race-key' },
        });
      }),
    );
    const statuses = burst.map((r) => r.statusCode).sort();
    // Different tokens are different actors: the first wins, the rest see another request's key.
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.every((s) => s === 201 || s === 409 || s === 422)).toBe(true);
    expect((await ticketCount()) - before).toBe(1);
  });

  it('with the same caller, concurrent retries get the original or a 409 while it runs, never a second ticket', async () => {
    const caller = await api.tokenFor(db.app, org.orgId, ['tickets:write']);
    const before = await ticketCount();
    const burst = await Promise.all(
      Array.from({ length: 5 }, () =>
        api.call(caller, {
          method: 'POST',
          url: tickets(),
          payload: { subject: 'Retry storm' },
          headers: { 'idempotency-key': 'retry-storm' },
        }),
      ),
    );
    const ids = new Set(burst.filter((r) => r.statusCode === 201).map((r) => r.json().id));
    expect(ids.size).toBe(1);
    expect(burst.every((r) => r.statusCode === 201 || r.statusCode === 409)).toBe(true);
    expect((await ticketCount()) - before).toBe(1);
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After once a token spends its burst, and lets it back in after refilling', async () => {
    const caller = await api.tokenFor(db.app, org.orgId, ['tickets:read']);
    const statuses = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await api.call(caller, { method: 'GET', url: tickets() })).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const limited = await api.call(caller, { method: 'GET', url: tickets() });
    expect(errorCode(limited)).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    api.clock.advance(Number(limited.headers['retry-after']) * 1000);
    expect((await api.call(caller, { method: 'GET', url: tickets() })).statusCode).toBe(200);
  });

  it('limits sign-in routes per client address, separately from other addresses', async () => {
    const from = (ip: string) =>
      api.app
        .inject({ method: 'GET', url: '/auth/discord/login', remoteAddress: ip })
        .then((r) => r.statusCode);
    const a = [];
    for (let i = 0; i < 4; i++) a.push(await from('10.1.1.1'));
    expect(a.slice(0, 3).every((s) => s !== 429)).toBe(true);
    expect(a[3]).toBe(429);
    expect(await from('10.2.2.2')).not.toBe(429);
  });
});

describe('attachments', () => {
  const upload = (ticketId: string, body: Buffer | string, type: string, name = 'shot.png') =>
    api.call(token, {
      method: 'POST',
      url: `${tickets()}/${ticketId}/attachments?filename=${encodeURIComponent(name)}`,
      payload: body,
      headers: { 'content-type': type },
    });

  it('streams an upload to storage and serves it back only through a signed, expiring link', async () => {
    api.clock.advance(120_000);
    const t = (
      await api.call(token, { method: 'POST', url: tickets(), payload: { subject: 'Screenshot' } })
    ).json();
    // A real 1×1 PNG padded to 50 kB: the bytes must be what the type says (the upload sniffs them).
    const png = Buffer.concat([
      Buffer.from(
        'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
        'base64',
      ),
      Buffer.alloc(50_000, 7),
    ]);
    const res = await upload(t.id, png, 'image/png');
    expect(res.statusCode, res.body).toBe(201);
    const { url, sizeBytes } = res.json();
    expect(sizeBytes).toBe(png.length);
    const path = new URL(url).pathname + new URL(url).search;
    const got = await api.app.inject({ method: 'GET', url: path });
    expect(got.statusCode).toBe(200);
    expect(got.rawPayload.equals(png)).toBe(true);
    expect(got.headers['content-disposition']).toContain('attachment');

    const tampered = await api.app.inject({ method: 'GET', url: path.replace(/token=(.)/, 'token=X') });
    expect(tampered.statusCode).toBe(404);
    api.clock.advance(301_000);
    expect((await api.app.inject({ method: 'GET', url: path })).statusCode).toBe(403);
  });

  it('refuses a disallowed type with 415 and an oversized file with 413, storing nothing', async () => {
    api.clock.advance(120_000);
    const t = (
      await api.call(token, { method: 'POST', url: tickets(), payload: { subject: 'Bad files' } })
    ).json();
    const html = await upload(t.id, '<script>alert(1)</script>', 'text/html', 'x.html');
    expect(html.statusCode).toBe(415);
    expect(errorCode(html)).toBe('unsupported_media_type');
    const big = await upload(t.id, Buffer.alloc(26 * 1024 * 1024, 1), 'image/png');
    expect(big.statusCode).toBe(413);
    const rows = await db.admin.query('select count(*) from attachments where ticket_id = $1', [t.id]);
    expect(Number(rows.rows[0].count)).toBe(0);
  });
});

describe('webhook targets', () => {
  it('refuses loopback, private and link-local targets when a subscription is saved', async () => {
    const hooks = await api.tokenFor(db.app, org.orgId, ['webhooks:manage']);
    api.clock.advance(120_000);
    for (const url of [
      'http://127.0.0.1:9/x',
      'http://10.1.2.3/x',
      'http://169.254.169.254/latest',
      'http://[::1]/x',
    ]) {
      const res = await api.call(hooks, {
        method: 'POST',
        url: `/v1/orgs/${org.orgId}/webhooks`,
        payload: { url, eventTypes: ['ticket.created'] },
      });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(422);
      expect(res.json().error.details[0].path).toBe('body.url');
    }
    const ok = await api.call(hooks, {
      method: 'POST',
      url: `/v1/orgs/${org.orgId}/webhooks`,
      payload: { url: 'https://93.184.215.14/hook', eventTypes: ['ticket.created'] },
    });
    expect(ok.statusCode, ok.body).toBe(201);
    const rows = await db.admin.query('select url from webhook_subscriptions where org_id = $1', [org.orgId]);
    expect(rows.rows.map((r) => r.url)).toEqual(['https://93.184.215.14/hook']);
  });
});

describe('OpenAPI and metrics', () => {
  it('describes every /v1 and /auth route in an OpenAPI 3.1 document with its security schemes', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.securitySchemes)).toEqual([
      'session',
      'csrf',
      'token',
      'oauth2',
      'clientBasic',
      'gameKey',
    ]);
    const documented = new Set(
      Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`),
      ),
    );
    const missing = api.app.registeredRoutes
      .filter(
        (r) =>
          (r.url.startsWith('/v1') || r.url.startsWith('/auth')) &&
          r.method !== 'HEAD' &&
          r.url !== '/v1/live' &&
          // The OAuth consent page is a page for people, not an API operation.
          r.url !== '/v1/oauth/authorize',
      )
      .map((r) => `${r.method} ${r.url}`)
      .filter((r) => !documented.has(r));
    expect(missing).toEqual([]);
    const create = doc.paths['/v1/orgs/{orgId}/tickets'].post;
    expect(create.requestBody.content['application/json'].schema.required).toContain('subject');
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '403', '422', '429']));
    const page = await api.app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('swagger');
  });

  it('serves Prometheus metrics with request histograms by route template and pool gauges', async () => {
    await api.app.inject({ method: 'GET', url: '/health' });
    await api.app.inject({ method: 'DELETE', url: '/no/such/route/17' });
    const res = await api.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toMatch(
      /gamemod_http_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} \d+/,
    );
    expect(res.body).toMatch(/route="\/v1\/orgs\/:orgId\/tickets"/);
    // An unknown path is counted under one label, never under its raw URL.
    expect(res.body).toMatch(
      /gamemod_http_request_duration_seconds_count\{method="DELETE",route="unmatched",status="404"\} \d+/,
    );
    expect(res.body).not.toContain('/no/such/route');
    expect(res.body).toMatch(/gamemod_db_pool_connections\{state="total"\} \d+/);
    expect(res.body).toContain('gamemod_redis_up 1');
  });

  it('keeps /metrics behind METRICS_TOKEN when one is set', async () => {
    const guarded = await startTestApi(db.app, { settings: { metricsToken: 'm'.repeat(24) } });
    try {
      expect((await guarded.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
      const wrong = await guarded.app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: 'Bearer nope' },
      });
      expect(wrong.statusCode).toBe(401);
      const ok = await guarded.app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${'m'.repeat(24)}` },
      });
      expect(ok.statusCode).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it('answers a database outage with a 503 that carries the request id and no internals', async () => {
    const dead = createPool({
      url: 'postgres://nobody:nothing@127.0.0.1:1/none',
      max: 2,
      connectTimeoutMs: 500,
      statementTimeoutMs: 1000,
    });
    const broken = await startTestApi(dead);
    try {
      const res = await broken.call(token, {
        method: 'GET',
        url: tickets(),
        headers: { 'x-request-id': 'req-abc-123' },
      });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.message).toContain('req-abc-123');
      expect(res.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres/);
      expect(res.headers['retry-after']).toBeDefined();
    } finally {
      await broken.close();
      await dead.end();
    }
  });
});
