import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from '../../db/memberships.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { applyRetention } from '../../workers/retention.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { errorCode, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
afterAll(() => api.close());
beforeAll(async () => {
  api = await startTestApi(db.app);
});

const policy = (orgId: string) => `/v1/orgs/${orgId}/retention-policies/audit_logs`;

describe('audit log retention', () => {
  it('does not let a settings:manage token (or an admin) shorten the audit trail to one day', async () => {
    const org = await makeOrg(db.app, 'Trail');
    const owner = await api.sessionFor(org.ownerId);
    const made = await api.call(owner, {
      method: 'POST',
      url: `/v1/orgs/${org.orgId}/teams`,
      payload: { name: 'Billing' },
    });
    expect(made.statusCode).toBe(201);
    const token = await api.tokenFor(db.app, org.orgId, ['settings:manage']);
    const set = await api.call(token, {
      method: 'PUT',
      url: policy(org.orgId),
      payload: { days: 1, action: 'purge' },
    });
    await applyRetention(
      {
        pool: db.app,
        storage: null,
        logger: pino({ level: 'silent' }),
        now: new Date(Date.now() + 2 * 86_400_000),
      },
      org.orgId,
    );
    const left = await db.admin.query<{ action: string }>(
      'select action from audit_logs where org_id = $1 order by id',
      [org.orgId],
    );
    const actions = left.rows.map((r) => r.action);
    expect(set.statusCode).toBe(403);
    expect(actions).toContain('team.created');
  });

  it('refuses an admin, setting or removing it, and tells the owner the minimum', async () => {
    const org = await makeOrg(db.app, 'Floor');
    const adminUser = await createUser(db.app, { displayName: 'Floor admin' });
    await withTenant(db.app, org.orgId, (tx) =>
      addMember(tx, { userId: adminUser.id, role: 'admin' }, org.owner),
    );
    const admin = await api.sessionFor(adminUser.id);
    const owner = await api.sessionFor(org.ownerId);

    const byAdmin = await api.call(admin, {
      method: 'PUT',
      url: policy(org.orgId),
      payload: { days: 400, action: 'purge' },
    });
    expect(byAdmin.statusCode).toBe(403);
    expect(byAdmin.json().error.details).toMatchObject({ permission: 'org.manage' });

    const short = await api.call(owner, {
      method: 'PUT',
      url: policy(org.orgId),
      payload: { days: 30, action: 'purge' },
    });
    expect(short.statusCode).toBe(422);
    expect(errorCode(short)).toBe('validation_failed');
    expect(short.json().error.message).toMatch(/365 days/);
    expect(short.json().error.details).toEqual([expect.objectContaining({ path: 'days', minimum: 365 })]);

    const kept = await api.call(owner, {
      method: 'PUT',
      url: policy(org.orgId),
      payload: { days: 365, action: 'purge' },
    });
    expect(kept.statusCode, kept.body).toBe(200);

    // Removing it keeps entries for ever, but it is still the owner's decision to undo.
    const removedByAdmin = await api.call(admin, { method: 'DELETE', url: policy(org.orgId) });
    expect(removedByAdmin.statusCode).toBe(403);
    const token = await api.tokenFor(db.app, org.orgId, ['settings:manage']);
    expect((await api.call(token, { method: 'DELETE', url: policy(org.orgId) })).statusCode).toBe(403);
    expect((await api.call(owner, { method: 'DELETE', url: policy(org.orgId) })).statusCode).toBe(200);

    // Every other target stays the admin's (and the token's) to set.
    const messages = await api.call(admin, {
      method: 'PUT',
      url: `/v1/orgs/${org.orgId}/retention-policies/messages`,
      payload: { days: 1, action: 'purge' },
    });
    expect(messages.statusCode).toBe(200);
  });

  it('purges no entry younger than the minimum, even under a shorter policy stored earlier', async () => {
    const org = await makeOrg(db.app, 'Earlier');
    const owner = await api.sessionFor(org.ownerId);
    await api.call(owner, { method: 'POST', url: `/v1/orgs/${org.orgId}/teams`, payload: { name: 'Ops' } });
    // As a policy saved before the minimum existed: written directly, past the checks.
    await db.admin.query(
      `insert into retention_policies (org_id, target, days, action) values ($1, 'audit_logs', 1, 'purge')`,
      [org.orgId],
    );
    await db.admin.query(
      `insert into audit_logs (org_id, actor_type, action, created_at) values ($1, 'system', 'old.entry', now() - interval '400 days')`,
      [org.orgId],
    );
    await applyRetention(
      {
        pool: db.app,
        storage: null,
        logger: pino({ level: 'silent' }),
        now: new Date(Date.now() + 2 * 86_400_000),
      },
      org.orgId,
    );
    const left = await db.admin.query<{ action: string }>('select action from audit_logs where org_id = $1', [
      org.orgId,
    ]);
    const actions = left.rows.map((r) => r.action);
    expect(actions).toContain('team.created');
    expect(actions).not.toContain('old.entry');
  });
});
