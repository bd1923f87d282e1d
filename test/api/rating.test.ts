import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../db/changes.js';
import { getOutboxRow } from '../../db/outbox.js';
import { upsertPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { upsertDiscordUser } from '../../db/users.js';
import { createLogger } from '../../lib/logger.js';
import { impliedJobs } from '../../workers/event-jobs.js';
import { endErasedPlayerRatingSessions } from '../../workers/rating-sessions.js';
import { useTestDb } from '../support/db.js';
import { FakeDiscord } from '../support/fake-discord/index.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, cookieFrom, startTestApi, type TestApi } from './support.js';

/**
 * The web rating page a closed ticket's Discord message links to: a signed link, used by the
 * ticket's player signed in with Discord, a plain form whose rating is recorded as the player, once.
 */
const db = useTestDb();
const PUBLIC_URL = 'http://127.0.0.1:3000';
let api: TestApi;
let fake: FakeDiscord;
let org: OrgFixture;
let owner: Caller;
/** The player, signed in with the Discord account that opened the tickets. */
let rin: Caller;
const RIN = '700000000000000001';

beforeAll(async () => {
  fake = await new FakeDiscord({ redirectUris: [`${PUBLIC_URL}/auth/discord/callback`] }).listen();
  api = await startTestApi(db.app, {
    settings: {
      publicUrl: PUBLIC_URL,
      discord: { apiUrl: `${fake.url}/api`, clientId: fake.applicationId, clientSecret: fake.clientSecret },
    },
  });
  org = await makeOrg(db.app, 'Rating links');
  owner = await api.sessionFor(org.ownerId);
  rin = await api.sessionFor((await upsertDiscordUser(db.app, { discordUserId: RIN, username: 'rin' })).id);
});
afterAll(async () => {
  await api?.close();
  await fake?.close();
});

async function playerTicket(subject: string, discordUserId = RIN) {
  return withTenant(db.app, org.orgId, async (tx) => {
    const player = await upsertPlayer(tx, { displayName: 'Rin', discordUserId });
    const { ticket } = await openTicket(tx, { subject, origin: 'discord', requesterId: player.id }, SYSTEM);
    return { ticketId: ticket.id, playerId: player.id };
  });
}

const path = (link: string) => new URL(link).pathname;
const page = (link: string, who: Caller | null = rin) => api.call(who, { method: 'GET', url: path(link) });
const post = (link: string, form: Record<string, string>, who: Caller | null = rin) =>
  api.call(who, {
    method: 'POST',
    url: path(link),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ ...form, csrf: who?.csrf ?? '' }).toString(),
  });

/** Signs in from a rating link as a Discord user of the fake, as a player's browser does: the session's caller. */
async function ratingSignIn(link: string, discordUserId: string): Promise<Caller> {
  const signInLink = /href="([^"]+)"/.exec((await page(link, null)).body)?.[1]?.replace(/&amp;/g, '&');
  const start = await api.call(null, { method: 'GET', url: String(signInLink) });
  const authorize = new URL(String(start.headers.location));
  fake.oauth2.authorizeAs(discordUserId);
  const back = new URL((await fetch(authorize, { redirect: 'manual' })).headers.get('location') ?? '');
  const done = await api.call(null, {
    method: 'GET',
    url: `/auth/discord/callback?state=${authorize.searchParams.get('state')}&code=${back.searchParams.get('code')}`,
    headers: { cookie: `gm_login=${cookieFrom(start, 'gm_login')}` },
  });
  expect(done.statusCode, done.body).toBe(302);
  const who: Caller = { cookie: cookieFrom(done, 'gm_session') as string };
  who.csrf = /name="csrf" value="([^"]+)"/.exec((await page(link, who)).body)?.[1];
  return who;
}

async function close(ticketId: string) {
  const res = await api.call(owner, {
    method: 'POST',
    url: `/v1/orgs/${org.orgId}/tickets/${ticketId}/close`,
  });
  expect(res.statusCode, res.body).toBe(200);
}

