import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCategory } from '../../db/categories.js';
import { createGame } from '../../db/games.js';
import { upsertPlayer } from '../../db/players.js';
import { createTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket, reply } from '../../db/tickets.js';
import { scoreSentiment } from '../../lib/sentiment.js';
import { foldCaughtUp } from '../support/analytics.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, errorCode, startTestApi, type TestApi } from './support.js';

/**
 * GET /v1/orgs/{orgId}/analytics/sentiment over the folded sentiment rollups: scored player
 * messages, their average score and labels; defaults, buckets, compare, groups and filters by
 * game, category and team, CSV, refusals, access, and one org's messages never in another's.
 */
const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let other: OrgFixture;
let reader: Caller;
let otherReader: Caller;
let ticketsOnly: Caller;
let ids: { game: string; category: string; team: string };

const GOOD = 'Thanks, that fixed it, great support';
const BAD = 'This is broken and unfair';
const FLAT = 'I use the launcher';
const score = (body: string) => scoreSentiment(body).score;

const today = () => new Date().toISOString().slice(0, 10);
const addDays = (d: string, n: number) =>
  new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const url = (qs = '', orgId = org.orgId) => `/v1/orgs/${orgId}/analytics/sentiment${qs}`;
const avg = (...bodies: string[]) =>
  Math.round((bodies.reduce((s, b) => s + score(b), 0) / bodies.length) * 100) / 100;

