import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../db/tenant.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let org: OrgFixture;

beforeAll(async () => {
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Me Studio');
});
afterAll(() => api.close());

describe('GET /v1/me', () => {
  it('describes an API token: its org, scopes, name and expiry', async () => {
    const caller = await api.tokenFor(db.app, org.orgId, ['tickets:read', 'analytics:read']);
    const res = await api.call(caller, { method: 'GET', url: '/v1/me' });
    expect(res.statusCode, res.body).toBe(200);
    const tokenId = (
      await withTenant(db.app, org.orgId, (tx) => tx.query<{ id: string }>('select id from api_tokens'))
    ).rows[0]?.id;
    expect(res.json()).toMatchObject({
      kind: 'token',
      tokenId,
      orgId: org.orgId,
      org: { id: org.orgId, name: 'Me Studio' },
      scopes: ['analytics:read', 'tickets:read'],
      name: 'test token (2 scopes)',
      expiresAt: null,
    });
    // Nothing secret comes back.
    expect(res.body).not.toContain(caller.token as string);
  });

  it('describes a signed-in person as /auth/session does, marked as a user', async () => {
    const me = await api.sessionFor(org.ownerId);
    const res = await api.call(me, { method: 'GET', url: '/v1/me' });
    expect(res.statusCode, res.body).toBe(200);
    const session = (await api.call(me, { method: 'GET', url: '/auth/session' })).json() as Record<
      string,
      unknown
    >;
    expect(res.json()).toEqual({ kind: 'user', ...session });
    expect(res.json()).toMatchObject({ user: { id: org.ownerId }, orgs: [{ id: org.orgId, role: 'owner' }] });
  });

  it('refuses anonymous callers, unknown tokens and sessions still owing their second factor', async () => {
    expect((await api.call(null, { method: 'GET', url: '/v1/me' })).statusCode).toBe(401);
    expect((await api.call({ token: 'gm_nope' }, { method: 'GET', url: '/v1/me' })).statusCode).toBe(401);
    const pending = await api.sessionFor(org.ownerId, 'pending');
    const res = await api.call(pending, { method: 'GET', url: '/v1/me' });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: { details: { reason: 'totp_pending' } } });
  });
});
