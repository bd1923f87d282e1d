import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ApiSettings } from '../../api/context.js';
import type { RateLimits } from '../../api/plugins/rate-limit.js';
import { downgradeVerifiedSessions } from '../../api/sessions.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

/** How a live socket weighs on sign-in limits and on the session it was opened with. */
const db = useTestDb();
const ORIGIN = 'http://127.0.0.1:3000';
let api: TestApi | undefined;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await api?.close();
  api = undefined;
});

async function listening(opts: { rateLimits?: Partial<RateLimits>; settings?: Partial<ApiSettings> }) {
  const a = await startTestApi(db.app, opts);
  await a.app.listen({ host: '127.0.0.1', port: 0 });
  api = a;
  return { api: a, port: (a.app.server.address() as AddressInfo).port };
}

/** Opens /v1/live with `who`'s cookie; resolves with the HTTP status of the upgrade (101 when open). */
function open(port: number, who: Caller, localAddress?: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/live`, {
    headers: { cookie: `gm_session=${who.cookie}`, origin: ORIGIN },
    ...(localAddress ? { localAddress } : {}),
  });
  sockets.push(ws);
  ws.on('error', () => {});
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  const status = new Promise<number>((resolve) => {
    ws.once('open', () => resolve(101));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
  });
  return { ws, status, closed };
}

/** A loopback address of this test alone: rate-limit buckets live in the Redis all files share. */
const uniqueLoopback = () =>
  `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;

describe('live sockets', () => {
  it('reconnecting sockets of an office behind one address do not use up its sign-in limit', async () => {
    const { api: a, port } = await listening({ rateLimits: { auth: { burst: 10, perMinute: 20 } } });
    const office = uniqueLoopback();
    const colleagues = await Promise.all(
      Array.from({ length: 15 }, async (_, i) => {
        const user = await createUser(db.app, { displayName: `Colleague ${i}` });
        return a.sessionFor(user.id);
      }),
    );
    // After a deploy every open panel reconnects at once.
    const statuses = await Promise.all(colleagues.map((c) => open(port, c, office).status));
    expect(
      statuses.filter((s) => s !== 101),
      'live reconnects refused',
    ).toEqual([]);
    const signIn = await a.app.inject({ method: 'GET', url: '/auth/discord/login', remoteAddress: office });
    expect(signIn.statusCode, 'the next sign-in from the office').not.toBe(429);
  });

  it('a failed upgrade still counts against the address', async () => {
    const { port } = await listening({ rateLimits: { authFailures: { burst: 3, perMinute: 1 } } });
    const guesser = uniqueLoopback();
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(await open(port, { cookie: `no-such-session-${'x'.repeat(30)}${i}` }, guesser).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('an open socket does not keep an idle session alive', async () => {
    const { api: a, port } = await listening({ settings: { liveRecheckMs: 50 } });
    const user = await createUser(db.app, { displayName: 'Left the tab open' });
    const withSocket = await a.sessionFor(user.id);
    const control = await a.sessionFor(user.id);
    const live = open(port, withSocket);
    expect(await live.status).toBe(101);
    let closedWith: number | null = null;
    live.closed.then((code) => {
      closedWith = code;
    });
    for (let h = 0; h < 10; h++) {
      a.clock.advance(3_600_000);
      await new Promise((r) => setTimeout(r, 200));
    }
    const rest = (who: Caller) => a.call(who, { method: 'GET', url: '/auth/session' });
    expect((await rest(control)).statusCode, 'a session nobody used for 10 hours').toBe(401);
    expect(closedWith, 'the socket of a session idle for 10 hours').toBe(4001);
    expect((await rest(withSocket)).statusCode, 'REST with the idle session behind the socket').toBe(401);
  });

  it('a socket following an org that requires TOTP closes once the person has turned TOTP off', async () => {
    const { api: a, port } = await listening({ settings: { liveRecheckMs: 50 } });
    const org = await makeOrg(db.app, 'Strict live');
    await db.admin.query('update organizations set require_totp = true where id = $1', [org.orgId]);
    const live = open(port, await a.sessionFor(org.ownerId, 'verified'));
    expect(await live.status).toBe(101);
    const subscribed = new Promise<void>((r) =>
      live.ws.on('message', (m) => {
        if (JSON.parse(String(m)).type === 'subscribed') r();
      }),
    );
    live.ws.send(JSON.stringify({ type: 'subscribe', orgId: org.orgId }));
    await subscribed;
    // What DELETE /auth/totp does to the person's sessions.
    await downgradeVerifiedSessions(a.redis, org.ownerId);
    const code = await Promise.race([
      live.closed,
      new Promise((r) => setTimeout(() => r('still open'), 2000)),
    ]);
    expect(code, 'the socket of a session that no longer passed TOTP').toBe(4003);
  });
});
