import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from '../../db/memberships.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import {
  clientCredentials,
  confidential,
  consentCode,
  creds,
  exchange,
  expectOAuthError,
  oauthPost,
  pkce,
  REDIRECT,
  type Registered,
  refreshGrant,
  registerClient,
  startOAuthApi,
} from './oauth-support.js';
import type { Caller, TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let a: OrgFixture;
let b: OrgFixture;
let ownerA: Caller;
let ownerB: Caller;
let backend: Registered;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const tickets = (orgId: string) => `/v1/orgs/${orgId}/tickets`;

beforeAll(async () => {
  ({
    api,
    org: a,
    owner: ownerA,
    client: backend,
  } = await startOAuthApi(db.app, ['tickets:read', 'tickets:write', 'players:read']));
  b = await makeOrg(db.app, 'Beta');
  ownerB = await api.sessionFor(b.ownerId);
});
afterAll(() => api?.close());

describe('client_credentials', () => {
  it('issues a 15-minute bearer token, with Basic or form credentials, that the scope checks limit', async () => {
    const basic = await oauthPost(
      api,
      'token',
      { grant_type: 'client_credentials', scope: 'tickets:read' },
      { id: backend.clientId, secret: backend.clientSecret as string },
    );
    expect(basic.statusCode, basic.body).toBe(200);
    expect(basic.headers['cache-control']).toBe('no-store');
    const t = basic.json();
    expect(t).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'tickets:read' });
    expect(t.access_token).toMatch(/^gmo_/);
    expect(t.refresh_token).toBeUndefined();
    const bearer = { token: t.access_token as string };
    expect((await api.call(bearer, { method: 'GET', url: tickets(a.orgId) })).statusCode).toBe(200);
    const write = await api.call(bearer, {
      method: 'POST',
      url: tickets(a.orgId),
      payload: { subject: 'no', origin: 'api' },
    });
    expect(write.statusCode).toBe(403);
    expect(write.json().error.details.reason).toBe('insufficient_scope');
    const me = await api.call(bearer, { method: 'GET', url: '/v1/me' });
    expect(me.json()).toMatchObject({
      kind: 'token',
      name: 'Studio backend',
      orgId: a.orgId,
      scopes: ['tickets:read'],
    });

    const post = await clientCredentials(api, backend);
    expect(post.statusCode, post.body).toBe(200);
    expect(post.json().scope).toBe('players:read tickets:read tickets:write');
  });

  it('refuses scopes wider than the client’s, unknown scopes, wrong secrets and other clients', async () => {
    expectOAuthError(
      await clientCredentials(api, backend, { scope: 'webhooks:manage' }),
      400,
      'invalid_scope',
    );
    expectOAuthError(await clientCredentials(api, backend, { scope: 'everything' }), 400, 'invalid_scope');
    const wrongSecret = await oauthPost(
      api,
      'token',
      { grant_type: 'client_credentials' },
      { id: backend.clientId, secret: `${(backend.clientSecret as string).slice(0, -2)}xx` },
    );
    expectOAuthError(wrongSecret, 401, 'invalid_client');
    expect(wrongSecret.headers['www-authenticate']).toContain('Basic');
    expectOAuthError(
      await oauthPost(api, 'token', { grant_type: 'client_credentials', client_id: backend.clientId }),
      400,
      'invalid_client',
    );
    expectOAuthError(
      await oauthPost(api, 'token', {
        grant_type: 'client_credentials',
        client_id: 'gmc_0123',
        client_secret: 'x',
      }),
      400,
      'invalid_client',
    );
    const cli = await registerClient(api, ownerA, a.orgId, {
      name: 'CLI',
      kind: 'public',
      scopes: ['tickets:read'],
      redirectUris: [REDIRECT],
    });
    expectOAuthError(await clientCredentials(api, cli), 400, 'unauthorized_client');
  });

  it('speaks only form-encoded RFC 6749 with §5.2 errors', async () => {
    const json = await api.app.inject({
      method: 'POST',
      url: '/v1/oauth/token',
      payload: { grant_type: 'client_credentials', ...creds(backend) },
    });
    expectOAuthError(json, 400, 'invalid_request');
    expectOAuthError(await oauthPost(api, 'token', { ...creds(backend) }), 400, 'invalid_request');
    expectOAuthError(
      await oauthPost(api, 'token', { grant_type: 'password', ...creds(backend) }),
      400,
      'unsupported_grant_type',
    );
    const twice = await api.app.inject({
      method: 'POST',
      url: '/v1/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=client_credentials&client_id=${backend.clientId}&client_id=${backend.clientId}`,
    });
    expectOAuthError(twice, 400, 'invalid_request');
  });

  it('expires the access token on the app’s clock', async () => {
    const t = (await clientCredentials(api, backend)).json();
    const bearer = { token: t.access_token as string };
    expect((await api.call(bearer, { method: 'GET', url: tickets(a.orgId) })).statusCode).toBe(200);
    api.clock.advance(15 * MINUTE + 1000);
    expect((await api.call(bearer, { method: 'GET', url: tickets(a.orgId) })).statusCode).toBe(401);
  });

  it('keeps a client in its own organization: another org’s routes and clients answer as strangers', async () => {
    const t = (await clientCredentials(api, backend)).json();
    const bearer = { token: t.access_token as string };
    const other = await api.call(bearer, { method: 'GET', url: tickets(b.orgId) });
    expect(other.statusCode).toBe(404);
    const theirs = await confidential(api, ownerB, b.orgId, ['tickets:read']);
    // Org A's secret with org B's client id (and the other way round) authenticates no one.
    expectOAuthError(
      await oauthPost(api, 'token', {
        grant_type: 'client_credentials',
        client_id: theirs.clientId,
        client_secret: backend.clientSecret as string,
      }),
      400,
      'invalid_client',
    );
  });
});

