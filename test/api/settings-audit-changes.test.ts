import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { expectError } from './settings-support.js';
import { startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
afterAll(() => api.close());
beforeAll(async () => {
  api = await startTestApi(db.app);
});

type Res = { statusCode: number; body: string; json: () => { id: string } };
const ok = (r: Res) => {
  expect(r.statusCode, r.body).toBeLessThan(300);
  return r;
};

async function entries(orgId: string, action: string) {
  const r = await db.admin.query<{ data: Record<string, unknown> }>(
    'select data from audit_logs where org_id = $1 and action = $2 order by id',
    [orgId, action],
  );
  return r.rows.map((x) => x.data);
}

describe('settings audit entries', () => {
  it('say what a setting was before the change, as role and member changes do', async () => {
    const org = await makeOrg(db.app, 'Before');
    const owner = await api.sessionFor(org.ownerId, 'verified');
    const base = `/v1/orgs/${org.orgId}`;
    ok(
      await api.call(owner, {
        method: 'PUT',
        url: `${base}/retention-policies/tickets`,
        payload: { days: 3650, action: 'anonymise' },
      }),
    );
    ok(
      await api.call(owner, {
        method: 'PUT',
        url: `${base}/retention-policies/tickets`,
        payload: { days: 1, action: 'purge' },
      }),
    );
    ok(await api.call(owner, { method: 'PATCH', url: base, payload: { requireTotp: true } }));
    ok(await api.call(owner, { method: 'PATCH', url: base, payload: { requireTotp: false } }));
    const team = ok(
      await api.call(owner, { method: 'POST', url: `${base}/teams`, payload: { name: 'Payments' } }),
    );
    ok(
      await api.call(owner, {
        method: 'PATCH',
        url: `${base}/teams/${team.json().id}`,
        payload: { name: 'Renamed' },
      }),
    );
    const r = await db.admin.query<{ action: string; data: Record<string, unknown> }>(
      `select action, data from audit_logs where org_id = $1 and action in ('retention.set', 'organization.updated', 'team.updated') order by id`,
      [org.orgId],
    );
    const last = (a: string) => JSON.stringify(r.rows.filter((x) => x.action === a).at(-1)?.data);
    const found = {
      retention: last('retention.set'),
      org: last('organization.updated'),
      team: last('team.updated'),
    };
    expect(found.retention).toContain('3650');
    expect(found.org).toMatch(/true/);
    expect(found.team).toContain('Payments');
  });

  it('record each changed field as {from, to}, and only the fields that changed', async () => {
    const org = await makeOrg(db.app, 'Diff');
    const owner = await api.sessionFor(org.ownerId, 'verified');
    const base = `/v1/orgs/${org.orgId}`;
    const put = (payload: object) =>
      api.call(owner, { method: 'PUT', url: `${base}/retention-policies/messages`, payload });
    ok(await put({ days: 3650, action: 'anonymise' }));
    ok(await put({ days: 1, action: 'anonymise' }));
    expect(await entries(org.orgId, 'retention.set')).toEqual([
      {
        target: 'messages',
        changes: { days: { from: null, to: 3650 }, action: { from: null, to: 'anonymise' } },
      },
      { target: 'messages', changes: { days: { from: 3650, to: 1 } } },
    ]);

    ok(
      await api.call(owner, { method: 'PATCH', url: base, payload: { name: 'Diff Two', requireTotp: true } }),
    );
    ok(await api.call(owner, { method: 'PATCH', url: base, payload: { settings: { locale: 'fr' } } }));
    expect(await entries(org.orgId, 'organization.updated')).toEqual([
      { changes: { name: { from: 'Diff', to: 'Diff Two' }, requireTotp: { from: false, to: true } } },
      { changes: { 'settings.locale': { from: null, to: 'fr' } } },
    ]);

    const game = ok(
      await api.call(owner, {
        method: 'POST',
        url: `${base}/games`,
        payload: { name: 'Orbit', slug: 'orbit' },
      }),
    );
    ok(
      await api.call(owner, {
        method: 'PATCH',
        url: `${base}/games/${game.json().id}`,
        payload: { name: 'Orbit 2', slug: 'orbit' },
      }),
    );
    expect(await entries(org.orgId, 'game.updated')).toEqual([
      { changes: { name: { from: 'Orbit', to: 'Orbit 2' } } },
    ]);

    const cat = ok(
      await api.call(owner, { method: 'POST', url: `${base}/categories`, payload: { name: 'Billing' } }),
    );
    ok(
      await api.call(owner, {
        method: 'PATCH',
        url: `${base}/categories/${cat.json().id}`,
        payload: { description: 'Refunds', name: 'Billing' },
      }),
    );
    expect(await entries(org.orgId, 'category.updated')).toEqual([
      { changes: { description: { from: null, to: 'Refunds' } } },
    ]);
  });

  it('record role and SLA policy changes the same way, one shape for every update', async () => {
    const org = await makeOrg(db.app, 'Shape');
    const owner = await api.sessionFor(org.ownerId, 'verified');
    const base = `/v1/orgs/${org.orgId}`;
    const role = ok(
      await api.call(owner, {
        method: 'POST',
        url: `${base}/roles`,
        payload: { key: 'triage', name: 'Triage', permissions: ['tickets.read'] },
      }),
    );
    ok(
      await api.call(owner, {
        method: 'PATCH',
        url: `${base}/roles/${role.json().id}`,
        payload: { name: 'Triage', permissions: ['tickets.read', 'tickets.reply'] },
      }),
    );
    expect(await entries(org.orgId, 'role.updated')).toEqual([
      {
        key: 'triage',
        changes: { permissions: { from: ['tickets.read'], to: ['tickets.read', 'tickets.reply'] } },
      },
    ]);

    const policy = { name: 'Urgent', priority: 'urgent', firstResponseMinutes: 60 };
    const p = ok(await api.call(owner, { method: 'POST', url: `${base}/sla/policies`, payload: policy }));
    const replace = (payload: object) =>
      api.call(owner, { method: 'PUT', url: `${base}/sla/policies/${p.json().id}`, payload });
    ok(await replace({ ...policy, firstResponseMinutes: 15 }));
    ok(await replace({ ...policy, firstResponseMinutes: 15 }));
    expect(await entries(org.orgId, 'sla.policy_updated')).toEqual([
      { changes: { firstResponseMinutes: { from: 60, to: 15 } } },
    ]);
  });

  it('write no entry for an update that changes nothing', async () => {
    const org = await makeOrg(db.app, 'Same');
    const owner = await api.sessionFor(org.ownerId, 'verified');
    const base = `/v1/orgs/${org.orgId}`;
    const put = () =>
      api.call(owner, {
        method: 'PUT',
        url: `${base}/retention-policies/messages`,
        payload: { days: 30, action: 'purge' },
      });
    ok(await put());
    ok(await put());
    ok(await api.call(owner, { method: 'PATCH', url: base, payload: { name: 'Same' } }));
    const team = ok(
      await api.call(owner, { method: 'POST', url: `${base}/teams`, payload: { name: 'Payments' } }),
    );
    ok(
      await api.call(owner, {
        method: 'PATCH',
        url: `${base}/teams/${team.json().id}`,
        payload: { name: 'Payments' },
      }),
    );
    expect(await entries(org.orgId, 'retention.set')).toHaveLength(1);
    expect(await entries(org.orgId, 'organization.updated')).toEqual([]);
    expect(await entries(org.orgId, 'team.updated')).toEqual([]);
  });

  it('refuse taking someone off a team they are not on, and record nothing', async () => {
    const org = await makeOrg(db.app, 'Teams');
    const owner = await api.sessionFor(org.ownerId, 'verified');
    const base = `/v1/orgs/${org.orgId}`;
    const outsider = await createUser(db.app, { displayName: 'Not on it' });
    const team = ok(
      await api.call(owner, { method: 'POST', url: `${base}/teams`, payload: { name: 'Payments' } }),
    );
    const remove = (teamId: string, userId: string) =>
      api.call(owner, { method: 'DELETE', url: `${base}/teams/${teamId}/members/${userId}` });
    expectError(await remove(team.json().id, org.ownerId), 404, 'not_found');
    expectError(await remove(team.json().id, outsider.id), 404, 'not_found');
    expectError(await remove('00000000-0000-4000-8000-000000000000', org.ownerId), 404, 'not_found');
    expect(await entries(org.orgId, 'team.member_removed')).toEqual([]);

    const add = () =>
      api.call(owner, { method: 'PUT', url: `${base}/teams/${team.json().id}/members/${org.ownerId}` });
    ok(await add());
    ok(await add());
    expect(await entries(org.orgId, 'team.member_added')).toHaveLength(1);
    ok(await remove(team.json().id, org.ownerId));
    expect(await entries(org.orgId, 'team.member_removed')).toEqual([
      { teamId: team.json().id, userId: org.ownerId },
    ]);
  });
});
