import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGame } from '../../db/games.js';
import { reportFromGame } from '../../db/player-reports.js';
import { startSession } from '../../db/player-sessions.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { foldCaughtUp } from '../support/analytics.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, errorCode, startTestApi, type TestApi } from './support.js';

/**
 * GET /v1/orgs/{orgId}/analytics/player-activity over the folded player activity rollups: the
 * sessions and reports games send, distinct players, tickets per 1,000 players; defaults, CSV,
 * filters, groups, weeks, access, and one org's numbers never in another's.
 */
const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let other: OrgFixture;
let reader: Caller;
let otherReader: Caller;
let ticketsOnly: Caller;
let gameId: string;

const today = () => new Date().toISOString().slice(0, 10);
const addDays = (d: string, n: number) =>
  new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const url = (qs = '', orgId = org.orgId) => `/v1/orgs/${orgId}/analytics/player-activity${qs}`;

beforeAll(async () => {
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Players');
  other = await makeOrg(db.app, 'Elsewhere');
  // Ann plays on pc today and on ios yesterday; Bo on ios today. Ann reports Bo. Two tickets
  // today, one from pc and one from ps5 (where nobody played).
  gameId = await withTenant(db.app, org.orgId, async (tx) => {
    const game = await createGame(tx, { name: 'Quest', slug: 'quest' }, org.owner);
    const ann = { id: 'ann', name: 'Ann' };
    await startSession(tx, game.id, { player: ann, platform: 'pc', build: '1.0' });
    const late = await startSession(tx, game.id, { player: ann, platform: 'ios', build: '1.0' });
    await tx.query(
      `update player_sessions set started_at = started_at - interval '1 day' where id = $1::uuid`,
      [late.id],
    );
    await startSession(tx, game.id, { player: { id: 'bo', name: 'Bo' }, platform: 'ios', build: '1.1' });
    await reportFromGame(tx, game.id, { reporter: ann, reported: { id: 'bo', name: 'Bo' }, reason: 'spam' });
    await openTicket(tx, { subject: 'Crash', origin: 'game', customFields: { platform: 'pc' } }, org.owner);
    await openTicket(tx, { subject: 'Lag', origin: 'game', customFields: { platform: 'ps5' } }, org.owner);
    return game.id;
  });
  await withTenant(db.app, other.orgId, async (tx) => {
    const game = await createGame(tx, { name: 'Other', slug: 'other' }, other.owner);
    for (const id of ['x', 'y', 'z', 'w', 'v'])
      await startSession(tx, game.id, { player: { id, name: id }, platform: 'pc' });
  });
  await foldCaughtUp(db.app, org.orgId);
  await foldCaughtUp(db.app, other.orgId);
  reader = await api.tokenFor(db.app, org.orgId, ['analytics:read']);
  otherReader = await api.tokenFor(db.app, other.orgId, ['analytics:read']);
  ticketsOnly = await api.tokenFor(db.app, org.orgId, ['tickets:read']);
});
afterAll(() => api.close());

