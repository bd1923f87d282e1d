import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, changeRole } from '../../db/memberships.js';
import { createRole } from '../../db/roles.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import {
  authorizeUrl,
  consentCode,
  decide,
  exchange,
  openConsent,
  pkce,
  REDIRECT,
  type Registered,
  redirectQuery,
  registerClient,
} from './oauth-support.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let a: OrgFixture;
let b: OrgFixture;
let ownerA: Caller;
let client: Registered;
let viewerId: string;
let viewer: Caller;

const params = (over: Record<string, string> = {}) => ({
  response_type: 'code',
  client_id: client.clientId,
  redirect_uri: REDIRECT,
  scope: 'tickets:read',
  state: 'xyz',
  code_challenge: pkce().challenge,
  code_challenge_method: 'S256',
  ...over,
});

beforeAll(async () => {
  api = await startTestApi(db.app);
  a = await makeOrg(db.app, 'Alpha');
  b = await makeOrg(db.app, 'Beta');
  ownerA = await api.sessionFor(a.ownerId);
  client = await registerClient(api, ownerA, a.orgId, {
    name: 'Helper <b>bot</b>',
    kind: 'public',
    scopes: ['tickets:read', 'tickets:write'],
    redirectUris: [REDIRECT],
  });
  const v = await createUser(db.app, { displayName: 'Viewer' });
  viewerId = v.id;
  await withTenant(db.app, a.orgId, (tx) => addMember(tx, { userId: v.id, role: 'viewer' }, a.owner));
  viewer = await api.sessionFor(v.id);
});
afterAll(() => api?.close());

describe('the consent page', () => {
  it('is a script-free page that can’t be framed, naming the client (escaped), org and scopes', async () => {
    const { page, request } = await openConsent(api, ownerA, params());
    expect(page.statusCode).toBe(200);
    expect(request).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action 'self' https://app.example.test");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.body).toContain('Helper &lt;b&gt;bot&lt;/b&gt;');
    expect(page.body).not.toContain('<b>bot</b>');
    expect(page.body).toContain('Alpha');
    expect(page.body).toContain('tickets:read');
    expect(page.body).not.toContain('<script');
  });

  it('sends a visitor without a session to sign in, and back here after', async () => {
    const res = await api.call(null, { method: 'GET', url: authorizeUrl(params()) });
    expect(res.statusCode).toBe(302);
    const to = new URL(String(res.headers.location), 'http://x');
    expect(to.pathname).toBe('/auth/discord/login');
    expect(to.searchParams.get('returnTo')).toMatch(/^\/v1\/oauth\/authorize\?/);
  });

  it('never redirects to an unknown client or an unregistered redirect URI', async () => {
    const unknown = await api.call(ownerA, {
      method: 'GET',
      url: authorizeUrl(params({ client_id: 'gmc_nope' })),
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.headers.location).toBeUndefined();
    for (const uri of [`${REDIRECT}/other`, 'https://evil.example/callback', `${REDIRECT}?x=1`]) {
      const res = await api.call(ownerA, { method: 'GET', url: authorizeUrl(params({ redirect_uri: uri })) });
      expect(res.statusCode, uri).toBe(400);
      expect(res.headers.location).toBeUndefined();
    }
  });

  it('requires PKCE with S256, response_type=code and scopes within the client’s', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ code_challenge_method: 'plain' }, 'invalid_request'],
      [{ code_challenge: '' }, 'invalid_request'],
      [{ response_type: 'token' }, 'unsupported_response_type'],
      [{ scope: 'webhooks:manage' }, 'invalid_scope'],
      [{ scope: 'tickets:read nonsense' }, 'invalid_scope'],
    ];
    for (const [over, error] of cases) {
      const res = await api.call(ownerA, { method: 'GET', url: authorizeUrl(params(over)) });
      const q = redirectQuery(res);
      expect(q.get('error'), JSON.stringify(over)).toBe(error);
      expect(q.get('state')).toBe('xyz');
      expect(q.get('iss')).toBe('http://127.0.0.1:3000');
      expect(q.get('code')).toBeNull();
    }
  });

  it('grants no scope beyond the member’s permissions, and nothing to a non-member', async () => {
    const beyond = redirectQuery(
      await api.call(viewer, { method: 'GET', url: authorizeUrl(params({ scope: 'tickets:write' })) }),
    );
    expect(beyond.get('error')).toBe('invalid_scope');
    const stranger = await api.sessionFor((await makeOrg(db.app, 'Gamma')).ownerId);
    const denied = redirectQuery(await api.call(stranger, { method: 'GET', url: authorizeUrl(params()) }));
    expect(denied.get('error')).toBe('access_denied');
    // An owner of another org is a stranger here too, even with the right client id.
    const ownerB = await api.sessionFor(b.ownerId);
    expect(
      redirectQuery(await api.call(ownerB, { method: 'GET', url: authorizeUrl(params()) })).get('error'),
    ).toBe('access_denied');
  });

  it('answers a refusal with access_denied and no code', async () => {
    const { request } = await openConsent(api, ownerA, params());
    const q = redirectQuery(await decide(api, ownerA, request as string, 'deny'));
    expect(q.get('error')).toBe('access_denied');
    expect(q.get('code')).toBeNull();
  });

  it('accepts the form once, only from the session that saw it (a forged or replayed post does nothing)', async () => {
    const { request } = await openConsent(api, ownerA, params());
    const other = await api.sessionFor(a.ownerId);
    const forged = await decide(api, other, request as string, 'allow');
    expect(forged.statusCode).toBe(400);
    expect(forged.headers.location).toBeUndefined();
    // The forged attempt used it up.
    expect((await decide(api, ownerA, request as string, 'allow')).statusCode).toBe(400);
    const second = await openConsent(api, ownerA, params());
    expect((await decide(api, null, second.request as string, 'allow')).statusCode).toBe(400);
    const third = await openConsent(api, ownerA, params());
    expect(redirectQuery(await decide(api, ownerA, third.request as string, 'allow')).get('code')).toMatch(
      /^gma_/,
    );
    expect((await decide(api, ownerA, third.request as string, 'allow')).statusCode).toBe(400);
  });

  it('makes a person still owing their second factor finish signing in first', async () => {
    const pending = await api.sessionFor(a.ownerId, 'pending');
    const res = await api.call(pending, { method: 'GET', url: authorizeUrl(params()) });
    expect(res.statusCode).toBe(401);
    expect(res.headers.location).toBeUndefined();
  });

  it('audits the consent, and caps the token at what the member holds on each request', async () => {
    const { code, verifier } = await consentCode(api, viewer, client, 'tickets:read');
    const t = await exchange(api, client, code, verifier);
    const bearer = { token: t.access_token };
    const list = `/v1/orgs/${a.orgId}/tickets`;
    expect((await api.call(bearer, { method: 'GET', url: list })).statusCode).toBe(200);
    const audit = await withTenant(db.app, a.orgId, (tx) =>
      tx.query<{ actor_id: string }>(
        `select actor_id from audit_logs where action = 'oauth_client.authorized'`,
      ),
    );
    expect(audit.rows.map((r) => r.actor_id)).toContain(viewerId);
    // Demoted to a role without tickets.read (a custom one), the token loses it at once.
    await withTenant(db.app, a.orgId, async (tx) => {
      await createRole(tx, { key: 'nothing', name: 'Nothing', permissions: ['org.read'] }, a.owner);
      await changeRole(tx, { userId: viewerId, role: 'nothing' }, a.owner);
    });
    expect((await api.call(bearer, { method: 'GET', url: list })).statusCode).toBe(403);
  });
});
