import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from '../../db/memberships.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let admin: Caller;
let moderator: Caller;

beforeAll(async () => {
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Leak');
  const mod = await createUser(db.app, { displayName: 'mod' });
  await withTenant(db.app, org.orgId, (tx) =>
    addMember(tx, { userId: mod.id, role: 'moderator' }, org.owner),
  );
  admin = await api.sessionFor(org.ownerId);
  moderator = await api.sessionFor(mod.id);
});
afterAll(() => api.close());

describe('webhook URL secrets in the audit log', () => {
  it('never shows a receiver token in a webhook URL to someone who cannot manage webhooks', async () => {
    const secretUrl = 'https://hooks.example.invalid/catch/123/s3cr3t-receiver-token?key=also-secret';
    const created = await api.call(admin, {
      method: 'POST',
      url: `/v1/orgs/${org.orgId}/webhooks`,
      payload: { url: secretUrl, eventTypes: ['ticket.created'] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().subscription.id;
    const patched = await api.call(admin, {
      method: 'PATCH',
      url: `/v1/orgs/${org.orgId}/webhooks/${id}`,
      payload: { url: `${secretUrl}-rotated` },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const list = await api.call(moderator, { method: 'GET', url: `/v1/orgs/${org.orgId}/webhooks` });
    expect(list.statusCode).toBe(403);
    const audit = await api.call(moderator, { method: 'GET', url: `/v1/orgs/${org.orgId}/audit` });
    expect(audit.statusCode, audit.body).toBe(200);
    expect(audit.body).not.toContain('s3cr3t-receiver-token');
    expect(audit.body).not.toContain('also-secret');
    // What the log still says: where deliveries go, and that the URL changed.
    const entries = audit.json().entries as Array<{ action: string; data: Record<string, unknown> }>;
    expect(entries.find((e) => e.action === 'webhook.created')?.data).toMatchObject({
      url: 'https://hooks.example.invalid/…',
      eventTypes: ['ticket.created'],
    });
    expect(entries.find((e) => e.action === 'webhook.updated')?.data).toEqual({
      urlChanged: true,
      url: 'https://hooks.example.invalid/…',
    });
  });
});
