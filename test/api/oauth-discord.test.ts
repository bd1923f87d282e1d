import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../db/api-tokens.js';
import { createGuildLinkCode, redeemGuildLinkCode } from '../../db/guild-links.js';
import { discordStaffAccess, setRoleMapping } from '../../db/guild-roles.js';
import { withTenant } from '../../db/tenant.js';
import { createSecretBox } from '../../lib/secret-box.js';
import { useTestDb } from '../support/db.js';
import { FakeDiscord } from '../support/fake-discord/index.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, cookieFrom, startTestApi, type TestApi } from './support.js';

/**
 * A linked Discord account's OAuth tokens: kept sealed from sign-in, refreshed and rotated when
 * role sync needs a fresh one, and dropped when Discord refuses the refresh token.
 */

const db = useTestDb();
const PUBLIC_URL = 'http://127.0.0.1:3000';
const DAY = 24 * 60 * 60_000;
let api: TestApi;
let fake: FakeDiscord;
let org: OrgFixture;
let guildId: string;
let staffRole: string;

beforeAll(async () => {
  fake = await new FakeDiscord({ redirectUris: [`${PUBLIC_URL}/auth/discord/callback`] }).listen();
  api = await startTestApi(db.app, {
    settings: {
      publicUrl: PUBLIC_URL,
      discord: { apiUrl: `${fake.url}/api`, clientId: fake.applicationId, clientSecret: fake.clientSecret },
    },
  });
  org = await makeOrg(db.app, 'Roles');
  const g = fake.addGuild({ name: 'Roles server', roles: [{ name: 'Support' }] });
  guildId = g.id;
  staffRole = g.roles.Support as string;
  const { code } = await withTenant(db.app, org.orgId, (tx) => createGuildLinkCode(tx, org.owner));
  await redeemGuildLinkCode(db.app, { code, guildId, guildName: 'Roles server' });
  await withTenant(db.app, org.orgId, (tx) =>
    setRoleMapping(tx, { guildId, discordRoleId: staffRole, roleKey: 'agent' }, org.owner),
  );
});
afterAll(async () => {
  await api?.close();
  await fake?.close();
});

/** Signs in through the fake Discord as `discordUserId`; returns the session and GameMod user id. */
async function signIn(discordUserId: string): Promise<{ who: Caller; userId: string }> {
  const start = await api.call(null, { method: 'GET', url: '/auth/discord/login?returnTo=/panel/' });
  const authorize = new URL(String(start.headers.location));
  expect(authorize.searchParams.get('scope')).toBe('identify guilds.members.read');
  fake.oauth2.authorizeAs(discordUserId);
  const back = new URL((await fetch(authorize, { redirect: 'manual' })).headers.get('location') ?? '');
  const res = await api.call(null, {
    method: 'GET',
    url: `/auth/discord/callback?state=${authorize.searchParams.get('state')}&code=${back.searchParams.get('code')}`,
    headers: { cookie: `gm_login=${cookieFrom(start, 'gm_login')}` },
  });
  expect(res.statusCode, res.body).toBe(302);
  const cookie = cookieFrom(res, 'gm_session') as string;
  const session = (await api.call({ cookie }, { method: 'GET', url: '/auth/session' })).json();
  return { who: { cookie, csrf: session.csrfToken }, userId: session.user.id };
}

/** The stored row, with the tokens opened by the app's key. */
async function stored(userId: string) {
  const r = await db.admin.query<{ access_sealed: string; refresh_sealed: string; expires_at: Date }>(
    'select access_sealed, refresh_sealed, expires_at from discord_oauth_tokens where user_id = $1',
    [userId],
  );
  const row = r.rows[0];
  if (!row) return null;
  const box = createSecretBox(api.app.settings.secretKey);
  return { ...row, access: box.open(row.access_sealed), refresh: box.open(row.refresh_sealed) };
}

/** A staff member through the Support role only (a derived membership), signed in with Discord. */
async function derivedStaff(name: string) {
  const person = fake.addUser({ username: name });
  fake.addMember(guildId, person.id, [staffRole]);
  const { who, userId } = await signIn(person.id);
  await withTenant(db.app, org.orgId, (tx) => discordStaffAccess(tx, guildId, userId, [staffRole], true));
  return { person, who, userId };
}

const sync = (who: Caller) => api.call(who, { method: 'POST', url: '/auth/discord/sync-roles' });
const isMember = async (userId: string) =>
  (
    await withTenant(db.app, org.orgId, (tx) =>
      tx.query('select 1 from memberships where org_id = $1 and user_id = $2', [org.orgId, userId]),
    )
  ).rowCount === 1;

