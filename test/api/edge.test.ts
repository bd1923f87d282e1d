import { randomBytes, randomUUID } from 'node:crypto';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { metricsOnPublicPort, poolGauge, startMetricsServer } from '../../api/metrics-server.js';
import { loadConfig } from '../../lib/config.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
const ORIGIN = 'http://127.0.0.1:3000';
// Short limits so the test waits seconds, not minutes; the defaults are in api/http-timeouts.ts.
const TIMEOUTS = { headersMs: 600, bodyMs: 800, uploadMs: 4_000, idleMs: 1_500, keepAliveMs: 1_000 };

let api: TestApi;
let port: number;
let org: OrgFixture;
let owner: Caller;

beforeAll(async () => {
  api = await startTestApi(db.app, { timeouts: TIMEOUTS });
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  port = (api.app.server.address() as AddressInfo).port;
  org = await makeOrg(db.app, 'Edge');
  owner = await api.sessionFor(org.ownerId);
});
afterAll(async () => {
  await api.close();
});

/**
 * A client that sends `head` at once, then `drip` one byte every `everyMs` for as long as the
 * server keeps the connection; resolves when the server closes it, with what it answered.
 */
function slowDrip(head: string, drip: string, everyMs = 100) {
  return new Promise<{ closedAfterMs: number; answer: string }>((resolve, reject) => {
    const started = Date.now();
    const socket: Socket = connect(port, '127.0.0.1');
    let answer = '';
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      if (head) socket.write(head);
      timer = setInterval(() => {
        if (!socket.writable) return;
        socket.write(drip[i % drip.length] as string);
        i++;
      }, everyMs);
    });
    socket.on('data', (d) => {
      answer += d.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ closedAfterMs: Date.now() - started, answer });
    });
    setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after 15 s (answer so far: ${JSON.stringify(answer)})`));
    }, 15_000).unref();
  });
}

describe('server timeouts against slow clients', () => {
  it('closes a connection whose headers arrive a byte at a time', async () => {
    const r = await slowDrip('GET /health HTTP/1.1\r\nHost: x\r\n', 'X-Slow: aaaaaaaaaaaaaaaaaaaa');
    expect(r.closedAfterMs).toBeGreaterThanOrEqual(TIMEOUTS.headersMs - 50);
    expect(r.closedAfterMs).toBeLessThan(TIMEOUTS.headersMs + 1_500);
    expect(r.answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes a connection whose JSON body arrives a byte at a time', async () => {
    const body = JSON.stringify({ subject: 'x'.repeat(500) });
    const r = await slowDrip(
      `POST /v1/orgs/${org.orgId}/tickets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nCookie: gm_session=${owner.cookie}\r\nX-CSRF-Token: ${owner.csrf}\r\n\r\n`,
      body,
    );
    expect(r.closedAfterMs).toBeGreaterThanOrEqual(TIMEOUTS.bodyMs - 50);
    expect(r.closedAfterMs).toBeLessThan(TIMEOUTS.bodyMs + 1_500);
    expect(r.answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes a connection that sends nothing at all', async () => {
    const r = await slowDrip('', '', 60_000);
    expect(r.closedAfterMs).toBeLessThan(TIMEOUTS.idleMs + 1_500);
  });

  it('gives an upload past the body limit until the upload limit, then closes it too', async () => {
    // A slow but steady upload: longer than the JSON body deadline is fine.
    const r = await slowDrip(
      `POST /v1/orgs/${org.orgId}/tickets/${randomUUID()}/attachments?filename=a.txt HTTP/1.1\r\nHost: x\r\n` +
        `Content-Type: text/plain\r\nContent-Length: 100000\r\nCookie: gm_session=${owner.cookie}\r\n` +
        `X-CSRF-Token: ${owner.csrf}\r\n\r\n`,
      'abcdefghij',
      20,
    );
    // Not cut at the JSON body deadline, but by the whole-request (upload) deadline.
    expect(r.closedAfterMs).toBeGreaterThan(TIMEOUTS.uploadMs - 100);
    expect(r.closedAfterMs).toBeLessThan(TIMEOUTS.uploadMs + 2_000);
  });

  it('answers a normal request on a connection that then stays idle, and closes it after keep-alive', async () => {
    const r = await slowDrip('GET /health HTTP/1.1\r\nHost: x\r\n\r\n', '', 60_000);
    expect(r.answer).toMatch(/^HTTP\/1\.1 200/);
    expect(r.closedAfterMs).toBeLessThan(TIMEOUTS.keepAliveMs + 1_500);
  });

  it('leaves an idle live WebSocket open well past every timeout', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/live`, {
      headers: { cookie: `gm_session=${owner.cookie}`, origin: ORIGIN },
    });
    let closed = false;
    ws.on('close', () => {
      closed = true;
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await new Promise((r) => setTimeout(r, TIMEOUTS.idleMs + TIMEOUTS.headersMs + TIMEOUTS.bodyMs + 500));
    expect(closed).toBe(false);
    const pong = new Promise<string>((resolve) => ws.once('message', (m) => resolve(String(m))));
    ws.send(JSON.stringify({ type: 'ping' }));
    expect(JSON.parse(await pong)).toMatchObject({ type: 'pong' });
    ws.close();
  });
});