const get = async (qs = '', who = reader, orgId = org.orgId) => {
  const res = await api.call(who, { method: 'GET', url: url(qs, orgId) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};

describe('player activity API', () => {
  it('answers with no query string: the last 30 days, daily, players counted once over the range', async () => {
    const body = await get();
    expect(body).toMatchObject({ bucket: 'day', timeZone: 'UTC', groupBy: null, previous: null });
    expect(body.to).toBe(today());
    const [series] = body.series;
    expect(series.group).toBeNull();
    expect(series.points).toHaveLength(30);
    expect(series.points.at(-1)).toEqual({
      bucket: today(),
      sessions: 2,
      activePlayers: 2,
      reports: 1,
      ticketsOpened: 2,
      ticketsPer1000Players: 1000,
    });
    expect(series.points.at(-2)).toMatchObject({
      bucket: addDays(today(), -1),
      sessions: 1,
      activePlayers: 1,
    });
    // Three player-days, two players: a range's players are not the sum of its days'.
    expect(series.total).toEqual({
      sessions: 3,
      activePlayers: 2,
      reports: 1,
      ticketsOpened: 2,
      ticketsPer1000Players: 1000,
    });
  });

  it('buckets by week and by hour, and compares with the previous period', async () => {
    const weekly = (await get('?bucket=week')).series[0];
    const monday = (d: string) => addDays(d, -((new Date(`${d}T00:00:00Z`).getUTCDay() + 6) % 7));
    const sameWeek = monday(today()) === monday(addDays(today(), -1));
    const players = weekly.points.map((p: { activePlayers: number }) => p.activePlayers);
    expect(players.reduce((a: number, b: number) => a + b, 0)).toBe(sameWeek ? 2 : 3);
    expect(weekly.total.activePlayers).toBe(2);
    const hourly = await get('?bucket=hour&compare=true');
    expect(hourly.series[0].points).toHaveLength(30 * 24);
    expect(hourly.series[0].total.sessions).toBe(3);
    expect(hourly.previous.to).toBe(addDays(hourly.from, -1));
    expect(hourly.previous.series[0].total).toMatchObject({ sessions: 0, activePlayers: 0 });
  });

  it('filters and groups by platform and game, counting a player on two platforms once', async () => {
    const grouped = await get('?groupBy=platform');
    const by = Object.fromEntries(
      grouped.series.map((s: { group: string | null; total: unknown }) => [String(s.group), s.total]),
    );
    expect(Object.keys(by).sort()).toEqual(['ios', 'null', 'pc', 'ps5']);
    expect(by.pc).toMatchObject({
      sessions: 1,
      activePlayers: 1,
      ticketsOpened: 1,
      ticketsPer1000Players: 1000,
    });
    expect(by.ios).toMatchObject({
      sessions: 2,
      activePlayers: 2,
      ticketsOpened: 0,
      ticketsPer1000Players: 0,
    });
    expect(by.ps5).toMatchObject({
      sessions: 0,
      activePlayers: 0,
      ticketsOpened: 1,
      ticketsPer1000Players: null,
    });
    // Reports carry no platform.
    expect(by.null).toMatchObject({ sessions: 0, reports: 1 });
    // Two platforms merged into one series: Ann played on both, and counts once.
    const both = (await get('?platform=pc,ios')).series[0];
    expect(both.total).toMatchObject({ sessions: 3, activePlayers: 2, ticketsOpened: 1 });
    expect(both.points.at(-1)).toMatchObject({ sessions: 2, activePlayers: 2 });
    const game = (await get(`?game=${gameId.toUpperCase()}`)).series[0];
    expect(game.total).toMatchObject({ sessions: 3, activePlayers: 2, reports: 1 });
  });

  it('answers text/csv to Accept: text/csv and to ?format=csv', async () => {
    for (const opts of [
      { headers: { accept: 'text/csv' }, qs: '' },
      { headers: {}, qs: '?format=csv' },
    ]) {
      const res = await api.call(reader, { method: 'GET', url: url(opts.qs), headers: opts.headers });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      const lines = res.body.trim().split('\r\n');
      expect(lines[0]).toBe(
        'period,group,bucket,sessions,activePlayers,reports,ticketsOpened,ticketsPer1000Players',
      );
      expect(lines).toHaveLength(31);
      expect(lines.at(-1)).toBe(`current,,${today()},2,2,1,2,1000`);
    }
  });

  it('refuses dimensions sessions do not carry, two dimensions at once, and callers without analytics.read', async () => {
    for (const qs of [
      '?team=8a1e5b1c-0000-4000-8000-000000000000',
      '?source=game',
      '?game=x',
      '?groupBy=team',
    ]) {
      const res = await api.call(reader, { method: 'GET', url: url(qs) });
      expect([400, 422], `${qs}: ${res.body}`).toContain(res.statusCode);
    }
    const two = await api.call(reader, { method: 'GET', url: url(`?game=${gameId}&groupBy=platform`) });
    expect([400, 422]).toContain(two.statusCode);
    expect(two.body).toContain('groupBy');
    const denied = await api.call(ticketsOnly, { method: 'GET', url: url() });
    expect(denied.statusCode).toBe(403);
    expect(errorCode(denied)).toBe('forbidden');
  });

  it("never shows another organization's players", async () => {
    const mine = (await get()).series[0].total;
    const theirs = (await get('', otherReader, other.orgId)).series[0].total;
    expect(mine.activePlayers).toBe(2);
    expect(theirs).toMatchObject({ sessions: 5, activePlayers: 5, reports: 0 });
    const across = await api.call(reader, { method: 'GET', url: url('', other.orgId) });
    expect([403, 404]).toContain(across.statusCode);
    expect(across.body).not.toContain('activePlayers');
  });
});