describe('Discord tokens of a linked account', () => {
  it('keeps them sealed from sign-in: real tokens, and no plaintext in the row', async () => {
    const person = fake.addUser({ username: 'sealed' });
    const { userId } = await signIn(person.id);
    const row = await stored(userId);
    expect(row).not.toBeNull();
    expect(fake.oauth2.lookup(row?.access as string)?.userId).toBe(person.id);
    expect(row?.access_sealed).toMatch(/^v1\./);
    expect(row?.access_sealed).not.toContain(row?.access);
    expect(row?.refresh_sealed).not.toContain(row?.refresh);
  });

  it('syncs roles with the stored token: a Discord role taken away takes the derived membership', async () => {
    const { person, who, userId } = await derivedStaff('losing_role');
    expect(await isMember(userId)).toBe(true);
    fake.addMember(guildId, person.id, []);
    const res = await sync(who);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ servers: 1 });
    expect(await isMember(userId)).toBe(false);
  });

  it('ends the derived membership of someone who left the server, taking their API tokens with it', async () => {
    const { person, who, userId } = await derivedStaff('leaving');
    const tokenId = (
      await withTenant(db.app, org.orgId, (tx) =>
        createApiToken(tx, { name: 'script', scopes: ['tickets:read'] }, { type: 'user', id: userId }),
      )
    ).token.id;
    // Left the server: the bot is never told (no GuildMembers intent); role sync hears 404.
    fake.removeMember(guildId, person.id);
    const res = await sync(who);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ servers: 1 });
    expect(await isMember(userId)).toBe(false);
    const revoked = await db.admin.query('select revoked_at is not null as r from api_tokens where id = $1', [
      tokenId,
    ]);
    expect(revoked.rows[0]?.r).toBe(true);
    const audit = await db.admin.query(
      `select data->>'reason' as reason from audit_logs where org_id = $1 and action = 'member.removed' and target_id = $2`,
      [org.orgId, userId],
    );
    expect(audit.rows).toEqual([{ reason: 'left_server' }]);
  });

  it('keeps the membership when Discord tells nothing of the person: 5xx, 429, no access, another 404', async () => {
    const { who, userId } = await derivedStaff('unreadable');
    const member = { method: 'GET', route: '/users/@me/guilds/:guild_id/member' };
    fake.failNext(member, 502);
    expect((await sync(who)).statusCode).toBe(503);
    fake.rateLimitNext(member, 1);
    expect((await sync(who)).statusCode).toBe(503);
    fake.failNext(member, 403);
    expect((await sync(who)).json()).toEqual({ servers: 0 });
    // A 404 without Unknown Member's code (a proxy's, an unknown route) says nothing of them either.
    fake.failNext(member, 404);
    expect((await sync(who)).json()).toEqual({ servers: 0 });
    expect(await isMember(userId)).toBe(true);
  });

  it('refreshes an expired token when role sync needs it, storing the rotated refresh token', async () => {
    const { person, userId } = await derivedStaff('rotating');
    const before = await stored(userId);
    const mine = () => fake.oauth2.refreshes.filter((r) => r.userId === person.id).length;
    api.clock.advance(7 * DAY);
    // A new session (the old one idled out), without signing in again: the stored tokens stay.
    const who = await api.sessionFor(userId);
    const res = await sync(who);
    expect(res.json(), res.body).toEqual({ servers: 1 });
    expect(mine()).toBe(1);
    const after = await stored(userId);
    expect(after?.refresh).not.toBe(before?.refresh);
    expect(after?.access).not.toBe(before?.access);
    expect(after?.expires_at.getTime()).toBeGreaterThan(api.clock.ms);
    expect(fake.oauth2.lookup(after?.access as string)?.userId).toBe(person.id);
    // Discord rotated it: the old refresh token is spent.
    const spent = await fetch(`${fake.url}/api/v10/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: before?.refresh as string,
        client_id: fake.applicationId,
        client_secret: fake.clientSecret,
      }),
    });
    expect(spent.status).toBe(400);
    expect(((await spent.json()) as { error: string }).error).toBe('invalid_grant');
    // Another sync within the new token's life refreshes nothing.
    await sync(who);
    expect(mine()).toBe(1);
  });

  it('refreshes once when two syncs need it at the same time', async () => {
    const { person, userId } = await derivedStaff('concurrent');
    api.clock.advance(7 * DAY);
    const who = await api.sessionFor(userId);
    const [x, y] = await Promise.all([sync(who), sync(who)]);
    expect([x.json(), y.json()]).toEqual([{ servers: 1 }, { servers: 1 }]);
    expect(fake.oauth2.refreshes.filter((r) => r.userId === person.id)).toHaveLength(1);
    expect(await stored(userId)).not.toBeNull();
  });

  it('keeps the tokens through a Discord outage: 503, and the next sync refreshes', async () => {
    const { person, userId } = await derivedStaff('outage');
    const before = await stored(userId);
    api.clock.advance(7 * DAY);
    const who = await api.sessionFor(userId);
    fake.failNext({ method: 'POST', route: '/oauth2/token' }, 502);
    const down = await sync(who);
    expect(down.statusCode, down.body).toBe(503);
    expect((await stored(userId))?.refresh).toBe(before?.refresh);
    expect((await sync(who)).json()).toEqual({ servers: 1 });
    expect(fake.oauth2.refreshes.filter((r) => r.userId === person.id)).toHaveLength(1);
  });

  it('drops the tokens when Discord refuses the refresh token, and syncs nothing', async () => {
    const { person, userId } = await derivedStaff('removed_app');
    fake.oauth2.deauthorize(person.id);
    api.clock.advance(7 * DAY);
    const res = await sync(await api.sessionFor(userId));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ servers: null });
    expect(await stored(userId)).toBeNull();
    // Nothing was learnt about the roles, so nothing was taken away.
    expect(await isMember(userId)).toBe(true);
  });
});
