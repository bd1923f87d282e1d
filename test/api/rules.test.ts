import { describe, expect, it } from 'vitest';
import { addTeamMember, createTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { auditActions, expectBadBodiesRefused, expectError, useSettingsApi } from './settings-support.js';

const { db, api, w } = useSettingsApi('Rules');

const rules = (path = '', orgId = w.a.orgId) => `/v1/orgs/${orgId}/rules${path}`;
const crashRule = {
  name: 'Crashes to QA',
  trigger: 'ticket.created',
  conditions: [{ kind: 'text', in: 'subject', contains: ['crash'] }],
  actions: [{ type: 'set_tags', add: ['Crash'], remove: [] }],
};

describe('rule routes', () => {
  it('creates, lists, changes, disables, reorders and deletes rules, auditing each change', async () => {
    const created = await api.call(w.owner, { method: 'POST', url: rules(), payload: crashRule });
    expect(created.statusCode, created.body).toBe(201);
    const a = created.json();
    expect(a).toMatchObject({ name: 'Crashes to QA', position: 0, enabled: true, match: 'all' });
    expect(a.actions).toEqual([{ type: 'set_tags', add: ['crash'], remove: [] }]);
    const b = (
      await api.call(w.owner, {
        method: 'POST',
        url: rules(),
        payload: {
          name: 'Urgent first',
          trigger: 'ticket.created',
          actions: [{ type: 'set_priority', priority: 'urgent' }],
        },
      })
    ).json();
    expect(b.position).toBe(1);
    expectError(
      await api.call(w.owner, { method: 'POST', url: rules(), payload: crashRule }),
      409,
      'conflict',
    );

    const disabled = await api.call(w.owner, {
      method: 'PATCH',
      url: rules(`/${a.id}`),
      payload: { enabled: false },
    });
    expect(disabled.json()).toMatchObject({ enabled: false, match: 'all', name: 'Crashes to QA' });
    expect(disabled.json().conditions).toHaveLength(1);

    const order = await api.call(w.owner, {
      method: 'PUT',
      url: rules('/order'),
      payload: { ruleIds: [b.id, a.id] },
    });
    expect(order.statusCode, order.body).toBe(200);
    expect(order.json().rules.map((r: { id: string; position: number }) => [r.id, r.position])).toEqual([
      [b.id, 0],
      [a.id, 1],
    ]);
    expectError(
      await api.call(w.owner, { method: 'PUT', url: rules('/order'), payload: { ruleIds: [a.id] } }),
      422,
    );

    expect((await api.call(w.owner, { method: 'DELETE', url: rules(`/${b.id}`) })).statusCode).toBe(200);
    expectError(await api.call(w.owner, { method: 'GET', url: rules(`/${b.id}`) }), 404, 'not_found');
    const listed = await api.call(w.owner, { method: 'GET', url: rules() });
    expect(listed.json().rules.map((r: { id: string }) => r.id)).toEqual([a.id]);
    expect(await auditActions(db.admin, w.a.orgId, a.id)).toEqual(['rule.created', 'rule.updated']);
    const updated = await db.admin.query(
      `select data from audit_logs where target_id = $1 and action = 'rule.updated'`,
      [a.id],
    );
    expect(updated.rows[0].data).toEqual({
      name: 'Crashes to QA',
      changes: { enabled: { from: true, to: false } },
    });
    expect(await auditActions(db.admin, w.a.orgId, b.id)).toEqual(['rule.created', 'rule.deleted']);
  });

  it('refuses rules that are not data it knows with a 422 naming the field, and bad bodies with a 4xx', async () => {
    const res = await api.call(w.owner, {
      method: 'POST',
      url: rules(),
      payload: { ...crashRule, name: 'bad', actions: [{ type: 'run_script', code: 'process.exit(1)' }] },
    });
    expectError(res, 422);
    expect(JSON.stringify(res.json().error.details)).toContain('actions');
    expectError(
      await api.call(w.owner, {
        method: 'POST',
        url: rules(),
        payload: { ...crashRule, name: 'x', trigger: 'always' },
      }),
      422,
    );
    await expectBadBodiesRefused(api, w.owner, 'POST', rules());
    await expectBadBodiesRefused(api, w.owner, 'POST', rules('/dry-run'), { limit: 'many', ruleId: 3 });
  });

  it("keeps rules to members with rules.manage and to the caller's org", async () => {
    expectError(await api.call(w.agent, { method: 'GET', url: rules() }), 403, 'forbidden');
    expectError(
      await api.call(w.agent, { method: 'POST', url: rules(), payload: { ...crashRule, name: 'agent' } }),
      403,
    );
    const mine = (
      await api.call(w.owner, { method: 'POST', url: rules(), payload: { ...crashRule, name: 'Mine' } })
    ).json();
    expectError(await api.call(w.ownerB, { method: 'GET', url: rules(`/${mine.id}`, w.b.orgId) }), 404);
    expectError(
      await api.call(w.ownerB, {
        method: 'PATCH',
        url: rules(`/${mine.id}`, w.b.orgId),
        payload: { enabled: false },
      }),
      404,
    );
    expectError(await api.call(w.ownerB, { method: 'GET', url: rules() }), 404);
  });

  it('dry-runs a rule being edited on the last tickets, changing nothing, and shows the run log', async () => {
    const { orgId } = w.b;
    const owner = await api.sessionFor(w.b.ownerId);
    await withTenant(db.app, orgId, async (tx) => {
      for (const subject of ['Crash on start', 'Billing', 'crash again'])
        await openTicket(tx, { subject, origin: 'api' }, w.b.owner);
    });
    const res = await api.call(owner, {
      method: 'POST',
      url: rules('/dry-run', orgId),
      payload: { rule: { ...crashRule, name: 'draft' }, limit: 10 },
    });
    expect(res.statusCode, res.body).toBe(200);
    const results = res.json().results as { matched: boolean; actions: string[]; reason: string }[];
    expect(results.map((r) => r.matched)).toEqual([true, false, true]);
    expect(results[0]?.actions).toEqual(['tags +[crash] -[]']);
    expect(results[1]?.reason).toBe('condition 1 (text) did not hold');
    const tags = await db.admin.query('select 1 from tickets where org_id = $1 and tags <> $2', [orgId, []]);
    expect(tags.rowCount).toBe(0);
    expectError(
      await api.call(owner, { method: 'POST', url: rules('/dry-run', orgId), payload: { limit: 5 } }),
      422,
    );
    const runs = await api.call(owner, { method: 'GET', url: rules('/runs?limit=5', orgId) });
    expect(runs.statusCode, runs.body).toBe(200);
    expect(runs.json().runs).toEqual([]);
  });

  it("sets a member's capacity in a team for auto-assignment", async () => {
    const team = await withTenant(db.app, w.a.orgId, async (tx) => {
      const t = await createTeam(tx, { name: 'Capacity' }, w.a.owner);
      await addTeamMember(tx, { teamId: t.id, userId: w.a.ownerId }, w.a.owner);
      return t;
    });
    const url = `/v1/orgs/${w.a.orgId}/teams/${team.id}/members/${w.a.ownerId}/capacity`;
    expect((await api.call(w.owner, { method: 'PUT', url, payload: { maxOpenTickets: 5 } })).statusCode).toBe(
      200,
    );
    const r = await db.admin.query('select max_open_tickets from team_members where team_id = $1', [team.id]);
    expect(r.rows[0]?.max_open_tickets).toBe(5);
    expectError(await api.call(w.owner, { method: 'PUT', url, payload: { maxOpenTickets: -1 } }), 422);
    expectError(await api.call(w.agent, { method: 'PUT', url, payload: { maxOpenTickets: 1 } }), 403);
  });
});