describe('authorization_code and refresh_token', () => {
  it('trades a code once, with the PKCE verifier, for a token acting for the staff member', async () => {
    const { code, verifier } = await consentCode(api, ownerA, backend, 'tickets:read');
    const t = await exchange(api, backend, code, verifier);
    expect(t.scope).toBe('tickets:read');
    expect(t.refresh_token).toMatch(/^gmr_/);
    expect(
      (await api.call({ token: t.access_token }, { method: 'GET', url: tickets(a.orgId) })).statusCode,
    ).toBe(200);
    // The same code again: refused, and the grant it was exchanged for is revoked (§4.1.2).
    const again = await oauthPost(api, 'token', {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
      ...creds(backend),
    });
    expectOAuthError(again, 400, 'invalid_grant');
    expect(
      (await api.call({ token: t.access_token }, { method: 'GET', url: tickets(a.orgId) })).statusCode,
    ).toBe(401);
  });

  it('refuses a wrong verifier, another redirect URI, another client and an expired code', async () => {
    const other = await confidential(api, ownerA, a.orgId, ['tickets:read']);
    const cases: Array<[string, (c: { code: string; verifier: string }) => Record<string, string>]> = [
      [
        'pkce mismatch',
        (c) => ({ code: c.code, code_verifier: pkce().verifier, redirect_uri: REDIRECT, ...creds(backend) }),
      ],
      [
        'no verifier',
        (c) => ({ code: c.code, code_verifier: '', redirect_uri: REDIRECT, ...creds(backend) }),
      ],
      [
        'redirect',
        (c) => ({
          code: c.code,
          code_verifier: c.verifier,
          redirect_uri: `${REDIRECT}/x`,
          ...creds(backend),
        }),
      ],
      [
        'wrong client',
        (c) => ({ code: c.code, code_verifier: c.verifier, redirect_uri: REDIRECT, ...creds(other) }),
      ],
    ];
    for (const [what, form] of cases) {
      const c = await consentCode(api, ownerA, backend, 'tickets:read');
      const res = await oauthPost(api, 'token', { grant_type: 'authorization_code', ...form(c) });
      expect(res.statusCode, `${what}: ${res.body}`).toBe(400);
      expect(['invalid_grant', 'invalid_request']).toContain(res.json().error);
      // A failed attempt uses the code up: the right verifier can't follow it.
      const retry = await oauthPost(api, 'token', {
        grant_type: 'authorization_code',
        code: c.code,
        code_verifier: c.verifier,
        redirect_uri: REDIRECT,
        ...creds(backend),
      });
      if (what !== 'no verifier') expectOAuthError(retry, 400, 'invalid_grant');
    }
    const late = await consentCode(api, ownerA, backend, 'tickets:read');
    api.clock.advance(61_000);
    expectOAuthError(
      await oauthPost(api, 'token', {
        grant_type: 'authorization_code',
        code: late.code,
        code_verifier: late.verifier,
        redirect_uri: REDIRECT,
        ...creds(backend),
      }),
      400,
      'invalid_grant',
    );
  });

  it('rotates the refresh token on every use; a reused one revokes the family and its new access token', async () => {
    const { code, verifier } = await consentCode(api, ownerA, backend, 'tickets:read tickets:write');
    const first = await exchange(api, backend, code, verifier);
    const refresh = (token: string, extra: Record<string, string> = {}) =>
      refreshGrant(api, backend, token, extra);
    const second = await refresh(first.refresh_token as string);
    expect(second.statusCode, second.body).toBe(200);
    const s = second.json();
    expect(s.refresh_token).not.toBe(first.refresh_token);
    expect(s.scope).toBe('tickets:read tickets:write');
    // Narrowing on refresh is allowed; widening is not.
    const narrowed = await refresh(s.refresh_token, { scope: 'tickets:read' });
    expect(narrowed.json().scope).toBe('tickets:read');
    const n = narrowed.json();
    expectOAuthError(await refresh(n.refresh_token, { scope: 'players:read' }), 400, 'invalid_scope');
    const newest = { token: n.access_token as string };
    expect((await api.call(newest, { method: 'GET', url: tickets(a.orgId) })).statusCode).toBe(200);

    // The first refresh token, used already, comes back: someone holds a copy.
    expectOAuthError(await refresh(first.refresh_token as string), 400, 'invalid_grant');
    expect((await api.call(newest, { method: 'GET', url: tickets(a.orgId) })).statusCode).toBe(401);
    expectOAuthError(await refresh(n.refresh_token), 400, 'invalid_grant');
    const audit = await api.call(ownerA, {
      method: 'GET',
      url: `/v1/orgs/${a.orgId}/audit?action=oauth_grant.reuse_detected`,
    });
    expect(audit.statusCode, audit.body).toBe(200);
    expect(audit.body).toContain('refresh_reuse');
  });

  it('a member removed loses the grants they gave for good (audited): coming back needs a new consent', async () => {
    const staff = await createUser(db.app, { displayName: 'Leaving moderator' });
    const join = () =>
      withTenant(db.app, a.orgId, (tx) => addMember(tx, { userId: staff.id, role: 'admin' }, a.owner));
    await join();
    const { code, verifier } = await consentCode(
      api,
      await api.sessionFor(staff.id),
      backend,
      'tickets:read',
    );
    const t = await exchange(api, backend, code, verifier);
    const bearer = { token: t.access_token };
    expect((await api.call(bearer, { method: 'GET', url: tickets(a.orgId) })).statusCode).toBe(200);

    const removed = await api.call(ownerA, {
      method: 'DELETE',
      url: `/v1/orgs/${a.orgId}/members/${staff.id}`,
    });
    expect(removed.statusCode, removed.body).toBe(200);
    expect((await api.call(bearer, { method: 'GET', url: tickets(a.orgId) })).statusCode).toBe(401);
    await join();
    expect((await api.call(bearer, { method: 'GET', url: tickets(a.orgId) })).statusCode).toBe(401);
    expectOAuthError(await refreshGrant(api, backend, t.refresh_token as string), 400, 'invalid_grant');
    const audit = await api.call(ownerA, {
      method: 'GET',
      url: `/v1/orgs/${a.orgId}/audit?action=oauth_grant.revoked`,
    });
    expect(audit.statusCode, audit.body).toBe(200);
    expect(audit.body).toContain('member_removed');
  });

  it('a refresh token is bound to its client', async () => {
    const other = await confidential(api, ownerA, a.orgId, ['tickets:read']);
    const { code, verifier } = await consentCode(api, ownerA, backend, 'tickets:read');
    const t = await exchange(api, backend, code, verifier);
    expectOAuthError(await refreshGrant(api, other, t.refresh_token as string), 400, 'invalid_grant');
    // The rightful client still can.
    const ok = await refreshGrant(api, backend, t.refresh_token as string);
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it('ends a refresh token after its idle time, and the grant after its absolute lifetime', async () => {
    const refresh = (token: string) => refreshGrant(api, backend, token);
    // Earlier tests moved the clock past the fixture session's lifetime.
    const staff = await api.sessionFor(a.ownerId);
    const idle = await consentCode(api, staff, backend, 'tickets:read');
    const idleTokens = await exchange(api, backend, idle.code, idle.verifier);
    api.clock.advance(14 * DAY + MINUTE);
    expectOAuthError(await refresh(idleTokens.refresh_token as string), 400, 'invalid_grant');

    const abs = await consentCode(api, await api.sessionFor(a.ownerId), backend, 'tickets:read');
    let current = (await exchange(api, backend, abs.code, abs.verifier)).refresh_token as string;
    // Used every 13 days, it never idles out, but it stops at 90 days from the consent.
    for (let day = 13; day < 90; day += 13) {
      api.clock.advance(13 * DAY);
      const res = await refresh(current);
      expect(res.statusCode, `day ${day}: ${res.body}`).toBe(200);
      current = res.json().refresh_token;
    }
    api.clock.advance(13 * DAY);
    expectOAuthError(await refresh(current), 400, 'invalid_grant');
  });
});
