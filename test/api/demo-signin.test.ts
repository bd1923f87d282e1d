import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoSignInAllowed } from '../../api/routes/demo-signin.js';
import { seedDemoIfEmpty } from '../../db/seed.js';
import { demoUserId } from '../../db/seed-users.js';
import { loadConfig } from '../../lib/config.js';
import { useTestDb } from '../support/db.js';
import { cookieFrom, errorCode, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let dev: TestApi;
let off: TestApi;
let proxied: TestApi;

beforeAll(async () => {
  await seedDemoIfEmpty(db.app, pino({ level: 'silent' }));
  // The test app turns the demo door on explicitly, as server.ts does in development.
  dev = await startTestApi(db.app, { settings: { demoSignIn: true, cookieSecure: true } });
  off = await startTestApi(db.app);
  proxied = await startTestApi(db.app, { settings: { demoSignIn: true, trustProxy: true } });
}, 60_000);
afterAll(async () => {
  await dev.close();
  await off.close();
  await proxied.close();
});

describe('GET /auth/demo (development, loopback only)', () => {
  it('signs in as the seeded admin: a real session, rotated, audited, then back to /', async () => {
    const before = await dev.sessionFor((await demoUserId(db.app, 'viewer')) as string);
    const res = await dev.app.inject({
      method: 'GET',
      url: '/auth/demo?as=admin',
      remoteAddress: '127.0.0.1',
      headers: { cookie: `gm_session=${before.cookie}` },
    });
    expect(res.statusCode, res.body).toBe(302);
    expect(res.headers.location).toBe('/');
    const cookie = cookieFrom(res, 'gm_session') as string;
    expect(cookie).toBeTruthy();
    expect(cookie).not.toBe(before.cookie);
    // Plain http on loopback: no Secure flag, or the browser would drop the cookie.
    expect(res.cookies.find((c) => c.name === 'gm_session')?.secure).toBeFalsy();
    const session = await dev.call({ cookie }, { method: 'GET', url: '/auth/session' });
    expect(session.json()).toMatchObject({ user: { displayName: 'Sam Admin' }, orgs: [{ role: 'admin' }] });
    // The session this browser had before ended.
    expect((await dev.call(before, { method: 'GET', url: '/auth/session' })).statusCode).toBe(401);
    const audit = await db.admin.query<{ data: { via: string } }>(
      "select data from audit_logs where action = 'user.signed_in' and actor_id = $1",
      [await demoUserId(db.app, 'admin')],
    );
    expect(audit.rows.map((r) => r.data.via)).toEqual(['demo']);
  });

  it('signs in as each seeded role', async () => {
    for (const as of ['owner', 'moderator', 'agent', 'viewer'] as const) {
      const res = await dev.app.inject({ method: 'GET', url: `/auth/demo?as=${as}`, remoteAddress: '::1' });
      expect(res.statusCode, as).toBe(302);
      const session = await dev.call(
        { cookie: cookieFrom(res, 'gm_session') },
        { method: 'GET', url: '/auth/session' },
      );
      expect(session.json()).toMatchObject({ orgs: [{ role: as }] });
    }
    const bad = await dev.app.inject({
      method: 'GET',
      url: '/auth/demo?as=root',
      remoteAddress: '127.0.0.1',
    });
    expect(bad.statusCode).toBe(422);
  });

  it('is refused (404) from another machine, even one that claims 127.0.0.1 through X-Forwarded-For', async () => {
    const remote = await dev.app.inject({
      method: 'GET',
      url: '/auth/demo?as=admin',
      remoteAddress: '203.0.113.9',
    });
    expect(remote.statusCode).toBe(404);
    expect(cookieFrom(remote, 'gm_session')).toBeUndefined();
    const spoofed = await proxied.app.inject({
      method: 'GET',
      url: '/auth/demo?as=admin',
      remoteAddress: '203.0.113.9',
      headers: { 'x-forwarded-for': '127.0.0.1' },
    });
    expect(spoofed.statusCode).toBe(404);
    // A local proxy passing on a remote caller is not local either.
    const viaProxy = await proxied.app.inject({
      method: 'GET',
      url: '/auth/demo?as=admin',
      remoteAddress: '127.0.0.1',
      headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    expect(viaProxy.statusCode).toBe(404);
  });

  it('is refused (404) in production and by default in tests', async () => {
    const base = {
      DATABASE_URL: 'postgres://x@127.0.0.1/x',
      SECRET_KEY: randomBytes(32).toString('base64'),
    };
    expect(demoSignInAllowed(loadConfig({ ...base, NODE_ENV: 'production' }))).toBe(false);
    expect(demoSignInAllowed(loadConfig({ ...base, NODE_ENV: 'test' }))).toBe(false);
    expect(demoSignInAllowed(loadConfig({ ...base, NODE_ENV: 'development' }))).toBe(true);
    expect(
      demoSignInAllowed(loadConfig({ ...base, NODE_ENV: 'development', PUBLIC_URL: 'http://[::1]:3000' })),
    ).toBe(true);
    // A development install published under a real name, behind a proxy on the same machine that
    // adds no forwarding header: every visitor would arrive from loopback.
    expect(
      demoSignInAllowed(
        loadConfig({ ...base, NODE_ENV: 'development', PUBLIC_URL: 'https://support.example.com' }),
      ),
    ).toBe(false);
    const res = await off.app.inject({
      method: 'GET',
      url: '/auth/demo?as=admin',
      remoteAddress: '127.0.0.1',
    });
    expect(res.statusCode).toBe(404);
    expect(cookieFrom(res, 'gm_session')).toBeUndefined();
  });
});

describe('GET /auth/discord/login without Discord settings', () => {
  it('answers 501 not_configured naming the settings to set', async () => {
    const res = await off.call(null, { method: 'GET', url: '/auth/discord/login' });
    expect(res.statusCode).toBe(501);
    expect(errorCode(res)).toBe('not_configured');
    const message = (res.json() as { error: { message: string } }).error.message;
    expect(message).toContain('DISCORD_APPLICATION_ID');
    expect(message).toContain('DISCORD_CLIENT_SECRET');
  });
});
