import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../db/changes.js';
import { upsertPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { upsertDiscordUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

/**
 * The web rating page a closed ticket's Discord message links to: a signed link, used by the
 * ticket's player signed in with Discord, a plain form whose rating is recorded as the player, once.
 */
const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let owner: Caller;
/** The player, signed in with the Discord account that opened the tickets. */
let rin: Caller;
const RIN = '700000000000000001';

beforeAll(async () => {
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Rating links');
  owner = await api.sessionFor(org.ownerId);
  rin = await api.sessionFor((await upsertDiscordUser(db.app, { discordUserId: RIN, username: 'rin' })).id);
});
afterAll(() => api.close());

async function playerTicket(subject: string) {
  return withTenant(db.app, org.orgId, async (tx) => {
    const player = await upsertPlayer(tx, { displayName: 'Rin', discordUserId: RIN });
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
    expect(signIn.body).toContain(`/auth/discord/login?returnTo=${encodeURIComponent(path(link))}`);
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
});
