import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInvite } from '../../db/invites.js';
import { withTenant } from '../../db/tenant.js';
import { useTestDb } from '../support/db.js';
import { FakeDiscord } from '../support/fake-discord/index.js';
import { makeOrg } from '../support/fixtures.js';
import { type Caller, cookieFrom, errorCode, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let fake: FakeDiscord;
const PUBLIC_URL = 'http://127.0.0.1:3000';

beforeAll(async () => {
  fake = await new FakeDiscord({ redirectUris: [`${PUBLIC_URL}/auth/discord/callback`] }).listen();
  api = await startTestApi(db.app, {
    settings: {
      publicUrl: PUBLIC_URL,
      discord: { apiUrl: `${fake.url}/api`, clientId: fake.applicationId, clientSecret: fake.clientSecret },
    },
  });
});
afterAll(async () => {
  await api.close();
  await fake.close();
});

/** Starts a login; returns the state, the browser-binding cookie and Discord's authorize URL. */
async function startLogin(returnTo = '/panel/') {
  const res = await api.call(null, {
    method: 'GET',
    url: `/auth/discord/login?returnTo=${encodeURIComponent(returnTo)}`,
  });
  expect(res.statusCode, res.body).toBe(302);
  const authorize = new URL(String(res.headers.location));
  return {
    authorize,
    state: authorize.searchParams.get('state') ?? '',
    binding: cookieFrom(res, 'gm_login') ?? '',
  };
}

/** Plays the user clicking "Authorize" at the fake Discord; returns the code. */
async function approve(authorize: URL, discordUserId: string) {
  fake.oauth2.authorizeAs(discordUserId);
  const res = await fetch(authorize, { redirect: 'manual' });
  expect(res.status).toBe(302);
  const back = new URL(res.headers.get('location') ?? '');
  return back.searchParams.get('code') ?? '';
}

const callback = (state: string, code: string, binding?: string) =>
  api.call(null, {
    method: 'GET',
    url: `/auth/discord/callback?state=${state}&code=${code}`,
    headers: binding ? { cookie: `gm_login=${binding}` } : {},
  });

async function login(discordUserId: string): Promise<Caller> {
  const { authorize, state, binding } = await startLogin();
  const code = await approve(authorize, discordUserId);
  const res = await callback(state, code, binding);
  expect(res.statusCode, res.body).toBe(302);
  expect(res.headers.location).toBe('/panel/');
  const cookie = cookieFrom(res, 'gm_session') ?? '';
  const session = await api.call({ cookie }, { method: 'GET', url: '/auth/session' });
  return { cookie, csrf: session.json().csrfToken };
}

describe('Discord login (authorization code + PKCE S256)', () => {
  it('sends S256 PKCE and a state, then signs in, creating and linking the user on first login', async () => {
    const person = fake.addUser({ username: 'mod_alice' });
    const { authorize } = await startLogin();
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const me = await login(person.id);
    const session = await api.call(me, { method: 'GET', url: '/auth/session' });
    expect(session.json().user.displayName).toBe('mod_alice');
    const linked = await db.admin.query('select user_id from discord_accounts where discord_user_id = $1', [
      person.id,
    ]);
    expect(linked.rowCount).toBe(1);
    // A second login links to the same user.
    const again = await login(person.id);
    const s2 = await api.call(again, { method: 'GET', url: '/auth/session' });
    expect(s2.json().user.id).toBe(session.json().user.id);
  });

  it('refuses an unknown state, a state from another browser, a replayed state and a replayed code', async () => {
    const person = fake.addUser({ username: 'mallory' });
    const { authorize, state, binding } = await startLogin();
    const code = await approve(authorize, person.id);

    const unknown = await callback('x'.repeat(43), code, binding);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.details.reason).toBe('invalid_state');

    const other = await startLogin();
    const otherCode = await approve(other.authorize, person.id);
    const stolen = await callback(other.state, otherCode, binding);
    expect(stolen.statusCode).toBe(400);
    expect(stolen.json().error.details.reason).toBe('state_not_bound');

    expect((await callback(state, code, binding)).statusCode).toBe(302);
    const replayedState = await callback(state, code, binding);
    expect(replayedState.statusCode).toBe(400);

    // The same code under a fresh, correctly bound state: Discord refuses a used code.
    const fresh = await startLogin();
    const replayedCode = await callback(fresh.state, code, fresh.binding);
    expect(replayedCode.statusCode).toBe(400);
    expect(replayedCode.json().error.details.reason).toBe('invalid_grant');
  });

  it('refuses a wrong PKCE verifier (the stored login was tampered with)', async () => {
    const person = fake.addUser({ username: 'eve' });
    const { authorize, state, binding } = await startLogin();
    const code = await approve(authorize, person.id);
    const key = `gm:oauth:${state}`;
    const stored = JSON.parse((await api.redis.get(key)) ?? '{}');
    await api.redis.set(key, JSON.stringify({ ...stored, verifier: 'w'.repeat(43) }), 'EX', 60);
    const res = await callback(state, code, binding);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.reason).toBe('invalid_grant');
    expect(cookieFrom(res, 'gm_session')).toBeUndefined();
  });

  it('refuses open redirects and reports a denied authorization', async () => {
    const res = await api.call(null, { method: 'GET', url: '/auth/discord/login?returnTo=//evil.example' });
    expect(res.statusCode).toBe(422);
    const { state, binding } = await startLogin();
    const denied = await api.call(null, {
      method: 'GET',
      url: `/auth/discord/callback?state=${state}&error=access_denied`,
      headers: { cookie: `gm_login=${binding}` },
    });
    expect(denied.statusCode).toBe(400);
    expect(denied.json().error.details.reason).toBe('access_denied');
  });

  it('joins the orgs that invited the Discord account at its first sign-in', async () => {
    const org = await makeOrg(db.app, 'Inviter');
    const person = fake.addUser({ username: 'new_mod' });
    await withTenant(db.app, org.orgId, (tx) =>
      createInvite(tx, { role: 'moderator', discordUserId: person.id }, org.owner),
    );
    const me = await login(person.id);
    const session = await api.call(me, { method: 'GET', url: '/auth/session' });
    expect(session.json().orgs).toEqual([{ id: org.orgId, name: 'Inviter', role: 'moderator' }]);
  });
});

