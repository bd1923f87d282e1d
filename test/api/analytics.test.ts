import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openedHeatmap, openedHeatmapHourly } from '../../db/analytics-read.js';
import { withTenant } from '../../db/tenant.js';
import { assign } from '../../db/ticket-actions.js';
import { rate, setStatus } from '../../db/ticket-status.js';
import { openTicket, reply } from '../../db/tickets.js';
import { foldCaughtUp, insertImportedTicket, useDefaultCalendar } from '../support/analytics.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, errorCode, startTestApi, type TestApi } from './support.js';

/** The analytics API over the folded rollups: defaults, filters, groups, CSV, access. */
const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let reader: Caller;
let ticketsOnly: Caller;

const ENDPOINTS = [
  'volume',
  'response-times',
  'sla',
  'reopens',
  'csat',
  'workload',
  'heatmap',
  'player-activity',
  'sentiment',
];
const url = (path: string, qs = '') => `/v1/orgs/${org.orgId}/analytics/${path}${qs}`;

beforeAll(async () => {
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Numbers');
  await withTenant(db.app, org.orgId, async (tx) => {
    const a = await openTicket(
      tx,
      { subject: 'Crash', origin: 'discord', customFields: { platform: 'pc' } },
      org.owner,
    );
    await openTicket(
      tx,
      { subject: 'Lag', origin: 'game', priority: 'high', customFields: { platform: 'ps5' } },
      org.owner,
    );
    await assign(tx, { ticketId: a.ticket.id, assigneeId: org.ownerId }, org.owner);
    await reply(tx, { ticketId: a.ticket.id, body: 'Looking', origin: 'panel' }, org.owner);
    await setStatus(tx, { ticketId: a.ticket.id, status: 'solved' }, org.owner);
    await rate(tx, { ticketId: a.ticket.id, rating: 5 }, org.owner);
  });
  await foldCaughtUp(db.app, org.orgId);
  reader = await api.tokenFor(db.app, org.orgId, ['analytics:read']);
  ticketsOnly = await api.tokenFor(db.app, org.orgId, ['tickets:read']);
});
afterAll(() => api.close());

