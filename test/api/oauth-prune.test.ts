import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneEndedOAuth } from '../../db/oauth-prune.js';
import { withTenant } from '../../db/tenant.js';
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
  type Registered,
  refreshGrant,
  startOAuthApi,
} from './oauth-support.js';
import type { Caller, TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let a: OrgFixture;
let b: OrgFixture;
let owner: Caller;
let client: Registered;
const DAY = 24 * 3600_000;

beforeAll(async () => {
  ({ api, org: a, owner, client } = await startOAuthApi(db.app, ['tickets:read']));
  b = await makeOrg(db.app, 'Beta');
});
afterAll(async () => {
  await api?.close();
});

const counts = async (orgId: string) =>
  (
    await db.admin.query<{ grants: number; access: number; refresh: number; codes: number }>(
      `select (select count(*)::int from oauth_grants where org_id = $1) as grants,
              (select count(*)::int from oauth_tokens where org_id = $1 and kind = 'access') as access,
              (select count(*)::int from oauth_tokens where org_id = $1 and kind = 'refresh') as refresh,
              (select count(*)::int from oauth_codes where org_id = $1) as codes`,
      [orgId],
    )
  ).rows[0];

const prune = (orgId: string, atMs: number) =>
  withTenant(db.app, orgId, (tx) => pruneEndedOAuth(tx, new Date(atMs)));

describe('pruning ended OAuth grants, tokens and codes', () => {
  it('deletes what ended a day ago, keeps a live family whole, and reuse of a used refresh token still revokes it', async () => {
    const t0 = api.clock.ms;
    // A: a client_credentials grant (its one access token lives 15 minutes).
    const cc = await clientCredentials(api, client);
    expect(cc.statusCode, cc.body).toBe(200);
    // B: a staff member's grant, refreshed once (its first refresh token is now used).
    const first = await consentCode(api, owner, client, 'tickets:read');
    const b1 = await exchange(api, client, first.code, first.verifier);
    const refreshed = await refreshGrant(api, client, b1.refresh_token as string);
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    const b2 = refreshed.json() as { refresh_token: string };
    // C: a grant revoked by its client.
    const third = await consentCode(api, owner, client, 'tickets:read');
    const c = await exchange(api, client, third.code, third.verifier);
    expect(
      (await oauthPost(api, 'revoke', { token: c.refresh_token as string, ...creds(client) })).statusCode,
    ).toBe(200);
    // D: a code never exchanged.
    await consentCode(api, owner, client, 'tickets:read');
    // Another org's rows, past every limit, must not be touched by Alpha's prune.
    const bOwner = await api.sessionFor(b.ownerId);
    const bClient = await confidential(api, bOwner, b.orgId, ['tickets:read']);
    expect((await clientCredentials(api, bClient)).statusCode).toBe(200);

    const before = await counts(a.orgId);
    expect(before).toEqual({ grants: 3, access: 4, refresh: 3, codes: 3 });
    // Within a day of their end, nothing goes.
    expect(await prune(a.orgId, t0 + 3600_000)).toEqual({ codes: 0, accessTokens: 0, grants: 0 });
    expect(await counts(a.orgId)).toEqual(before);

    // Two days on: A (expired) and C (revoked) go with their tokens, the codes go, B's access
    // tokens go; B's refresh tokens, the used one too, stay.
    expect(await prune(a.orgId, t0 + 2 * DAY)).toEqual({ codes: 3, accessTokens: 2, grants: 2 });
    expect(await counts(a.orgId)).toEqual({ grants: 1, access: 0, refresh: 2, codes: 0 });
    expect(await counts(b.orgId)).toEqual({ grants: 1, access: 1, refresh: 0, codes: 0 });

    // The copied (used) refresh token still gives the theft away: the family is revoked, so the
    // newer refresh token stops working too.
    api.clock.ms = t0 + 2 * DAY;
    expectOAuthError(await refreshGrant(api, client, b1.refresh_token as string), 400, 'invalid_grant');
    expectOAuthError(await refreshGrant(api, client, b2.refresh_token), 400, 'invalid_grant');
    // A day after that revocation, the family goes too.
    expect(await prune(a.orgId, t0 + 4 * DAY)).toMatchObject({ grants: 1 });
    expect(await counts(a.orgId)).toEqual({ grants: 0, access: 0, refresh: 0, codes: 0 });
  });

  it('deletes a staff grant whose refresh token went unused past its idle expiry', async () => {
    const t0 = api.clock.ms;
    // The clock moved on in the test above: a fresh session.
    const staff = await api.sessionFor(a.ownerId);
    const { code, verifier } = await consentCode(api, staff, client, 'tickets:read');
    await exchange(api, client, code, verifier);
    const idleMs = (
      await db.admin.query<{ ms: number }>(
        `select (extract(epoch from max(t.expires_at) - max(t.created_at)) * 1000)::float8 as ms
         from oauth_tokens t where t.org_id = $1 and t.kind = 'refresh'`,
        [a.orgId],
      )
    ).rows[0]?.ms as number;
    expect(idleMs).toBeGreaterThan(DAY);
    expect((await prune(a.orgId, t0 + idleMs)).grants).toBe(0);
    expect((await prune(a.orgId, t0 + idleMs + 2 * DAY)).grants).toBe(1);
  });
});