describe('sessions', () => {
  it('rotates the session id at login: the old cookie is dead afterwards', async () => {
    const person = fake.addUser({ username: 'rotator' });
    const first = await login(person.id);
    const { authorize, state, binding } = await startLogin();
    const code = await approve(authorize, person.id);
    const res = await api.call(null, {
      method: 'GET',
      url: `/auth/discord/callback?state=${state}&code=${code}`,
      headers: { cookie: `gm_login=${binding}; gm_session=${first.cookie}` },
    });
    const second = cookieFrom(res, 'gm_session');
    expect(second).toBeDefined();
    expect(second).not.toBe(first.cookie);
    expect((await api.call(first, { method: 'GET', url: '/auth/session' })).statusCode).toBe(401);
    expect((await api.call({ cookie: second }, { method: 'GET', url: '/auth/session' })).statusCode).toBe(
      200,
    );
  });

  it('expires after the idle timeout and after the absolute lifetime, even when in use', async () => {
    const person = fake.addUser({ username: 'sleepy' });
    const idle = await login(person.id);
    api.clock.advance(api.app.settings.sessionIdleSeconds * 1000 + 1000);
    expect((await api.call(idle, { method: 'GET', url: '/auth/session' })).statusCode).toBe(401);

    // Used every half idle period, it lives exactly until its absolute lifetime and no longer.
    const busy = await login(person.id);
    const step = (api.app.settings.sessionIdleSeconds * 1000) / 2;
    const absolute = api.app.settings.sessionAbsoluteSeconds * 1000;
    const statuses = new Set<number>();
    for (let t = step; t < absolute; t += step) {
      api.clock.advance(step);
      statuses.add((await api.call(busy, { method: 'GET', url: '/auth/session' })).statusCode);
    }
    expect([...statuses]).toEqual([200]);
    api.clock.advance(step);
    expect((await api.call(busy, { method: 'GET', url: '/auth/session' })).statusCode).toBe(401);
  });

  it('logs out one session, and everywhere', async () => {
    const person = fake.addUser({ username: 'leaver' });
    const a = await login(person.id);
    const b = await login(person.id);
    const c = await login(person.id);
    expect((await api.call(a, { method: 'POST', url: '/auth/logout' })).statusCode).toBe(200);
    expect((await api.call(a, { method: 'GET', url: '/auth/session' })).statusCode).toBe(401);
    expect((await api.call(b, { method: 'GET', url: '/auth/session' })).statusCode).toBe(200);
    const all = await api.call(b, { method: 'POST', url: '/auth/logout-everywhere' });
    expect(all.json()).toEqual({ ok: true, ended: 2 });
    expect((await api.call(c, { method: 'GET', url: '/auth/session' })).statusCode).toBe(401);
  });

  it('requires the CSRF token on cookie-authenticated writes', async () => {
    const person = fake.addUser({ username: 'csrf' });
    const me = await login(person.id);
    const res = await api.call({ cookie: me.cookie }, { method: 'POST', url: '/auth/logout' });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.details.reason).toBe('csrf');
    const wrong = await api.call(
      { cookie: me.cookie, csrf: 'nope' },
      { method: 'POST', url: '/auth/logout' },
    );
    expect(wrong.statusCode).toBe(403);
  });

  it('keeps the session cookie httpOnly, Secure and SameSite', async () => {
    const person = fake.addUser({ username: 'cookie' });
    const { authorize, state, binding } = await startLogin();
    const res = await callback(state, await approve(authorize, person.id), binding);
    const c = res.cookies.find((x) => x.name === 'gm_session');
    expect(c).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/' });
    expect(Buffer.from(c?.value ?? '', 'base64url').length).toBe(32);
  });
});

