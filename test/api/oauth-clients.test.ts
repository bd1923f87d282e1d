import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from '../../db/memberships.js';
import { createRole } from '../../db/roles.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { clientCredentials, expectOAuthError, REDIRECT, registerClient } from './oauth-support.js';
import { type Caller, errorCode, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let a: OrgFixture;
let b: OrgFixture;
let ownerA: Caller;
let ownerB: Caller;
const url = (orgId: string, rest = '') => `/v1/orgs/${orgId}/oauth-clients${rest}`;

beforeAll(async () => {
  api = await startTestApi(db.app);
  a = await makeOrg(db.app, 'Alpha');
  b = await makeOrg(db.app, 'Beta');
  ownerA = await api.sessionFor(a.ownerId);
  ownerB = await api.sessionFor(b.ownerId);
});
afterAll(() => api?.close());

describe('OAuth client registration', () => {
  it('shows a confidential client’s secret once and keeps only its SHA-256', async () => {
    const res = await api.call(ownerA, {
      method: 'POST',
      url: url(a.orgId),
      payload: {
        name: 'Backend',
        kind: 'confidential',
        scopes: ['tickets:read', 'tickets:read'],
        redirectUris: [REDIRECT],
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    const { client, clientSecret } = res.json();
    expect(client.clientId).toMatch(/^gmc_[0-9a-f]{32}$/);
    expect(clientSecret).toMatch(/^gmcs_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    expect(client.scopes).toEqual(['tickets:read']);
    expect(client.grantTypes).toEqual(['authorization_code', 'client_credentials', 'refresh_token']);
    expect(client.secretPrefix).toBe(clientSecret.split('_').slice(0, 2).join('_'));
    const row = await withTenant(db.app, a.orgId, (tx) =>
      tx.query<{ secret_hash: Buffer }>('select secret_hash from oauth_clients where id = $1::uuid', [
        client.id,
      ]),
    );
    expect(row.rows[0]?.secret_hash.equals(createHash('sha256').update(clientSecret).digest())).toBe(true);
    const listed = await api.call(ownerA, { method: 'GET', url: url(a.orgId) });
    expect(listed.body).not.toContain(clientSecret);
    const one = await api.call(ownerA, { method: 'GET', url: url(a.orgId, `/${client.id}`) });
    expect(one.json()).toMatchObject({ id: client.id, name: 'Backend', kind: 'confidential' });
    expect(one.body).not.toContain(clientSecret.slice(14));
  });

  it('registers a public client without a secret, for authorization_code with PKCE only', async () => {
    const res = await api.call(ownerA, {
      method: 'POST',
      url: url(a.orgId),
      payload: {
        name: 'CLI',
        kind: 'public',
        scopes: ['tickets:read'],
        redirectUris: ['http://127.0.0.1:8765/cb'],
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().clientSecret).toBeNull();
    expect(res.json().client.grantTypes).toEqual(['authorization_code', 'refresh_token']);
    const cc = await api.call(ownerA, {
      method: 'POST',
      url: url(a.orgId),
      payload: {
        name: 'CLI',
        kind: 'public',
        scopes: ['tickets:read'],
        redirectUris: [REDIRECT],
        grantTypes: ['client_credentials'],
      },
    });
    expect(cc.statusCode).toBe(422);
    expect(cc.body).toContain('client_credentials');
  });

  it.each([
    ['http://app.example.test/cb', 'plain http off this machine'],
    ['https://app.example.test/cb#frag', 'a fragment'],
    ['/relative', 'a relative URI'],
    ['https://user:pw@app.example.test/cb', 'credentials in the URI'],
  ])('refuses the redirect URI %s (%s)', async (uri) => {
    const res = await api.call(ownerA, {
      method: 'POST',
      url: url(a.orgId),
      payload: { name: 'Bad', kind: 'public', scopes: ['tickets:read'], redirectUris: [uri] },
    });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error.details[0].path).toContain('redirectUris');
  });

  it('refuses a public client without a redirect URI and scopes outside the catalog', async () => {
    for (const payload of [
      { name: 'No URI', kind: 'public', scopes: ['tickets:read'] },
      { name: 'Odd scope', kind: 'confidential', scopes: ['org:manage'] },
      { name: 'No scope', kind: 'confidential', scopes: [] },
    ]) {
      const res = await api.call(ownerA, { method: 'POST', url: url(a.orgId), payload });
      expect(res.statusCode, res.body).toBe(422);
    }
  });

  it('does not let a role register a client stronger than itself, and audits what it does', async () => {
    const user = await createUser(db.app, { displayName: 'Client clerk' });
    await withTenant(db.app, a.orgId, async (tx) => {
      await createRole(
        tx,
        {
          key: 'client-clerk',
          name: 'Client clerk',
          permissions: ['org.read', 'tickets.read', 'tokens.manage'],
        },
        a.owner,
      );
      await addMember(tx, { userId: user.id, role: 'client-clerk' }, a.owner);
    });
    const clerk = await api.sessionFor(user.id);
    const beyond = await api.call(clerk, {
      method: 'POST',
      url: url(a.orgId),
      payload: { name: 'Too strong', kind: 'confidential', scopes: ['webhooks:manage'] },
    });
    expect(beyond.statusCode).toBe(403);
    expect(beyond.json().error.details.permissions).toEqual(['webhooks.manage']);
    const made = await registerClient(api, clerk, a.orgId, {
      name: 'Reader',
      kind: 'confidential',
      scopes: ['tickets:read'],
    });
    const revoked = await api.call(clerk, { method: 'DELETE', url: url(a.orgId, `/${made.id}`) });
    expect(revoked.json().revokedAt).not.toBeNull();
    const audit = await withTenant(db.app, a.orgId, (tx) =>
      tx.query<{ action: string; actor_id: string; data: Record<string, unknown> }>(
        `select action, actor_id, data from audit_logs where target_type = 'oauth_client' and target_id = $1 order by id`,
        [made.id],
      ),
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['oauth_client.created', 'oauth_client.revoked']);
    expect(audit.rows.every((r) => r.actor_id === user.id)).toBe(true);
    expect(JSON.stringify(audit.rows)).not.toContain(made.clientSecret as string);
  });

  it('needs tokens.manage: an agent, a token and an anonymous caller are refused', async () => {
    const agentUser = await createUser(db.app, { displayName: 'Agent' });
    await withTenant(db.app, a.orgId, (tx) =>
      addMember(tx, { userId: agentUser.id, role: 'agent' }, a.owner),
    );
    const agent = await api.sessionFor(agentUser.id);
    expect((await api.call(agent, { method: 'GET', url: url(a.orgId) })).statusCode).toBe(403);
    const token = await api.tokenFor(db.app, a.orgId, ['settings:manage', 'tickets:write']);
    expect((await api.call(token, { method: 'GET', url: url(a.orgId) })).statusCode).toBe(403);
    expect((await api.call(null, { method: 'GET', url: url(a.orgId) })).statusCode).toBe(401);
  });

  it('answers 404 for another organization’s clients and leaves them working', async () => {
    const theirs = await registerClient(api, ownerB, b.orgId, {
      name: 'B app',
      kind: 'confidential',
      scopes: ['tickets:read'],
    });
    expect(errorCode(await api.call(ownerA, { method: 'GET', url: url(b.orgId) }))).toBe('not_found');
    expect(errorCode(await api.call(ownerA, { method: 'GET', url: url(a.orgId, `/${theirs.id}`) }))).toBe(
      'not_found',
    );
    expect(errorCode(await api.call(ownerA, { method: 'DELETE', url: url(a.orgId, `/${theirs.id}`) }))).toBe(
      'not_found',
    );
    const still = await clientCredentials(api, theirs);
    expect(still.statusCode, still.body).toBe(200);
  });

  it('revoking a client stops its tokens at once and its credentials from getting more', async () => {
    const c = await registerClient(api, ownerA, a.orgId, {
      name: 'Short-lived',
      kind: 'confidential',
      scopes: ['tickets:read'],
    });
    const issued = await clientCredentials(api, c);
    const bearer = { token: issued.json().access_token as string };
    expect((await api.call(bearer, { method: 'GET', url: `/v1/orgs/${a.orgId}/tickets` })).statusCode).toBe(
      200,
    );
    await api.call(ownerA, { method: 'DELETE', url: url(a.orgId, `/${c.id}`) });
    expect((await api.call(bearer, { method: 'GET', url: `/v1/orgs/${a.orgId}/tickets` })).statusCode).toBe(
      401,
    );
    expectOAuthError(await clientCredentials(api, c), 400, 'invalid_client');
  });
});
