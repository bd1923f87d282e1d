import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

/**
 * What the panel's SLA badges, merge-by-number, tag picker and bulk retries read from the ticket
 * API: the next SLA clock on the list and on one ticket, the `number` filter, the org's tags, and
 * one-action routes that replay under the same Idempotency-Key.
 */
const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let owner: Caller;

beforeAll(async () => {
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Sla badges');
  owner = await api.sessionFor(org.ownerId);
});
afterAll(() => api.close());

const url = (path = '') => `/v1/orgs/${org.orgId}/tickets${path}`;

async function open(subject: string, tags: string[] = []) {
  const res = await api.call(owner, { method: 'POST', url: url(), payload: { subject, tags } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; number: number };
}

/** Appends SLA events as the SLA worker would (the source of truth the badge reads). */
async function slaEvent(ticketId: string, metric: string, kind: string, dueInMinutes: number | null) {
  await db.admin.query(
    `insert into ticket_sla_events (org_id, ticket_id, metric, kind, due_at)
     values ($1, $2, $3, $4, case when $5::int is null then null else now() + make_interval(mins => $5::int) end)`,
    [org.orgId, ticketId, metric, kind, dueInMinutes],
  );
}

type Sla = { metric: string; dueAt: string; breached: boolean } | null;
const listed = async (id: string): Promise<Sla> => {
  const res = await api.call(owner, { method: 'GET', url: url('?limit=100') });
  expect(res.statusCode, res.body).toBe(200);
  const t = (res.json().tickets as Array<{ id: string; sla: Sla }>).find((x) => x.id === id);
  expect(t).toBeDefined();
  return t?.sla ?? null;
};
const single = async (id: string): Promise<Sla> => {
  const res = await api.call(owner, { method: 'GET', url: url(`/${id}`) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().sla;
};
const minutesFromNow = (iso: string) => Math.round((new Date(iso).getTime() - Date.now()) / 60_000);

describe('the next SLA clock on tickets', () => {
  it('is null without a running clock, then the earliest running metric, on the list and on one ticket', async () => {
    const t = await open('Lost my items');
    expect(await listed(t.id)).toBeNull();
    expect(await single(t.id)).toBeNull();

    await slaEvent(t.id, 'resolution', 'activate', 24 * 60);
    await slaEvent(t.id, 'first_response', 'activate', 120);
    for (const sla of [await listed(t.id), await single(t.id)]) {
      expect(sla?.metric).toBe('first_response');
      expect(sla?.breached).toBe(false);
      expect(minutesFromNow(sla?.dueAt as string)).toBe(120);
    }

    // First response fulfilled: the resolution clock is next.
    await slaEvent(t.id, 'first_response', 'fulfil', null);
    const next = await listed(t.id);
    expect(next?.metric).toBe('resolution');
    expect(minutesFromNow(next?.dueAt as string)).toBe(24 * 60);

    // A paused clock does not count.
    await slaEvent(t.id, 'resolution', 'pause', null);
    expect(await listed(t.id)).toBeNull();
  });

  it('says breached when the breach is recorded, and when the due time passed before the timer fired', async () => {
    const recorded = await open('Stuck at login');
    await slaEvent(recorded.id, 'first_response', 'activate', -30);
    await slaEvent(recorded.id, 'first_response', 'breach', -30);
    await slaEvent(recorded.id, 'resolution', 'activate', 600);
    const a = await single(recorded.id);
    expect(a).toMatchObject({ metric: 'first_response', breached: true });
    expect(minutesFromNow(a?.dueAt as string)).toBe(-30);

    const unfired = await open('Crash on start');
    await slaEvent(unfired.id, 'next_response', 'activate', -5);
    expect(await listed(unfired.id)).toMatchObject({ metric: 'next_response', breached: true });

    // A recorded breach stays breached after the clock was re-activated with a later due time
    // (an escalation): the cycle has breached until it is fulfilled.
    await slaEvent(recorded.id, 'first_response', 'activate', 60);
    expect(await single(recorded.id)).toMatchObject({ metric: 'first_response', breached: true });
  });

  it('is null once the ticket is closed, whatever the events say', async () => {
    const t = await open('Refund');
    await slaEvent(t.id, 'resolution', 'activate', 60);
    expect(await listed(t.id)).toMatchObject({ metric: 'resolution' });
    const closed = await api.call(owner, { method: 'POST', url: url(`/${t.id}/close`), payload: {} });
    expect(closed.statusCode, closed.body).toBe(200);
    expect(await listed(t.id)).toBeNull();
    expect(await single(t.id)).toBeNull();
  });
});

describe('what the panel looks tickets and tags up by', () => {
  it('finds a ticket by its number, and refuses a number that is not one', async () => {
    const t = await open('Find me by number');
    const res = await api.call(owner, { method: 'GET', url: url(`?number=${t.number}`) });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().tickets.map((x: { id: string }) => x.id)).toEqual([t.id]);
    const bad = await api.call(owner, { method: 'GET', url: url('?number=abc') });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('number');
  });

  it("lists the org's tags, most used first", async () => {
    await open('Tagged one', ['billing', 'vip']);
    await open('Tagged two', ['billing']);
    const res = await api.call(owner, { method: 'GET', url: url('/tags') });
    expect(res.statusCode, res.body).toBe(200);
    const tags = res.json().tags as Array<{ tag: string; count: number }>;
    expect(tags.slice(0, 2)).toEqual([
      { tag: 'billing', count: 2 },
      { tag: 'vip', count: 1 },
    ]);
  });

  it('replays a one-ticket action sent again with the same Idempotency-Key, and does it once', async () => {
    const t = await open('Close me once');
    const tag = () =>
      api.call(owner, {
        method: 'POST',
        url: url(`/${t.id}/tags`),
        payload: { add: ['once'] },
        headers: { 'idempotency-key': `bulk-${t.id}` },
      });
    const count = async () =>
      (
        await db.admin.query<{ n: number }>(
          'select count(*)::int as n from ticket_events where org_id = $1 and ticket_id = $2',
          [org.orgId, t.id],
        )
      ).rows[0]?.n;
    const first = await tag();
    expect(first.statusCode, first.body).toBe(200);
    const after = await count();
    const again = await tag();
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().tags).toEqual(['once']);
    expect(await count()).toBe(after);
  });
});

describe('actions that take no body', () => {
  it('close, reopen and claim with no body at all, as a browser fetch or curl -X POST sends them', async () => {
    const t = await open('No body needed');
    for (const action of ['claim', 'close', 'reopen']) {
      const res = await api.call(owner, { method: 'POST', url: url(`/${t.id}/${action}`) });
      expect(res.statusCode, `${action}: ${res.body}`).toBe(200);
    }
  });
});