describe('TOTP', () => {
  const codeAt = (secret: string, ms: number) => generate({ secret, epoch: Math.floor(ms / 1000) });

  it('enrols, confirms with recovery codes, demands the code at the next login, and takes each code once', async () => {
    const person = fake.addUser({ username: 'secure_sam' });
    const me = await login(person.id);
    const enrol = await api.call(me, { method: 'POST', url: '/auth/totp/enrol' });
    expect(enrol.statusCode, enrol.body).toBe(200);
    const { secret, otpauthUri, qrSvg } = enrol.json();
    expect(otpauthUri).toMatch(/^otpauth:\/\/totp\//);
    expect(qrSvg).toContain('<svg');

    const confirm = await api.call(me, {
      method: 'POST',
      url: '/auth/totp/confirm',
      payload: { code: await codeAt(secret, api.clock.ms) },
    });
    expect(confirm.statusCode, confirm.body).toBe(200);
    const recovery: string[] = confirm.json().recoveryCodes;
    expect(recovery).toHaveLength(10);
    const stored = await db.admin.query(
      'select recovery_code_hashes from user_totp t join discord_accounts d on d.user_id = t.user_id where d.discord_user_id = $1',
      [person.id],
    );
    expect(stored.rows[0].recovery_code_hashes).not.toContain(recovery[0]);

    // Next sign-in: the session owes the second factor and can do nothing else.
    const pending = await login(person.id);
    expect((await api.call(pending, { method: 'GET', url: '/auth/session' })).json().mfa).toBe('pending');
    expect((await api.call(pending, { method: 'GET', url: '/v1/me/orgs' })).statusCode).toBe(401);

    api.clock.advance(30_000);
    const code = await codeAt(secret, api.clock.ms);
    const ok = await api.call(pending, { method: 'POST', url: '/auth/totp/verify', payload: { code } });
    expect(ok.statusCode, ok.body).toBe(200);
    const rotated = cookieFrom(ok, 'gm_session');
    expect(rotated).not.toBe(pending.cookie);
    const verified = {
      cookie: rotated,
      csrf: (await api.call({ cookie: rotated }, { method: 'GET', url: '/auth/session' })).json().csrfToken,
    };
    expect((await api.call(verified, { method: 'GET', url: '/v1/me/orgs' })).statusCode).toBe(200);

    // The same code again (another login) is refused: single use.
    const other = await login(person.id);
    const replay = await api.call(other, { method: 'POST', url: '/auth/totp/verify', payload: { code } });
    expect(replay.statusCode).toBe(401);
    // A recovery code works once.
    const rec = await api.call(other, {
      method: 'POST',
      url: '/auth/totp/verify',
      payload: { recoveryCode: recovery[0] },
    });
    expect(rec.statusCode).toBe(200);
    const third = await login(person.id);
    const recAgain = await api.call(third, {
      method: 'POST',
      url: '/auth/totp/verify',
      payload: { recoveryCode: recovery[0] },
    });
    expect(recAgain.statusCode).toBe(401);
  });

  it('stops guessing after five wrong codes', async () => {
    const person = fake.addUser({ username: 'guesser' });
    const me = await login(person.id);
    const { secret } = (await api.call(me, { method: 'POST', url: '/auth/totp/enrol' })).json();
    await api.call(me, {
      method: 'POST',
      url: '/auth/totp/confirm',
      payload: { code: await codeAt(secret, api.clock.ms) },
    });
    const pending = await login(person.id);
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      const r = await api.call(pending, {
        method: 'POST',
        url: '/auth/totp/verify',
        payload: { code: '000000' },
      });
      statuses.push(r.statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    api.clock.advance(31_000);
    const right = await api.call(pending, {
      method: 'POST',
      url: '/auth/totp/verify',
      payload: { code: await codeAt(secret, api.clock.ms) },
    });
    expect(errorCode(right)).toBe('rate_limited');
  });

  it("records sign-ins and second-factor changes in the audit log of each of the person's orgs", async () => {
    const org = await makeOrg(db.app, 'Watchful');
    const person = fake.addUser({ username: 'audited_ann' });
    await withTenant(db.app, org.orgId, (tx) =>
      createInvite(tx, { role: 'agent', discordUserId: person.id }, org.owner),
    );
    const me = await login(person.id);
    const { secret } = (await api.call(me, { method: 'POST', url: '/auth/totp/enrol' })).json();
    await api.call(me, {
      method: 'POST',
      url: '/auth/totp/confirm',
      payload: { code: await codeAt(secret, api.clock.ms) },
    });
    const actions = await db.admin.query(
      `select a.action from audit_logs a join discord_accounts d on d.user_id = a.actor_id
       where a.org_id = $1 and d.discord_user_id = $2 order by a.id`,
      [org.orgId, person.id],
    );
    expect(actions.rows.map((r) => r.action)).toEqual([
      'member.added',
      'user.signed_in',
      'user.totp_enabled',
    ]);
  });

  it('an org that requires TOTP refuses staff who have not passed it', async () => {
    const person = fake.addUser({ username: 'lax_larry' });
    const me = await login(person.id);
    const created = await api.call(me, {
      method: 'POST',
      url: '/v1/orgs',
      payload: { name: 'Strict', slug: `strict-${person.id.slice(-6)}` },
    });
    expect(created.statusCode, created.body).toBe(201);
    const orgId = created.json().id;
    const on = await api.call(me, {
      method: 'PATCH',
      url: `/v1/orgs/${orgId}`,
      payload: { requireTotp: true },
    });
    expect(on.statusCode, on.body).toBe(200);
    const res = await api.call(me, { method: 'GET', url: `/v1/orgs/${orgId}/tickets` });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.details.reason).toBe('totp_required');
  });
});