describe('the web rating page', () => {
  it('offers the form once the ticket is closed, and records one rating as the player', async () => {
    const { ticketId, playerId } = await playerTicket('Lost my sword');
    const link = api.app.ticketPages.rating.url(org.orgId, ticketId);

    const early = await page(link);
    expect(early.statusCode).toBe(200);
    expect(early.body).toContain('still open');
    expect((await post(link, { stars: '5' })).statusCode).toBe(409);

    await close(ticketId);
    const form = await page(link);
    expect(form.statusCode).toBe(200);
    expect(form.headers['content-type']).toContain('text/html');
    expect(form.headers['cache-control']).toBe('no-store');
    const csp = String(form.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(form.body).toContain('Lost my sword');
    expect(form.body.match(/type="radio" name="stars"/g)).toHaveLength(5);
    expect(form.body).not.toContain('<script');

    const bad = await post(link, { stars: '9' });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('Choose from 1 to 5 stars');

    const ok = await post(link, { stars: '4', comment: '  quick and kind  ' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.body).toContain('Thanks for your rating');
    const row = await db.admin.query('select rating, rating_comment from tickets where id = $1', [ticketId]);
    expect(row.rows[0]).toEqual({ rating: 4, rating_comment: 'quick and kind' });
    const audit = await db.admin.query(
      `select actor_type, actor_id from ticket_events where ticket_id = $1 and type = 'ticket.rated'`,
      [ticketId],
    );
    expect(audit.rows).toEqual([{ actor_type: 'player', actor_id: playerId }]);

    const again = await post(link, { stars: '1' });
    expect(again.statusCode).toBe(409);
    expect(again.body).toContain('already rated');
    expect((await page(link)).body).toContain('★★★★');
    const still = await db.admin.query('select rating from tickets where id = $1', [ticketId]);
    expect(still.rows[0].rating).toBe(4);
  });

  it('answers a damaged, foreign or expired link with a 404 page and records nothing', async () => {
    const { ticketId } = await playerTicket('Stuck in a wall');
    await close(ticketId);
    const link = api.app.ticketPages.rating.url(org.orgId, ticketId);
    const other = await makeOrg(db.app, 'Someone else');

    const damaged = `${link.slice(0, -3)}${link.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    const foreign = api.app.ticketPages.rating.url(other.orgId, ticketId);
    for (const bad of [damaged, foreign, 'http://x/rate/not-a-token']) {
      const res = await post(bad, { stars: '5' });
      expect(res.statusCode, bad).toBe(404);
      expect(res.body).toContain('does not work');
      expect((await page(bad)).statusCode).toBe(404);
    }

    api.clock.advance(31 * 86_400_000);
    try {
      expect((await post(link, { stars: '5' })).statusCode).toBe(404);
    } finally {
      api.clock.advance(-31 * 86_400_000);
    }
    const row = await db.admin.query('select rating from tickets where id = $1', [ticketId]);
    expect(row.rows[0].rating).toBeNull();
  });
});

describe('who may use a rating link', () => {
  it('only the ticket’s player, signed in with Discord: staff who see the link in the thread are refused', async () => {
    const { ticketId } = await playerTicket('Lost my shield');
    await close(ticketId);
    const link = api.app.ticketPages.rating.url(org.orgId, ticketId);
    // The owner reads the ticket's private thread, where the link is posted for a player who takes no DMs.
    const asStaff = await post(link, { stars: '1' }, owner);
    expect(asStaff.statusCode, 'a staff member rating through the player’s link').toBe(403);
    expect(asStaff.body).toContain('Only the player who opened ticket');
    expect((await page(link, owner)).statusCode, 'nor does staff get the form or the transcript').toBe(403);
    const anonymous = await post(link, { stars: '1' }, null);
    expect(anonymous.statusCode, 'nobody signed in').toBe(401);
    // Signing in comes back to the link.
    const signIn = await page(link, null);
    expect(signIn.statusCode).toBe(401);
    expect(signIn.body).toContain(
      `/auth/discord/login?purpose=rating&amp;returnTo=${encodeURIComponent(path(link))}`,
    );
    // A form posted from elsewhere carries the player's cookie but not the session's token.
    const forged = await api.call(
      { cookie: rin.cookie ?? '' },
      {
        method: 'POST',
        url: path(link),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'stars=1',
      },
    );
    expect(forged.statusCode).toBe(403);
    const row = await db.admin.query('select rating from tickets where id = $1', [ticketId]);
    expect(row.rows[0].rating).toBeNull();
    expect((await post(link, { stars: '5' })).statusCode, 'the player').toBe(200);
  });

  it('signing in from the link asks Discord for identify only, and that session serves the rating page alone', async () => {
    const person = fake.addUser({ username: 'kai' });
    const { ticketId } = await playerTicket('Lost my bow', person.id);
    await close(ticketId);
    const link = api.app.ticketPages.rating.url(org.orgId, ticketId);
    const signInLink = /href="([^"]+)"/.exec((await page(link, null)).body)?.[1]?.replace(/&amp;/g, '&');
    const start = await api.call(null, { method: 'GET', url: String(signInLink) });
    expect(start.statusCode, start.body).toBe(302);
    const authorize = new URL(String(start.headers.location));
    expect(authorize.searchParams.get('scope'), 'a player rating is asked for the least').toBe('identify');
    fake.oauth2.authorizeAs(person.id);
    const back = new URL((await fetch(authorize, { redirect: 'manual' })).headers.get('location') ?? '');
    const done = await api.call(null, {
      method: 'GET',
      // A purpose added to the callback counts for nothing: the one the sign-in started with stands.
      url: `/auth/discord/callback?state=${authorize.searchParams.get('state')}&code=${back.searchParams.get('code')}&purpose=panel`,
      headers: { cookie: `gm_login=${cookieFrom(start, 'gm_login')}` },
    });
    expect(done.statusCode, done.body).toBe(302);
    expect(done.headers.location).toBe(path(link));
    const kai: Caller = { cookie: cookieFrom(done, 'gm_session') as string };
    const form = await page(link, kai);
    expect(form.statusCode, form.body).toBe(200);
    kai.csrf = /name="csrf" value="([^"]+)"/.exec(form.body)?.[1];
    expect((await post(link, { stars: '5' }, kai)).statusCode).toBe(200);
    // A player is not staff: no account is made for them, and so nothing of Discord is kept.
    expect(
      (await db.admin.query('select 1 from discord_accounts where discord_user_id = $1', [person.id]))
        .rowCount,
      'an account made for the player',
    ).toBe(0);
    // Anywhere else it is no sign-in at all, even for someone who is also staff of the organization.
    const userId = (await upsertDiscordUser(db.app, { discordUserId: person.id, username: 'kai' })).id;
    await db.admin.query(
      `insert into memberships (org_id, user_id, role_id)
       select $1, $2, id from roles where org_id = $1 and key = 'owner'`,
      [org.orgId, userId],
    );
    for (const [method, url] of [
      ['GET', '/auth/session'],
      ['GET', '/v1/me'],
      ['POST', '/v1/orgs'],
      ['POST', '/auth/totp/enrol'],
      ['GET', `/v1/orgs/${org.orgId}/tickets`],
    ] as const) {
      const res = await api.call(kai, {
        method,
        url,
        ...(method === 'POST' ? { payload: { name: 'X' } } : {}),
      });
      expect(res.statusCode, `${method} ${url}`).toBe(401);
    }
    // The panel's own sign-in still asks for what role sync needs; a rating sign-in returns only to a rating page.
    const panel = await api.call(null, { method: 'GET', url: '/auth/discord/login?returnTo=/panel/' });
    expect(new URL(String(panel.headers.location)).searchParams.get('scope')).toBe(
      'identify guilds.members.read',
    );
    for (const url of [
      '/auth/discord/login?purpose=rating&returnTo=/panel/',
      '/auth/discord/login?purpose=admin',
    ])
      expect((await api.call(null, { method: 'GET', url })).statusCode, url).toBe(422);
  });
});

describe('signed in from a rating link with the wrong Discord account', () => {
  it('offers to sign in with another account, and /auth/logout ends the rating sign-in', async () => {
    const { ticketId } = await playerTicket('Lost my helmet');
    await close(ticketId);
    const link = api.app.ticketPages.rating.url(org.orgId, ticketId);
    const other = fake.addUser({ username: 'sol' });
    const { ticketId: theirs } = await playerTicket('Lost my boots', other.id);
    await close(theirs);
    const sol = await ratingSignIn(api.app.ticketPages.rating.url(org.orgId, theirs), other.id);
    const refused = await page(link, sol);
    expect(refused.statusCode).toBe(403);
    expect(refused.body).toContain('Sign in with another Discord account');
    expect(refused.body).toContain(
      `/auth/discord/login?purpose=rating&amp;returnTo=${encodeURIComponent(path(link))}`,
    );
    const out = await api.call(sol, { method: 'POST', url: '/auth/logout' });
    expect(out.statusCode, out.body).toBe(200);
    expect(String(out.headers['set-cookie'])).toMatch(/gm_session=;/);
    expect((await page(link, sol)).statusCode, 'the old cookie signs in no more').toBe(401);
  });
});

describe('what a rating sign-in keeps', () => {
  it('nothing but the session: erasing the player then leaves no trace of their Discord account', async () => {
    const person = fake.addUser({ username: 'mira_erase' });
    const { ticketId, playerId } = await playerTicket('Lost my map', person.id);
    await close(ticketId);
    const link = api.app.ticketPages.rating.url(org.orgId, ticketId);
    const mira = await ratingSignIn(link, person.id);
    expect((await post(link, { stars: '3' }, mira)).statusCode).toBe(200);
    const erased = await api.call(owner, {
      method: 'POST',
      url: `/v1/orgs/${org.orgId}/players/${playerId}/erase`,
      payload: { confirm: 'erase' },
    });
    expect(erased.statusCode, erased.body).toBe(200);
    const left = await db.admin.query(
      `select 'discord_accounts' as "table" from discord_accounts where discord_user_id = $1
       union all select 'users' from users where display_name = 'mira_erase'
       union all select 'player_profiles' from player_profiles where discord_user_id = $1
       union all select 'audit_logs' from audit_logs where data::text like '%' || $1 || '%'`,
      [person.id],
    );
    expect(left.rows, 'rows naming the player after the erase').toEqual([]);
    // Their sign-in's session held their Discord id in Redis until the idle timeout: the erase's
    // event ends it, in a job after the commit.
    const redis = api.app.deps.redis;
    const holding = async () => {
      const keys = await redis.keys('gm:rate-sess:*');
      const values = keys.length ? await redis.mget(...keys) : [];
      return values.filter((v) => v?.includes(person.id));
    };
    expect(await holding()).toHaveLength(1);
    const event = await db.admin.query<{ id: string }>(
      `select id from outbox where org_id = $1 and event_type = 'player.erased' and aggregate_id = $2`,
      [org.orgId, playerId],
    );
    const row = await withTenant(db.app, org.orgId, (tx) => getOutboxRow(tx, Number(event.rows[0]?.id)));
    const jobs = impliedJobs(row as NonNullable<typeof row>).filter((j) => j.name === 'rating.sessions_end');
    expect(jobs.map((j) => j.payload)).toEqual([{ orgId: org.orgId, playerId }]);
    const deps = { ratingSessions: { redis }, logger: createLogger('silent') };
    expect(await endErasedPlayerRatingSessions(deps, { orgId: org.orgId, playerId })).toBe(1);
    expect(await holding(), 'a session holding the erased player’s Discord id').toEqual([]);
    // The browser is signed out: the link asks to sign in again.
    expect((await page(link, mira)).statusCode).toBe(401);
  });
});
