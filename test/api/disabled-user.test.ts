import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableUser } from '../../cli/commands/user-disable.js';
import { addMember } from '../../db/memberships.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { FakeDiscord } from '../support/fake-discord/index.js';
import { makeOrg } from '../support/fixtures.js';
import {
  confidential,
  consentCode,
  creds,
  exchange,
  oauthPost,
  REDIRECT,
  refreshGrant,
} from './oauth-support.js';
import { cookieFrom, errorCode, startTestApi, type TestApi } from './support.js';

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

const disable = (userId: string) =>
  db.admin.query('update users set disabled_at = now() where id = $1', [userId]);

async function adminOf(orgName: string) {
  const org = await makeOrg(db.app, orgName);
  const admin = await createUser(db.app, { displayName: `${orgName} admin` });
  await withTenant(db.app, org.orgId, (tx) => addMember(tx, { userId: admin.id, role: 'admin' }, org.owner));
  return { org, admin };
}

/** Signs in with the fake Discord as `discordUserId`: the callback's answer. */
async function discordSignIn(discordUserId: string) {
  const start = await api.call(null, { method: 'GET', url: '/auth/discord/login?returnTo=/panel/' });
  const authorize = new URL(String(start.headers.location));
  fake.oauth2.authorizeAs(discordUserId);
  const back = await fetch(authorize, { redirect: 'manual' });
  const code = new URL(back.headers.get('location') ?? '').searchParams.get('code') ?? '';
  return api.call(null, {
    method: 'GET',
    url: `/auth/discord/callback?state=${authorize.searchParams.get('state')}&code=${code}`,
    headers: { cookie: `gm_login=${cookieFrom(start, 'gm_login')}` },
  });
}

describe('a disabled staff account', () => {
  it('can no longer read or change the org once users.disabled_at is set', async () => {
    const { org, admin } = await adminOf('Disabled');
    const session = await api.sessionFor(admin.id);
    await disable(admin.id);
    const read = await api.call(session, { method: 'GET', url: `/v1/orgs/${org.orgId}/members` });
    const write = await api.call(session, {
      method: 'POST',
      url: `/v1/orgs/${org.orgId}/teams`,
      payload: { name: 'made while disabled' },
    });
    expect({ read: read.statusCode, write: write.statusCode }).toEqual({ read: 404, write: 404 });
  });

  it('is refused its own account routes, and the session it had ends', async () => {
    const { admin } = await adminOf('Own routes');
    const session = await api.call(await api.sessionFor(admin.id), { method: 'GET', url: '/auth/session' });
    expect(session.statusCode).toBe(200);
    const caller = await api.sessionFor(admin.id);
    await disable(admin.id);
    const me = await api.call(caller, { method: 'GET', url: '/v1/me' });
    expect(me.statusCode).toBe(401);
    expect(errorCode(me)).toBe('unauthenticated');
    expect(await api.redis.keys(`gm:sess-user:${admin.id}`)).toEqual([]);
  });

  it('gives an OAuth app acting for the person nothing', async () => {
    const { org, admin } = await adminOf('Oauth');
    const owner = await api.sessionFor(org.ownerId);
    const client = await confidential(api, owner, org.orgId, ['members:read']);
    const staff = await api.sessionFor(admin.id);
    const { code, verifier } = await consentCode(api, staff, client, 'members:read');
    const { access_token, refresh_token } = await exchange(api, client, code, verifier);
    const before = await api.call(
      { token: access_token },
      { method: 'GET', url: `/v1/orgs/${org.orgId}/members` },
    );
    expect(before.statusCode).toBe(200);
    await disable(admin.id);
    const after = await api.call(
      { token: access_token },
      { method: 'GET', url: `/v1/orgs/${org.orgId}/members` },
    );
    expect(after.statusCode).toBe(404);
    // Nor a fresh access token for the app to keep a live socket open with.
    const refreshed = await refreshGrant(api, client, refresh_token as string);
    expect(refreshed.statusCode, refreshed.body).toBe(400);
    expect(refreshed.json().error).toBe('invalid_grant');
  });

  it('loses the OAuth grants it gave to the operator command, for good: enabling it again brings no app back', async () => {
    const { org, admin } = await adminOf('Oauth disabled');
    const client = await confidential(api, await api.sessionFor(org.ownerId), org.orgId, ['members:read']);
    const staff = await api.sessionFor(admin.id);
    const first = await consentCode(api, staff, client, 'members:read');
    const { access_token, refresh_token } = await exchange(api, client, first.code, first.verifier);
    // A consent given and not yet traded for tokens.
    const pending = await consentCode(api, staff, client, 'members:read');
    await disableUser(db.app, api.redis, admin.id);
    const grants = await db.admin.query(
      'select revoked_at is not null as revoked, revoked_reason as reason from oauth_grants where user_id = $1',
      [admin.id],
    );
    expect(grants.rows, 'the grants the person gave').toEqual([
      { revoked: true, reason: 'account_disabled' },
    ]);
    const audited = await db.admin.query(
      `select data->>'reason' as reason from audit_logs where org_id = $1 and action = 'oauth_grant.revoked'`,
      [org.orgId],
    );
    expect(audited.rows).toEqual([{ reason: 'account_disabled' }]);
    // The operator enables the account again (by hand: there is no command for it).
    await db.admin.query('update users set disabled_at = null where id = $1', [admin.id]);
    const members = `/v1/orgs/${org.orgId}/members`;
    expect((await api.call(staff, { method: 'GET', url: members })).statusCode, 'the person').toBe(401);
    const app = await api.call({ token: access_token }, { method: 'GET', url: members });
    expect(app.statusCode, 'the app acting for them').toBe(401);
    expect((await refreshGrant(api, client, refresh_token as string)).statusCode).toBe(400);
    const late = await oauthPost(api, 'token', {
      grant_type: 'authorization_code',
      code: pending.code,
      redirect_uri: REDIRECT,
      code_verifier: pending.verifier,
      ...creds(client),
    });
    expect(late.statusCode, 'the consent given before').toBe(400);
  });

  it('cannot sign in again with Discord: the callback says the account is disabled', async () => {
    const person = fake.addUser({ username: 'gone_mod' });
    expect((await discordSignIn(person.id)).statusCode).toBe(302);
    const linked = await db.admin.query<{ user_id: string }>(
      'select user_id from discord_accounts where discord_user_id = $1',
      [person.id],
    );
    await disable(linked.rows[0]?.user_id as string);
    const again = await discordSignIn(person.id);
    expect(again.statusCode).toBe(403);
    expect(again.json().error.details).toMatchObject({ reason: 'account_disabled' });
    expect(cookieFrom(again, 'gm_session')).toBeUndefined();
  });

  it('is disabled by the operator command, which ends every session at once', async () => {
    const { org, admin } = await adminOf('Command');
    const a = await api.sessionFor(admin.id);
    const b = await api.sessionFor(admin.id);
    const result = await disableUser(db.app, api.redis, admin.id);
    expect(result).toMatchObject({ alreadyDisabled: false, sessionsEnded: 2 });
    for (const s of [a, b]) {
      expect((await api.call(s, { method: 'GET', url: '/auth/session' })).statusCode).toBe(401);
    }
    const members = await api.call(await api.sessionFor(org.ownerId), {
      method: 'GET',
      url: `/v1/orgs/${org.orgId}/members`,
    });
    expect(members.statusCode).toBe(200);
    expect((await disableUser(db.app, api.redis, admin.id)).alreadyDisabled).toBe(true);
  });
});
