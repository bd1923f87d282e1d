import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from '../../db/memberships.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, errorCode, startTestApi, type TestApi } from './support.js';

/** Saved inbox views over HTTP: per member, replaced by name, validated, audited, tenant-isolated. */
const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let other: OrgFixture;
let owner: Caller;
let viewer: Caller;
let outsider: Caller;
let token: Caller;

beforeAll(async () => {
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Views');
  other = await makeOrg(db.app, 'Other views');
  owner = await api.sessionFor(org.ownerId);
  outsider = await api.sessionFor(other.ownerId);
  const v = await createUser(db.app, { displayName: 'Viewer' });
  await withTenant(db.app, org.orgId, (tx) => addMember(tx, { userId: v.id, role: 'viewer' }, org.owner));
  viewer = await api.sessionFor(v.id);
  token = await api.tokenFor(db.app, org.orgId, ['tickets:read']);
});
afterAll(() => api.close());

const url = (orgId = org.orgId, path = '') => `/v1/orgs/${orgId}/views${path}`;
const save = (who: Caller, payload: Record<string, unknown>) =>
  api.call(who, { method: 'POST', url: url(), payload });
const list = async (who: Caller) => {
  const res = await api.call(who, { method: 'GET', url: url() });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().views as Array<{ id: string; name: string; filters: Record<string, string> }>;
};

describe('saved views', () => {
  it("saves a member's filters under a name, lists them, and replaces them when saved again by name", async () => {
    const first = await save(owner, {
      name: 'Urgent breaches',
      filters: { priority: 'urgent', sla: 'breached', q: '' },
    });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json().filters).toEqual({ priority: 'urgent', sla: 'breached' });
    const again = await save(owner, { name: 'Urgent breaches', filters: { priority: 'high' } });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    expect(await list(owner)).toEqual([
      expect.objectContaining({ name: 'Urgent breaches', filters: { priority: 'high' } }),
    ]);
    const audit = await db.admin.query<{ action: string; data: unknown }>(
      'select action, data from audit_logs where org_id = $1 and actor_id = $2 and action like $3 order by id',
      [org.orgId, org.ownerId, 'saved_view.%'],
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['saved_view.created', 'saved_view.updated']);
    // Saved again by name: the entry says which filters it replaced.
    expect(audit.rows[1]?.data).toEqual({
      name: 'Urgent breaches',
      changes: { filters: { from: { priority: 'urgent', sla: 'breached' }, to: { priority: 'high' } } },
    });
  });

  it('keeps each member to their own views, and other orgs out', async () => {
    expect(await list(viewer)).toEqual([]);
    const mine = await list(owner);
    const id = mine[0]?.id as string;
    const del = await api.call(viewer, { method: 'DELETE', url: url(org.orgId, `/${id}`) });
    expect(del.statusCode).toBe(404);
    const cross = await api.call(outsider, { method: 'GET', url: url() });
    // Not a member: the org is not there for them (as on every org route).
    expect(cross.statusCode).toBe(404);
  });

  it('answers bad input with a 422 naming the field; a token reads no views and saves none (403)', async () => {
    const unknown = await save(owner, { name: 'x', filters: { colour: 'red' } });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.body).toContain('colour');
    const noName = await save(owner, { name: '  ', filters: {} });
    expect(noName.statusCode).toBe(422);
    expect(noName.body).toContain('name');
    const long = await save(owner, { name: 'n'.repeat(61), filters: {} });
    expect(long.statusCode).toBe(422);
    const tokenList = await api.call(token, { method: 'GET', url: url() });
    expect(tokenList.statusCode, tokenList.body).toBe(200);
    expect(tokenList.json().views).toEqual([]);
    const byToken = await api.call(token, {
      method: 'POST',
      url: url(),
      payload: { name: 'x', filters: {} },
    });
    expect(byToken.statusCode).toBe(403);
    expect(errorCode(byToken)).toBe('forbidden');
    const badId = await api.call(owner, { method: 'DELETE', url: url(org.orgId, '/not-a-uuid') });
    expect(badId.statusCode).toBe(422);
  });

  it('deletes a view (audited), then answers 404 for it', async () => {
    const made = await save(owner, { name: 'Mine', filters: { assignee: 'me' } });
    const id = made.json().id as string;
    const del = await api.call(owner, { method: 'DELETE', url: url(org.orgId, `/${id}`) });
    expect(del.statusCode, del.body).toBe(200);
    expect((await list(owner)).map((v) => v.name)).not.toContain('Mine');
    expect((await api.call(owner, { method: 'DELETE', url: url(org.orgId, `/${id}`) })).statusCode).toBe(404);
    const audit = await db.admin.query(
      "select 1 from audit_logs where org_id = $1 and action = 'saved_view.deleted' and target_id = $2",
      [org.orgId, id],
    );
    expect(audit.rowCount).toBe(1);
  });

  it("renames a view (audited) but not onto another of the member's names, nor someone else's view", async () => {
    const a = (await save(owner, { name: 'Urgent queue', filters: { priority: 'urgent' } })).json();
    await save(owner, { name: 'Taken name', filters: { status: 'open' } });
    const rename = (who: Caller, viewId: string, payload: unknown) =>
      api.call(who, { method: 'PATCH', url: url(org.orgId, `/${viewId}`), payload: payload as object });

    const ok = await rename(owner, a.id, { name: '  On fire  ' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ id: a.id, name: 'On fire', filters: { priority: 'urgent' } });
    expect((await list(owner)).map((v) => v.name)).toEqual(expect.arrayContaining(['On fire', 'Taken name']));
    expect((await list(owner)).map((v) => v.name)).not.toContain('Urgent queue');
    const audit = await db.admin.query(
      "select data from audit_logs where org_id = $1 and action = 'saved_view.renamed' and target_id = $2",
      [org.orgId, a.id],
    );
    expect(audit.rows[0]?.data).toMatchObject({ from: 'Urgent queue', to: 'On fire' });

    const clash = await rename(owner, a.id, { name: 'Taken name' });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().error.message).toContain('Taken name');
    const empty = await rename(owner, a.id, { name: '   ' });
    expect(empty.statusCode).toBe(422);
    expect(errorCode(empty)).toBe('validation_failed');
    // Another member's view is not there for them.
    expect((await rename(viewer, a.id, { name: 'Mine now' })).statusCode).toBe(404);
    expect((await rename(outsider, a.id, { name: 'Mine now' })).statusCode).toBe(404);
    expect((await list(owner)).find((v) => v.id === a.id)?.name).toBe('On fire');
  });

  it('is isolated by row-level security: in another tenant the rows are not there', async () => {
    const rows = await withTenant(db.app, other.orgId, (tx) => tx.query('select id from saved_views'));
    expect(rows.rowCount).toBe(0);
    const own = await withTenant(db.app, org.orgId, (tx) => tx.query('select id from saved_views'));
    expect(own.rowCount).toBeGreaterThan(0);
  });
});
