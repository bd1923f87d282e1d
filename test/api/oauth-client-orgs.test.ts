import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { confidential, creds, expectOAuthError, oauthPost, type Registered } from './oauth-support.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

/**
 * The token endpoint remembers which organization a client_id belongs to (it never changes), so
 * a busy integration's requests skip that look-up; what decides whether the client may still
 * ask is its row, read again in the grant's own transaction.
 */
const db = useTestDb();
let api: TestApi;
let a: OrgFixture;
let owner: Caller;
let client: Registered;
/** Calls of the pool-level client look-up (a transaction's queries go through its own client). */
let lookups = 0;

beforeAll(async () => {
  const query = db.app.query.bind(db.app);
  db.app.query = ((...args: Parameters<typeof query>) => {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string }).text;
    if (text?.includes('gm_resolve_oauth_client')) lookups += 1;
    return query(...args);
  }) as typeof db.app.query;
  api = await startTestApi(db.app);
  a = await makeOrg(db.app, 'Alpha');
  owner = await api.sessionFor(a.ownerId);
  client = await confidential(api, owner, a.orgId, ['tickets:read']);
});
afterAll(() => api?.close());

const grant = () => oauthPost(api, 'token', { grant_type: 'client_credentials', ...creds(client) });

describe('the client’s organization, remembered', () => {
  it('is looked up once for a client’s many token requests', async () => {
    const before = lookups;
    for (let i = 0; i < 5; i++) expect((await grant()).statusCode).toBe(200);
    expect(lookups - before).toBe(1);
  });

  it('still refuses a client revoked after it was remembered', async () => {
    expect((await grant()).statusCode).toBe(200);
    const revoked = await api.call(owner, {
      method: 'DELETE',
      url: `/v1/orgs/${a.orgId}/oauth-clients/${client.id}`,
    });
    expect(revoked.statusCode, revoked.body).toBe(200);
    expectOAuthError(await grant(), 400, 'invalid_client');
  });

  it('does not remember a client id that names no client (it may be registered later)', async () => {
    const before = lookups;
    const stranger = { client_id: `gmc_${'0'.repeat(32)}`, client_secret: 'x' };
    for (let i = 0; i < 3; i++) {
      const res = await oauthPost(api, 'token', { grant_type: 'client_credentials', ...stranger });
      expectOAuthError(res, 400, 'invalid_client');
    }
    expect(lookups - before).toBe(3);
  });
});