beforeAll(async () => {
  expect([scoreSentiment(GOOD).label, scoreSentiment(BAD).label, scoreSentiment(FLAT).label]).toEqual([
    'positive',
    'negative',
    'neutral',
  ]);
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Moods');
  other = await makeOrg(db.app, 'Elsewhere');
  // Ticket A (the game, Bugs, Tier 2): GOOD and BAD today, FLAT yesterday. Ticket B (none of
  // them): BAD today and a staff reply, which is not scored.
  ids = await withTenant(db.app, org.orgId, async (tx) => {
    const game = await createGame(tx, { name: 'Quest', slug: 'quest' }, org.owner);
    const category = await createCategory(tx, { name: 'Bugs' }, org.owner);
    const team = await createTeam(tx, { name: 'Tier 2' }, org.owner);
    const p = await upsertPlayer(tx, { displayName: 'Pat', email: 'pat@example.test' });
    const player = { type: 'player' as const, id: p.id };
    const a = await openTicket(
      tx,
      { subject: 'Crash', origin: 'panel', gameId: game.id, categoryId: category.id, teamId: team.id },
      org.owner,
    );
    const b = await openTicket(tx, { subject: 'Lag', origin: 'panel' }, org.owner);
    await reply(tx, { ticketId: a.ticket.id, body: GOOD, origin: 'discord' }, player);
    await reply(tx, { ticketId: a.ticket.id, body: BAD, origin: 'discord' }, player);
    const late = await reply(tx, { ticketId: a.ticket.id, body: FLAT, origin: 'discord' }, player);
    await tx.query(`update messages set created_at = created_at - interval '1 day' where id = $1::uuid`, [
      late.message.id,
    ]);
    await reply(tx, { ticketId: b.ticket.id, body: BAD, origin: 'discord' }, player);
    await reply(tx, { ticketId: b.ticket.id, body: 'Looking into it', origin: 'panel' }, org.owner);
    return { game: game.id, category: category.id, team: team.id };
  });
  await withTenant(db.app, other.orgId, async (tx) => {
    const p = await upsertPlayer(tx, { displayName: 'Other', email: 'o@example.test' });
    const t = await openTicket(tx, { subject: 'Hi', origin: 'panel' }, other.owner);
    for (let i = 0; i < 5; i++)
      await reply(tx, { ticketId: t.ticket.id, body: GOOD, origin: 'api' }, { type: 'player', id: p.id });
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

describe('sentiment API', () => {
  it('answers with no query string: the last 30 days, daily, the average from exact sums', async () => {
    const body = await get();
    expect(body).toMatchObject({ bucket: 'day', timeZone: 'UTC', groupBy: null, previous: null });
    expect(body.to).toBe(today());
    const [series] = body.series;
    expect(body.series).toHaveLength(1);
    expect(series.group).toBeNull();
    expect(series.points).toHaveLength(30);
    expect(series.points.at(-1)).toEqual({
      bucket: today(),
      messages: 3,
      scoreSum: score(GOOD) + 2 * score(BAD),
      averageScore: avg(GOOD, BAD, BAD),
      negative: 2,
      neutral: 0,
      positive: 1,
      negativeShare: 0.6667,
    });
    expect(series.points.at(-2)).toMatchObject({ bucket: addDays(today(), -1), messages: 1, neutral: 1 });
    expect(series.points[0]).toMatchObject({ messages: 0, averageScore: null, negativeShare: null });
    expect(series.total).toEqual({
      messages: 4,
      scoreSum: score(GOOD) + 2 * score(BAD) + score(FLAT),
      averageScore: avg(GOOD, BAD, BAD, FLAT),
      negative: 2,
      neutral: 1,
      positive: 1,
      negativeShare: 0.5,
    });
  });

  it('buckets by week and by hour, and compares with the previous period', async () => {
    const weekly = (await get('?bucket=week')).series[0];
    const counts = weekly.points.map((p: { messages: number }) => p.messages);
    expect(counts.reduce((a: number, b: number) => a + b, 0)).toBe(4);
    expect(weekly.total.averageScore).toBe(avg(GOOD, BAD, BAD, FLAT));
    const hourly = await get('?bucket=hour&compare=true');
    expect(hourly.series[0].points).toHaveLength(30 * 24);
    expect(hourly.series[0].total.messages).toBe(4);
    expect(hourly.previous.to).toBe(addDays(hourly.from, -1));
    expect(hourly.previous.series[0].total).toMatchObject({ messages: 0, averageScore: null });
    // A range that starts today: yesterday's message is in the previous period.
    const short = await get(`?from=${today()}&compare=true`);
    expect(short.series[0].total.messages).toBe(3);
    expect(short.previous).toMatchObject({ from: addDays(today(), -1), to: addDays(today(), -1) });
    expect(short.previous.series[0].total).toMatchObject({ messages: 1, neutral: 1 });
  });

  it('groups and filters by the game, category and team of the ticket', async () => {
    for (const [dim, id] of [
      ['game', ids.game],
      ['category', ids.category],
      ['team', ids.team],
    ] as const) {
      const grouped = await get(`?groupBy=${dim}`);
      expect(grouped.groupBy).toBe(dim);
      const by = Object.fromEntries(
        grouped.series.map((s: { group: string | null; total: unknown }) => [String(s.group), s.total]),
      );
      expect(Object.keys(by).sort(), dim).toEqual([id, 'null'].sort());
      expect(by[id]).toMatchObject({ messages: 3, positive: 1, negative: 1, neutral: 1 });
      expect(by.null).toMatchObject({ messages: 1, negative: 1, negativeShare: 1 });
      const only = (await get(`?${dim}=${id.toUpperCase()}`)).series[0];
      expect(only.total).toMatchObject({ messages: 3, averageScore: avg(GOOD, BAD, FLAT) });
      const groupedAndFiltered = await get(`?${dim}=${id}&groupBy=${dim}`);
      expect(groupedAndFiltered.series.map((s: { group: string }) => s.group)).toEqual([id]);
    }
  });

  it('answers text/csv to Accept: text/csv and to ?format=csv', async () => {
    for (const opts of [
      { headers: { accept: 'text/csv' }, qs: '' },
      { headers: {}, qs: '?format=csv' },
    ]) {
      const res = await api.call(reader, { method: 'GET', url: url(opts.qs), headers: opts.headers });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      expect(res.headers['content-disposition']).toContain('sentiment-');
      const lines = res.body.trim().split('\r\n');
      expect(lines[0]).toBe(
        'period,group,bucket,messages,scoreSum,averageScore,negative,neutral,positive,negativeShare',
      );
      expect(lines).toHaveLength(31);
      expect(lines.at(-1)).toBe(
        `current,,${today()},3,${score(GOOD) + 2 * score(BAD)},${avg(GOOD, BAD, BAD)},2,0,1,0.6667`,
      );
    }
  });

  it('refuses filters messages do not carry, two dimensions at once, and callers without analytics.read', async () => {
    for (const qs of [
      '?platform=pc',
      '?source=discord',
      '?assignee=8a1e5b1c-0000-4000-8000-000000000000',
      '?game=x',
      '?groupBy=platform',
    ]) {
      const res = await api.call(reader, { method: 'GET', url: url(qs) });
      expect(res.statusCode, `${qs}: ${res.body}`).toBe(422);
    }
    const two = await api.call(reader, { method: 'GET', url: url(`?game=${ids.game}&groupBy=team`) });
    expect(two.statusCode).toBe(422);
    expect(two.body).toContain('groupBy');
    const named = await api.call(reader, { method: 'GET', url: url('?priority=high') });
    expect(named.body).toContain('priority');
    const denied = await api.call(ticketsOnly, { method: 'GET', url: url() });
    expect(denied.statusCode).toBe(403);
    expect(errorCode(denied)).toBe('forbidden');
  });

  it("never shows another organization's messages", async () => {
    expect((await get()).series[0].total.messages).toBe(4);
    const theirs = (await get('', otherReader, other.orgId)).series[0].total;
    expect(theirs).toMatchObject({ messages: 5, positive: 5, negative: 0 });
    const across = await api.call(reader, { method: 'GET', url: url('', other.orgId) });
    expect([403, 404]).toContain(across.statusCode);
    expect(across.body).not.toContain('averageScore');
  });

  it('is in the OpenAPI document', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    const op = doc.paths['/v1/orgs/{orgId}/analytics/sentiment']?.get;
    expect(op?.operationId).toBe('analyticsSentiment');
    expect(Object.keys(doc.components.schemas)).toContain('AnalyticsSentiment');
  });
});
