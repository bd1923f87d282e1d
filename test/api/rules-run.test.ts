import { describe, expect, it } from 'vitest';
import { addMember } from '../../db/memberships.js';
import type { Permission } from '../../db/permissions.js';
import { createRole } from '../../db/roles.js';
import { addTeamMember, createTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { createUser } from '../../db/users.js';
import { touchPresence } from '../../lib/presence.js';
import { auditActions, expectBadBodiesRefused, expectError, useSettingsApi } from './settings-support.js';
import type { Caller } from './support.js';

/** `POST /v1/orgs/{orgId}/rules/{ruleId}/run`: one rule on one ticket now, by hand. */

const { db, api, w } = useSettingsApi('RunRule');

const rules = (path = '', orgId = w.a.orgId) => `/v1/orgs/${orgId}/rules${path}`;

async function ticketIn(orgId: string, subject: string, actor = w.a.owner) {
  return withTenant(
    db.app,
    orgId,
    async (tx) => (await openTicket(tx, { subject, origin: 'api' }, actor)).ticket,
  );
}

async function makeRule(body: Record<string, unknown>, caller = w.owner, orgId = w.a.orgId) {
  const res = await api.call(caller, { method: 'POST', url: rules('', orgId), payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string };
}

describe('running a rule by hand', () => {
  it('applies a matching rule as the rule, logs the run and audits the staff member', async () => {
    const ticket = await ticketIn(w.a.orgId, 'Crash on start');
    const rule = await makeRule({
      name: 'Crashes are urgent',
      trigger: 'ticket.created',
      conditions: [{ kind: 'text', in: 'subject', contains: ['crash'] }],
      actions: [{ type: 'set_priority', priority: 'urgent' }],
    });
    const res = await api.call(w.owner, {
      method: 'POST',
      url: rules(`/${rule.id}/run`),
      payload: { ticketId: ticket.id },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      ruleId: rule.id,
      ruleName: 'Crashes are urgent',
      ticketId: ticket.id,
      ticketNumber: ticket.number,
      outcome: 'applied',
      actions: ['set priority urgent'],
    });
    const t = await db.admin.query('select priority from tickets where id = $1', [ticket.id]);
    expect(t.rows[0].priority).toBe('urgent');
    // The change is the rule's (depth 1): the worker never runs this rule again on its event.
    const ev = await db.admin.query(
      `select payload -> 'actor' as actor from outbox where org_id = $1 and aggregate_id = $2
        and event_type = 'ticket.priority_changed'`,
      [w.a.orgId, ticket.id],
    );
    expect(ev.rows[0].actor).toEqual({ type: 'rule', id: rule.id, depth: 1 });
    expect(await auditActions(db.admin, w.a.orgId, ticket.id)).toContain('rule.run');
    const audit = await db.admin.query(
      `select actor_type, actor_id, data from audit_logs where org_id = $1 and action = 'rule.run' and target_id = $2`,
      [w.a.orgId, ticket.id],
    );
    expect(audit.rows).toEqual([
      {
        actor_type: 'user',
        actor_id: w.a.ownerId,
        data: {
          ruleId: rule.id,
          ruleName: 'Crashes are urgent',
          outcome: 'applied',
          actions: ['set priority urgent'],
        },
      },
    ]);
    const runs = await api.call(w.owner, { method: 'GET', url: rules(`/runs?ticketId=${ticket.id}`) });
    expect(runs.json().runs).toMatchObject([
      {
        id: res.json().runId,
        ruleId: rule.id,
        outcome: 'applied',
        depth: 1,
        actions: ['set priority urgent'],
      },
    ]);
    expect(runs.json().runs[0].reason).toMatch(/^run by hand: /);
  });

  it('does nothing but log when the conditions do not hold, and logs a refused action as failed', async () => {
    const ticket = await ticketIn(w.a.orgId, 'Billing question');
    const rule = await makeRule({
      name: 'Only crashes',
      trigger: 'ticket.updated',
      conditions: [{ kind: 'text', in: 'subject', contains: ['crash'] }],
      actions: [{ type: 'set_priority', priority: 'high' }],
    });
    const res = await api.call(w.owner, {
      method: 'POST',
      url: rules(`/${rule.id}/run`),
      payload: { ticketId: ticket.id },
    });
    expect(res.json()).toMatchObject({ outcome: 'not_matched', actions: [] });
    expect(res.json().reason).toBe('run by hand: condition 1 (text) did not hold');
    const t = await db.admin.query('select priority from tickets where id = $1', [ticket.id]);
    expect(t.rows[0].priority).toBe('normal');

    const closed = await ticketIn(w.a.orgId, 'Refund');
    const any = await makeRule({
      name: 'Tag and answer',
      trigger: 'ticket.updated',
      // The canned reply does not exist: the ticket refuses the second action.
      actions: [
        { type: 'set_tags', add: ['seen'], remove: [] },
        { type: 'canned_reply', cannedReplyId: '00000000-0000-4000-8000-000000000000' },
      ],
    });
    const failed = await api.call(w.owner, {
      method: 'POST',
      url: rules(`/${any.id}/run`),
      payload: { ticketId: closed.id },
    });
    expect(failed.statusCode, failed.body).toBe(200);
    expect(failed.json()).toMatchObject({ outcome: 'failed', actions: [] });
    // The first action's change was rolled back with the refused one.
    const c = await db.admin.query('select tags, priority from tickets where id = $1', [closed.id]);
    expect(c.rows[0].tags).toEqual([]);
    expect(failed.json().reason).toMatch(/^run by hand: action 2 \(reply with canned reply .*\) failed: /);
  });

  it('assigns in a team as the automatic run would: to a member online, not the round-robin pick', async () => {
    const [first, second] = (
      await Promise.all(['Off duty', 'On duty'].map((displayName) => createUser(db.app, { displayName })))
    )
      .map((u) => u.id)
      .sort() as [string, string];
    const team = await withTenant(db.app, w.a.orgId, async (tx) => {
      const team = await createTeam(tx, { name: 'Presence team' }, w.a.owner);
      for (const userId of [first, second]) {
        await addMember(tx, { userId, role: 'agent' }, w.a.owner);
        await addTeamMember(tx, { teamId: team.id, userId }, w.a.owner);
      }
      return team;
    });
    // Round-robin alone would pick `first` (never assigned, lowest id); only `second` is online.
    await touchPresence(api.redis, w.a.orgId, second, 'panel', new Date(api.clock.ms));
    const ticket = await ticketIn(w.a.orgId, 'Who is around?');
    const rule = await makeRule({
      name: 'Hand to the team',
      trigger: 'ticket.created',
      actions: [{ type: 'assign_in_team', teamId: team.id, strategy: 'round_robin' }],
    });
    const res = await api.call(w.owner, {
      method: 'POST',
      url: rules(`/${rule.id}/run`),
      payload: { ticketId: ticket.id },
    });
    expect(res.json()).toMatchObject({ outcome: 'applied' });
    const t = await db.admin.query('select assignee_id from tickets where id = $1', [ticket.id]);
    expect(t.rows[0].assignee_id).toBe(second);
  });

  it('refuses a disabled rule, an unknown ticket, a rule or ticket of another org, and members without rules.manage', async () => {
    const ticket = await ticketIn(w.a.orgId, 'Whatever');
    const rule = await makeRule({
      name: 'Disabled',
      trigger: 'ticket.updated',
      enabled: false,
      actions: [{ type: 'set_priority', priority: 'high' }],
    });
    expectError(
      await api.call(w.owner, {
        method: 'POST',
        url: rules(`/${rule.id}/run`),
        payload: { ticketId: ticket.id },
      }),
      409,
      'invalid_transition',
    );
    const on = await makeRule({
      name: 'On',
      trigger: 'ticket.updated',
      actions: [{ type: 'set_priority', priority: 'high' }],
    });
    expectError(
      await api.call(w.agent, {
        method: 'POST',
        url: rules(`/${on.id}/run`),
        payload: { ticketId: ticket.id },
      }),
      403,
      'forbidden',
    );
    expectError(
      await api.call(w.owner, {
        method: 'POST',
        url: rules(`/${on.id}/run`),
        payload: { ticketId: '00000000-0000-4000-8000-000000000000' },
      }),
      404,
      'not_found',
    );
    // Org B's rule through org A, and org A's rule through org B: neither is found.
    const otherRule = await makeRule(
      { name: 'B rule', trigger: 'ticket.updated', actions: [{ type: 'set_priority', priority: 'low' }] },
      w.ownerB,
      w.b.orgId,
    );
    expectError(
      await api.call(w.owner, {
        method: 'POST',
        url: rules(`/${otherRule.id}/run`),
        payload: { ticketId: ticket.id },
      }),
      404,
      'not_found',
    );
    const ticketB = await ticketIn(w.b.orgId, 'B ticket', w.b.owner);
    expectError(
      await api.call(w.owner, {
        method: 'POST',
        url: rules(`/${on.id}/run`),
        payload: { ticketId: ticketB.id },
      }),
      404,
      'not_found',
    );
    const b = await db.admin.query('select priority from tickets where id = $1', [ticketB.id]);
    expect(b.rows[0].priority).toBe('normal');
    expectError(
      await api.call(w.owner, { method: 'POST', url: rules(`/${on.id}/run`), payload: { ticketId: 'nope' } }),
      422,
    );
    await expectBadBodiesRefused(api, w.owner, 'POST', rules(`/${on.id}/run`));
  });

  it('needs tickets.read to run a rule, and the permissions its actions need to write or run one', async () => {
    /** A member of org A whose custom role carries exactly these permissions. */
    const memberWith = async (key: string, permissions: Permission[]): Promise<Caller> => {
      const user = await createUser(db.app, { displayName: key });
      await withTenant(db.app, w.a.orgId, async (tx) => {
        await createRole(tx, { key, name: key, permissions }, w.a.owner);
        await addMember(tx, { userId: user.id, role: key }, w.a.owner);
      });
      return api.sessionFor(user.id);
    };
    const ticket = await ticketIn(w.a.orgId, 'Refund please');
    const closer = await makeRule({
      name: 'Close refunds',
      trigger: 'ticket.updated',
      actions: [{ type: 'close', reason: 'no refunds' }],
    });
    const bump = await makeRule({
      name: 'Bump',
      trigger: 'ticket.updated',
      actions: [{ type: 'set_priority', priority: 'high' }],
    });
    const run = (caller: Caller, ruleId: string) =>
      api.call(caller, { method: 'POST', url: rules(`/${ruleId}/run`), payload: { ticketId: ticket.id } });
    const state = async () =>
      (await db.admin.query('select status, priority from tickets where id = $1', [ticket.id])).rows[0];

    // rules.manage alone: no run at all (it would act on any ticket and tell its number and why).
    const automator = await memberWith('automator', ['org.read', 'rules.manage']);
    let res = await run(automator, bump.id);
    expectError(res, 403, 'forbidden');
    expect(res.json().error.message).toMatch(/tickets\.read/);
    expect(res.json().error.details).toMatchObject({ permission: 'tickets.read' });
    // Nor the dry run and the run log, which tell ticket numbers and why rules matched them (as
    // `/ticket rules` in Discord asks for tickets.read too).
    for (const other of [
      api.call(automator, { method: 'POST', url: rules('/dry-run'), payload: { ruleId: bump.id, limit: 5 } }),
      api.call(automator, { method: 'GET', url: rules('/runs') }),
    ]) {
      const refused = await other;
      expectError(refused, 403, 'forbidden');
      expect(refused.json().error.details).toMatchObject({ permission: 'tickets.read' });
    }

    // Reading and updating tickets: a rule that only updates runs, one that closes does not.
    const updater = await memberWith('updater', [
      'org.read',
      'rules.manage',
      'tickets.read',
      'tickets.update',
    ]);
    res = await run(updater, closer.id);
    expectError(res, 403, 'forbidden');
    expect(res.json().error.message).toMatch(/tickets\.close/);
    expect(res.json().error.details).toMatchObject({ permissions: ['tickets.close'] });
    expect(await state()).toEqual({ status: 'open', priority: 'normal' });
    const runs = await db.admin.query('select 1 from rule_runs where org_id = $1 and ticket_id = $2', [
      w.a.orgId,
      ticket.id,
    ]);
    expect(runs.rowCount).toBe(0);
    res = await run(updater, bump.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(await state()).toEqual({ status: 'open', priority: 'high' });

    // Nor can they write a rule that does more than they may.
    const team = await withTenant(db.app, w.a.orgId, (tx) =>
      createTeam(tx, { name: 'Rules team' }, w.a.owner),
    );
    const refused: Array<[Record<string, unknown>, string]> = [
      [{ type: 'close' }, 'tickets.close'],
      [{ type: 'set_status', status: 'solved' }, 'tickets.close'],
      [{ type: 'note', body: 'hi' }, 'tickets.note'],
      [{ type: 'assign_in_team', teamId: team.id, strategy: 'round_robin' }, 'tickets.assign'],
      [{ type: 'assign_member', userId: null }, 'tickets.assign'],
      [{ type: 'assign_team', teamId: team.id }, 'tickets.assign'],
    ];
    for (const [action, permission] of refused) {
      res = await api.call(updater, {
        method: 'POST',
        url: rules(),
        payload: { name: `Try ${permission} ${action.type}`, trigger: 'ticket.created', actions: [action] },
      });
      expectError(res, 403, 'forbidden');
      expect(res.json().error.details, String(action.type)).toMatchObject({ permissions: [permission] });
    }
    const own = await makeRule(
      { name: 'Mine', trigger: 'ticket.created', actions: [{ type: 'set_priority', priority: 'low' }] },
      updater,
    );
    res = await api.call(updater, {
      method: 'PATCH',
      url: rules(`/${own.id}`),
      payload: { actions: [{ type: 'set_priority', priority: 'low' }, { type: 'close' }] },
    });
    expectError(res, 403, 'forbidden');
    expect(res.json().error.details).toMatchObject({ permissions: ['tickets.close'] });
    // Nor change (here: switch off) a rule that already does more than they may.
    res = await api.call(updater, {
      method: 'PATCH',
      url: rules(`/${closer.id}`),
      payload: { enabled: false },
    });
    expectError(res, 403, 'forbidden');
    const kept = await db.admin.query('select enabled, actions from rules where id = $1', [closer.id]);
    expect(kept.rows[0]).toMatchObject({ enabled: true, actions: [{ type: 'close' }] });
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const op = doc.paths['/v1/orgs/{orgId}/rules/{ruleId}/run']?.post;
    expect(op?.operationId).toBe('runRule');
    expect(op?.description).toMatch(/tickets\.read/);
    expect(op?.responses?.['403']).toBeDefined();
    for (const [path, method] of [
      ['/v1/orgs/{orgId}/rules', 'post'],
      ['/v1/orgs/{orgId}/rules/{ruleId}', 'patch'],
    ] as const)
      expect(doc.paths[path]?.[method]?.description, `${method} ${path}`).toMatch(/tickets\.close/);
  });
});
