import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../db/tenant.js';
import { assign } from '../../db/ticket-actions.js';
import { rate, setStatus } from '../../db/ticket-status.js';
import { openTicket, reply } from '../../db/tickets.js';
import { foldCaughtUp } from '../support/analytics.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, errorCode, startTestApi, type TestApi } from './support.js';

/** The analytics API over the folded rollups: defaults, filters, groups, CSV, access. */
const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let reader: Caller;
let ticketsOnly: Caller;

const ENDPOINTS = ['volume', 'response-times', 'sla', 'reopens', 'csat', 'workload', 'heatmap'];
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