describe('analytics API', () => {
  it('answers every endpoint with no query string: the last 30 days, daily', async () => {
    for (const path of ENDPOINTS) {
      const res = await api.call(reader, { method: 'GET', url: url(path) });
      expect(res.statusCode, `${path}: ${res.body}`).toBe(200);
      const body = res.json();
      expect(body.timeZone).toBe('UTC');
      if (body.series) {
        expect(body.bucket).toBe('day');
        expect(body.series[0].points).toHaveLength(30);
      }
    }
  });

  it('reports volume, backlog, times, CSAT and workload from the folded tickets', async () => {
    const volume = (await api.call(reader, { method: 'GET', url: url('volume') })).json();
    expect(volume.series[0].total).toMatchObject({ opened: 2, solved: 1, merged: 0, backlog: 1 });
    const today = volume.series[0].points.at(-1);
    expect(today).toMatchObject({ opened: 2, solved: 1, backlog: 1 });

    const times = (await api.call(reader, { method: 'GET', url: url('response-times') })).json();
    expect(times.series[0].total.firstResponse.count).toBe(1);
    expect(times.series[0].total.resolution.median).toBeGreaterThanOrEqual(0);

    const csat = (await api.call(reader, { method: 'GET', url: url('csat') })).json();
    expect(csat.series[0].total).toMatchObject({
      rated: 1,
      average: 5,
      distribution: [0, 0, 0, 0, 1],
      responseRate: 1,
    });

    const work = (await api.call(reader, { method: 'GET', url: url('workload') })).json();
    expect(work.assignees).toContainEqual(
      expect.objectContaining({ assigneeId: org.ownerId, open: 0, replies: 1, resolved: 1 }),
    );
    expect(work.assignees).toContainEqual(expect.objectContaining({ assigneeId: null, open: 1 }));

    const heat = (await api.call(reader, { method: 'GET', url: url('heatmap') })).json();
    expect(heat.cells.flat().reduce((a: number, b: number) => a + b, 0)).toBe(2);
  });

  it('filters, groups, buckets by hour and compares with the previous period', async () => {
    const pc = (await api.call(reader, { method: 'GET', url: url('volume', '?platform=pc') })).json();
    expect(pc.series[0].total.opened).toBe(1);
    const grouped = (await api.call(reader, { method: 'GET', url: url('volume', '?groupBy=source') })).json();
    expect(grouped.series.map((s: { group: string }) => s.group).sort()).toEqual(['discord', 'game']);
    const hourly = await api.call(reader, { method: 'GET', url: url('sla', '?bucket=hour&compare=true') });
    expect(hourly.statusCode, hourly.body).toBe(200);
    const h = hourly.json();
    expect(h.series[0].points).toHaveLength(30 * 24);
    expect(h.previous.to).toBe(addDays(h.from, -1));
    expect(h.previous.series[0].total.tickets).toBe(0);
  });

  it('reports next response times, and all three times in business hours with ?time=business', async () => {
    // Working hours 00:00-12:00 UTC every day: an imported ticket opened at 10:00 three days ago.
    const office = await makeOrg(db.app, 'Mornings');
    const day = addDays(new Date().toISOString().slice(0, 10), -3);
    const at = (d: number, hm: string) => `${addDays(day, d)}T${hm}:00Z`;
    const mornings = Object.fromEntries(
      ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'].map((d) => [d, [[0, 720] as [number, number]]]),
    );
    await useDefaultCalendar(db.app, office, { name: 'Mornings', timezone: 'UTC', weeklyHours: mornings });
    await insertImportedTicket(db.admin, office, {
      opened: at(0, '10:00'),
      firstResponse: at(0, '14:00'),
      solved: at(2, '11:00'),
      messages: [
        ['user', at(0, '14:00')],
        ['player', at(1, '11:00')],
        ['user', at(1, '13:00')],
      ],
    });
    await foldCaughtUp(db.app, office.orgId);
    const caller = await api.tokenFor(db.app, office.orgId, ['analytics:read']);
    const ask = async (qs: string) => {
      const res = await api.call(caller, {
        method: 'GET',
        url: `/v1/orgs/${office.orgId}/analytics/response-times${qs}`,
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json();
    };
    const wall = await ask('');
    expect(wall.time).toBe('calendar');
    expect(wall.series[0].total).toMatchObject({
      firstResponse: { count: 1, mean: 4 * 3600 },
      nextResponse: { count: 1, mean: 2 * 3600 },
      resolution: { count: 1, mean: 49 * 3600 },
    });
    // The next response lands in the bucket of the reply that ended the wait.
    const nextDay = wall.series[0].points.find((p: { bucket: string }) => p.bucket === addDays(day, 1));
    expect(nextDay.nextResponse.count).toBe(1);
    const business = await ask('?time=business');
    expect(business.time).toBe('business');
    // 10:00-12:00; 11:00-12:00; 10:00-12:00, a whole morning and 00:00-11:00.
    expect(business.series[0].total).toMatchObject({
      firstResponse: { count: 1, mean: 2 * 3600 },
      nextResponse: { count: 1, mean: 3600 },
      resolution: { count: 1, mean: 25 * 3600 },
    });
    const csv = await api.call(caller, {
      method: 'GET',
      url: `/v1/orgs/${office.orgId}/analytics/response-times?time=business&format=csv`,
    });
    const [head, ...rows] = csv.body.trim().split('\r\n');
    const col = (head as string).split(',').indexOf('nextResponse.mean');
    expect(col).toBeGreaterThan(0);
    expect(rows.map((r) => r.split(',')[col]).filter(Boolean)).toEqual(['3600']);
    const bad = await api.call(caller, {
      method: 'GET',
      url: `/v1/orgs/${office.orgId}/analytics/response-times?time=office`,
    });
    expect([400, 422]).toContain(bad.statusCode);
  });

  it('reads the heatmap from the daily rows as the hourly rows have it, filtered or not', async () => {
    const from = addDays(new Date().toISOString().slice(0, 10), -29);
    const to = new Date().toISOString().slice(0, 10);
    for (const filters of [{}, { platform: ['pc'] }, { source: ['game'] }]) {
      const [daily, hourly] = await withTenant(db.app, org.orgId, async (tx) => [
        await openedHeatmap(tx, { from, to, bucket: 'day', filters }),
        await openedHeatmapHourly(tx, { from, to, bucket: 'hour', filters }),
      ]);
      expect(daily).toEqual(hourly);
      expect(daily.flat().reduce((a, b) => a + b, 0)).toBe(
        'platform' in filters || 'source' in filters ? 1 : 2,
      );
    }
  });

  it('answers text/csv to Accept: text/csv and to ?format=csv', async () => {
    const byHeader = await api.call(reader, {
      method: 'GET',
      url: url('volume'),
      headers: { accept: 'text/csv' },
    });
    expect(byHeader.statusCode).toBe(200);
    expect(byHeader.headers['content-type']).toMatch(/^text\/csv/);
    const lines = byHeader.body.trim().split('\r\n');
    expect(lines[0]).toBe('period,group,bucket,opened,solved,merged,backlog');
    expect(lines).toHaveLength(31);
    const byQuery = await api.call(reader, { method: 'GET', url: url('response-times', '?format=csv') });
    expect(byQuery.headers['content-type']).toMatch(/^text\/csv/);
    expect(byQuery.body.split('\r\n')[0]).toContain('firstResponse.median');
    for (const path of ['workload', 'heatmap']) {
      const res = await api.call(reader, { method: 'GET', url: url(path, '?format=csv') });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
    }
  });

  it('refuses bad input with a 422 naming it, and callers without analytics.read', async () => {
    const bad = [
      '?from=2026-02-30',
      '?from=2026-05-02&to=2026-05-01',
      '?bucket=hour&from=2026-01-01&to=2026-03-01',
      '?team=not-a-uuid',
      '?groupBy=colour',
      '?bucket=month',
    ];
    for (const qs of bad) {
      const res = await api.call(reader, { method: 'GET', url: url('volume', qs) });
      expect([400, 422], `${qs}: ${res.body}`).toContain(res.statusCode);
    }
    const denied = await api.call(ticketsOnly, { method: 'GET', url: url('volume') });
    expect(denied.statusCode).toBe(403);
    expect(errorCode(denied)).toBe('forbidden');
  });
});

function addDays(d: string, n: number) {
  return new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}
