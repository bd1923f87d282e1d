import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { useTestDb } from '../support/db.js';
import {
  auditActions,
  expectBadBodiesRefused,
  expectError,
  type SettingsWorld,
  settingsWorld,
} from './settings-support.js';
import { startTestApi, type TestApi } from './support.js';

/** `POST /v1/orgs/{orgId}/rules/{ruleId}/run`: one rule on one ticket now, by hand. */

const db = useTestDb();
let api: TestApi;
let w: SettingsWorld;

beforeAll(async () => {
  api = await startTestApi(db.app);
  w = await settingsWorld(db, api, 'RunRule');
});
afterAll(() => api.close());

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

  it('is in the OpenAPI document', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const op = doc.paths['/v1/orgs/{orgId}/rules/{ruleId}/run']?.post;
    expect(op?.operationId).toBe('runRule');
  });
});