describe('/metrics exposure', () => {
  const base = { SECRET_KEY: randomBytes(32).toString('base64'), PUBLIC_URL: 'https://gm.example.com' };
  const decide = (env: Record<string, string>) => metricsOnPublicPort(loadConfig({ ...base, ...env }));

  it('serves /metrics on the public port in production only behind METRICS_TOKEN, never with METRICS_PORT', () => {
    expect(decide({ NODE_ENV: 'production' })).toBe(false);
    expect(decide({ NODE_ENV: 'production', METRICS_TOKEN: 't'.repeat(24) })).toBe(true);
    expect(decide({ NODE_ENV: 'production', METRICS_PORT: '9464' })).toBe(false);
    expect(decide({ NODE_ENV: 'production', METRICS_PORT: '9464', METRICS_TOKEN: 't'.repeat(24) })).toBe(
      false,
    );
    expect(decide({ NODE_ENV: 'development' })).toBe(true);
    expect(decide({ NODE_ENV: 'development', METRICS_PORT: '9464' })).toBe(false);
    const config = loadConfig({ ...base, METRICS_PORT: '9464' });
    expect(config.metrics).toEqual({ port: 9464, host: '127.0.0.1' });
  });

  it('answers 404 for /metrics on a public port that does not serve it', async () => {
    const closed = await startTestApi(db.app, { publicMetrics: false });
    try {
      const res = await closed.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(404);
      expect(res.body).not.toMatch(/gamemod_/);
      // The rest of the API is there.
      expect((await closed.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await closed.close();
    }
    expect((await api.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });

  it('serves metrics on their own loopback listener, behind the token when there is one', async () => {
    const open = await startMetricsServer({ host: '127.0.0.1', port: 0, beforeCollect: poolGauge(db.app) });
    try {
      expect(open.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const res = await fetch(open.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/plain/);
      const text = await res.text();
      expect(text).toMatch(/gamemod_process_/);
      expect(text).toMatch(/gamemod_db_pool_connections\{state="total"\}/);
      expect((await fetch(open.url.replace('/metrics', '/health'))).status).toBe(404);
      expect((await fetch(open.url, { method: 'POST' })).status).toBe(404);
    } finally {
      await open.close();
    }
    const token = 'm'.repeat(24);
    const guarded = await startMetricsServer({ host: '127.0.0.1', port: 0, token });
    try {
      expect((await fetch(guarded.url)).status).toBe(401);
      expect((await fetch(guarded.url, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      const ok = await fetch(guarded.url, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toMatch(/gamemod_process_/);
    } finally {
      await guarded.close();
    }
  });
});

describe('failed authentication per client address', () => {
  let limited: TestApi;
  let nextIp = 1;
  const ipOf = () => `198.51.100.${nextIp++}`;
  beforeAll(async () => {
    // Behind a proxy, so each test speaks from an address of its own (X-Forwarded-For).
    limited = await startTestApi(db.app, {
      settings: { trustProxy: true },
      rateLimits: { authFailures: { burst: 3, perMinute: 6 } },
    });
  });
  afterAll(async () => {
    await limited.close();
  });

  const get = (ip: string, who: Caller) =>
    limited.call(who, {
      method: 'GET',
      url: `/v1/orgs/${org.orgId}/tickets`,
      headers: { 'x-forwarded-for': ip },
    });

  it('answers 429 with Retry-After once an address has used up its failures, for tokens and cookies', async () => {
    const ip = ipOf();
    const bad = { token: `gm_deadbeef_${'A'.repeat(43)}` };
    for (let i = 0; i < 3; i++) expect((await get(ip, bad)).statusCode).toBe(401);
    const refused = await get(ip, bad);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe('rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await get(ip, { token: 'not-even-a-token' })).statusCode).toBe(429);
    expect((await get(ip, { cookie: 'x'.repeat(43) })).statusCode).toBe(429);
    // Another address is not affected.
    expect((await get(ipOf(), bad)).statusCode).toBe(401);
  });

  it('counts session cookies that name no session', async () => {
    const ip = ipOf();
    for (let i = 0; i < 3; i++)
      expect((await get(ip, { cookie: randomBytes(32).toString('base64url') })).statusCode).toBe(401);
    expect((await get(ip, { cookie: randomBytes(32).toString('base64url') })).statusCode).toBe(429);
  });

  it("does not lock out valid credentials for someone else's failures more than it must", async () => {
    const ip = ipOf();
    const cached = await limited.tokenFor(db.app, org.orgId, ['tickets:read']);
    const uncached = await limited.tokenFor(db.app, org.orgId, ['tickets:read']);
    const session = await limited.sessionFor(org.ownerId);
    // Used once before the failures: this instance has resolved it.
    expect((await get(ip, cached)).statusCode).toBe(200);
    for (let i = 0; i < 4; i++) await get(ip, { token: `gm_deadbeef_${'B'.repeat(43)}` });
    expect((await get(ip, { token: `gm_deadbeef_${'B'.repeat(43)}` })).statusCode).toBe(429);
    // Sessions and recently resolved tokens pass; a token never seen here waits for one refill.
    expect((await get(ip, session)).statusCode).toBe(200);
    expect((await get(ip, cached)).statusCode).toBe(200);
    const waiting = await get(ip, uncached);
    expect(waiting.statusCode).toBe(429);
    expect(Number(waiting.headers['retry-after'])).toBeLessThanOrEqual(10);
    limited.clock.advance(10_000);
    expect((await get(ip, uncached)).statusCode).toBe(200);
    // The same token from another address was never held up.
    expect((await get(ipOf(), uncached)).statusCode).toBe(200);
  });
});
