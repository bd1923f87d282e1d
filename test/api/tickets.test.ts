import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from '../../db/memberships.js';
import { createTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, errorCode, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let owner: Caller;
let token: Caller;

beforeAll(async () => {
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Tickets');
  owner = await api.sessionFor(org.ownerId);
  token = await api.tokenFor(db.app, org.orgId, ['tickets:write']);
});
afterAll(() => api.close());

const url = (path = '') => `/v1/orgs/${org.orgId}/tickets${path}`;

async function open(who: Caller, body: Record<string, unknown>) {
  const res = await api.call(who, { method: 'POST', url: url(), payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; number: number; origin: string; status: string };
}

describe('tickets over HTTP', () => {
  it('opens a ticket with a token (origin api) and with a session (origin panel)', async () => {
    const a = await open(token, { subject: 'Crash on load', body: 'it crashes', tags: ['crash'] });
    const b = await open(owner, { subject: 'Refund please', priority: 'high' });
    expect(a.origin).toBe('api');
    expect(b.origin).toBe('panel');
    expect(b.number).toBe(a.number + 1);
    const events = await db.admin.query(
      'select event_type from outbox where org_id = $1 and aggregate_id = $2',
      [org.orgId, a.id],
    );
    expect(events.rows.map((r) => r.event_type)).toEqual(['ticket.created']);
  });

  it('works a ticket through reply, note, claim, priority, tags, status, close and reopen', async () => {
    const t = await open(owner, { subject: 'Stuck in wall' });
    const one = (p: string) => url(`/${t.id}${p}`);
    const post = (p: string, payload: Record<string, unknown> = {}) =>
      api.call(owner, { method: 'POST', url: one(p), payload });

    expect((await post('/replies', { body: 'Try /unstuck', status: 'pending' })).statusCode).toBe(201);
    expect((await post('/notes', { body: 'Known bug #12' })).statusCode).toBe(201);
    expect((await post('/claim')).json().assigneeId).toBe(org.ownerId);
    expect((await post('/priority', { priority: 'urgent' })).json().priority).toBe('urgent');
    expect((await post('/tags', { add: ['bug', 'physics'] })).json().tags).toEqual(['bug', 'physics']);
    expect((await post('/status', { status: 'on_hold' })).json().status).toBe('on_hold');
    expect((await post('/close', { reason: 'fixed in 1.2' })).json().status).toBe('closed');
    expect((await post('/reopen')).json().status).toBe('open');

    const view = await api.call(owner, { method: 'GET', url: one('') });
    expect(view.statusCode).toBe(200);
    const body = view.json();
    expect(body.messages.map((m: { body: string }) => m.body)).toEqual(['Try /unstuck']);
    expect(body.notes.map((n: { body: string }) => n.body)).toEqual(['Known bug #12']);
    expect(body.events.map((e: { type: string }) => e.type)).toContain('ticket.closed');
    const audit = await db.admin.query(
      `select action from audit_logs where org_id = $1 and target_id = $2 and actor_id = $3`,
      [org.orgId, t.id, org.ownerId],
    );
    expect(audit.rows.map((r) => r.action)).toEqual(
      expect.arrayContaining(['message.created', 'note.created', 'ticket.assigned', 'ticket.closed']),
    );
  });

  it('refuses a transition the rules do not allow, changing nothing', async () => {
    const t = await open(owner, { subject: 'Rules' });
    await api.call(owner, { method: 'POST', url: url(`/${t.id}/close`), payload: {} });
    const res = await api.call(owner, {
      method: 'POST',
      url: url(`/${t.id}/status`),
      payload: { status: 'pending' },
    });
    expect(res.statusCode).toBe(409);
    expect(errorCode(res)).toBe('invalid_transition');
  });

  it('searches subjects and messages, filters and pages with a cursor', async () => {
    const team = await withTenant(db.app, org.orgId, (tx) => createTeam(tx, { name: 'Billing' }, org.owner));
    const made = [];
    for (let i = 0; i < 5; i++)
      made.push(await open(token, { subject: `Payment issue ${i}`, tags: ['billing'] }));
    await api.call(owner, {
      method: 'POST',
      url: url(`/${made[0]?.id}/replies`),
      payload: { body: 'the gizmoflux refund is on its way' },
    });
    await api.call(owner, {
      method: 'POST',
      url: url(`/${made[1]?.id}/transfer`),
      payload: { teamId: team.id },
    });

    const byWord = await api.call(owner, { method: 'GET', url: url('?q=gizmoflux') });
    expect(byWord.json().tickets.map((t: { id: string }) => t.id)).toEqual([made[0]?.id]);
    const byTeam = await api.call(owner, { method: 'GET', url: url(`?team=${team.id}`) });
    expect(byTeam.json().tickets.map((t: { id: string }) => t.id)).toEqual([made[1]?.id]);

    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page = await api.call(owner, {
        method: 'GET',
        url: url(`?tag=billing&sort=number&order=asc&limit=2${after ? `&after=${after}` : ''}`),
      });
      expect(page.statusCode, page.body).toBe(200);
      const body = page.json() as { tickets: { id: string }[]; next: string | null };
      seen.push(...body.tickets.map((t) => t.id));
      after = body.next;
    } while (after);
    expect(seen).toEqual(made.map((t) => t.id));

    const bad = await api.call(owner, { method: 'GET', url: url('?sort=number&after=bm9wZQ') });
    expect(bad.statusCode).toBe(422);
  });

  it('applies bulk actions per ticket and reports each result', async () => {
    const a = await open(owner, { subject: 'Bulk A' });
    const b = await open(owner, { subject: 'Bulk B' });
    await api.call(owner, { method: 'POST', url: url(`/${b.id}/close`), payload: {} });
    const res = await api.call(owner, {
      method: 'POST',
      url: url('/bulk'),
      payload: { ticketIds: [a.id, b.id], action: { type: 'status', status: 'pending' } },
    });
    expect(res.statusCode, res.body).toBe(200);
    const results = res.json().results as { ticketId: string; ok: boolean; error: { code: string } | null }[];
    expect(results.find((r) => r.ticketId === a.id)?.ok).toBe(true);
    expect(results.find((r) => r.ticketId === b.id)?.error?.code).toBe('invalid_transition');
  });

  it('lets an agent work tickets but not close them through a status change without tickets.close', async () => {
    const agentUser = await createUser(db.app, { displayName: 'Viewer' });
    await withTenant(db.app, org.orgId, (tx) =>
      addMember(tx, { userId: agentUser.id, role: 'viewer' }, org.owner),
    );
    const viewer = await api.sessionFor(agentUser.id);
    const t = await open(owner, { subject: 'Viewer test' });
    expect((await api.call(viewer, { method: 'GET', url: url(`/${t.id}`) })).statusCode).toBe(200);
    const res = await api.call(viewer, {
      method: 'POST',
      url: url(`/${t.id}/replies`),
      payload: { body: 'hi' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.details.permission).toBe('tickets.reply');
  });

  it('filters by source, priority, assignee, time range and SLA state', async () => {
    const made = [];
    for (const priority of ['low', 'urgent', 'urgent']) {
      made.push(await open(owner, { subject: `Filter ${priority}`, priority }));
    }
    const [low, breached, dueSoon] = made as [(typeof made)[0], (typeof made)[0], (typeof made)[0]];
    await db.admin.query(
      "update tickets set sla_due_at = now() - interval '1 minute', sla_breached_at = now() where id = $1",
      [breached.id],
    );
    await db.admin.query("update tickets set sla_due_at = now() + interval '10 minutes' where id = $1", [
      dueSoon.id,
    ]);
    await api.call(owner, { method: 'POST', url: url(`/${low.id}/claim`), payload: {} });
    const ids = async (q: string) =>
      ((await api.call(owner, { method: 'GET', url: url(`?${q}`) })).json().tickets as { id: string }[]).map(
        (t) => t.id,
      );

    expect(await ids('sla=breached')).toEqual([breached.id]);
    expect(await ids('sla=due_soon')).toEqual([dueSoon.id]);
    expect(await ids(`assignee=${org.ownerId}&q=Filter`)).toEqual([low.id]);
    expect(new Set(await ids('priority=urgent&q=Filter'))).toEqual(new Set([breached.id, dueSoon.id]));
    expect(await ids('assignee=none&priority=low&q=Filter')).toEqual([]);
    expect((await ids('source=panel&q=Filter')).length).toBe(3);
    expect(await ids('source=api&q=Filter')).toEqual([]);
    const future = new Date(Date.now() + 3600_000).toISOString();
    expect(await ids(`createdFrom=${encodeURIComponent(future)}`)).toEqual([]);
    const sorted = await ids('q=Filter&sort=priority&order=desc');
    expect(sorted.at(-1)).toBe(low.id);
  });

  it('lists tickets with requester and assignee names, and counts the inbox', async () => {
    const t = await open(owner, { subject: 'Named' });
    await api.call(owner, { method: 'POST', url: url(`/${t.id}/claim`), payload: {} });
    const listed = (await api.call(owner, { method: 'GET', url: url('?q=Named') })).json().tickets[0];
    expect(listed.assigneeName).toBe('Tickets owner');
    expect(listed.requesterName).toBeNull();
    const counts = (await api.call(owner, { method: 'GET', url: url('/counts') })).json();
    const total = Number(
      (await db.admin.query('select count(*) from tickets where org_id = $1', [org.orgId])).rows[0].count,
    );
    expect(Object.values(counts.byStatus as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(total);
    expect(counts.mine).toBeGreaterThanOrEqual(1);
  });
});
