import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from '../../db/memberships.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { PRESENCE_TTL_S, touchPresence } from '../../lib/presence.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let other: OrgFixture;
let owner: Caller;
let agentId: string;
let agent: Caller;

beforeAll(async () => {
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Presence');
  other = await makeOrg(db.app, 'Elsewhere');
  owner = await api.sessionFor(org.ownerId);
  agentId = (await createUser(db.app, { displayName: 'Agent Ada' })).id;
  await withTenant(db.app, org.orgId, (tx) => addMember(tx, { userId: agentId, role: 'agent' }, org.owner));
  agent = await api.sessionFor(agentId);
});
afterAll(() => api.close());

const list = async (who: Caller, orgId = org.orgId) =>
  api.call(who, { method: 'GET', url: `/v1/orgs/${orgId}/presence` });

describe('staff presence over the API', () => {
  it("lists the org's members only, each online, away or offline with when last seen", async () => {
    // Someone seen in another org, and the other org's owner, are nobody here.
    await touchPresence(api.redis, other.orgId, other.ownerId, 'panel');
    await touchPresence(api.redis, org.orgId, agentId, 'discord', new Date(api.clock.ms - 1000));
    const res = await list(owner);
    expect(res.statusCode, res.body).toBe(200);
    const members = (res.json() as { members: { userId: string }[] }).members;
    expect(members.map((m) => m.userId).sort()).toEqual([org.ownerId, agentId].sort());
    expect(members.find((m) => m.userId === agentId)).toMatchObject({
      displayName: 'Agent Ada',
      state: 'online',
      chosen: null,
      lastSeenAt: new Date(api.clock.ms - 1000).toISOString(),
    });
    expect(members.find((m) => m.userId === org.ownerId)).toMatchObject({
      state: 'offline',
      lastSeenAt: null,
    });
    // Without working hours a member is always within them; with hours that hold no shift, never.
    expect(members.every((m) => (m as { inWorkingHours?: boolean }).inWorkingHours === true)).toBe(true);
    const hours = await api.call(owner, {
      method: 'PUT',
      url: `/v1/orgs/${org.orgId}/members/${agentId}/working-hours`,
      payload: { workingHours: { timeZone: 'UTC', week: {} } },
    });
    expect(hours.statusCode, hours.body).toBe(200);
    const after = (await list(owner)).json() as { members: { userId: string; inWorkingHours: boolean }[] };
    expect(after.members.find((m) => m.userId === agentId)?.inWorkingHours).toBe(false);
    expect(after.members.find((m) => m.userId === org.ownerId)?.inWorkingHours).toBe(true);
    // Nothing from another org's member, not even through their own org's id.
    expect((await list(owner, other.orgId)).statusCode).toBe(404);
  });

  it("takes the member's own Away until they choose Online, and shows it to the others", async () => {
    const away = await api.call(agent, {
      method: 'PUT',
      url: `/v1/orgs/${org.orgId}/presence/me`,
      payload: { state: 'away' },
    });
    expect(away.statusCode, away.body).toBe(200);
    expect(away.json()).toMatchObject({ userId: agentId, state: 'away', chosen: 'away' });
    await touchPresence(api.redis, org.orgId, agentId, 'panel');
    const seen = (await list(owner)).json() as { members: { userId: string; state: string }[] };
    expect(seen.members.find((m) => m.userId === agentId)?.state).toBe('away');
    const back = await api.call(agent, {
      method: 'PUT',
      url: `/v1/orgs/${org.orgId}/presence/me`,
      payload: { state: 'online' },
    });
    expect(back.json()).toMatchObject({ state: 'online', chosen: null });
    // Offline once the clock passes the TTL with nothing heard.
    api.clock.ms = Date.now() + (PRESENCE_TTL_S + 1) * 1000;
    const later = (await list(owner)).json() as { members: { userId: string; state: string }[] };
    expect(later.members.find((m) => m.userId === agentId)?.state).toBe('offline');
    api.clock.ms = Date.now();
  });

  it('refuses a state other than online or away, a token acting for nobody, and outsiders', async () => {
    const bad = await api.call(agent, {
      method: 'PUT',
      url: `/v1/orgs/${org.orgId}/presence/me`,
      payload: { state: 'offline' },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('state');
    const token = await api.tokenFor(db.app, org.orgId, ['tickets:read']);
    expect((await list(token)).statusCode).toBe(200);
    const put = await api.call(token, {
      method: 'PUT',
      url: `/v1/orgs/${org.orgId}/presence/me`,
      payload: { state: 'away' },
    });
    expect(put.statusCode).toBe(403);
    const outsider = await api.sessionFor(other.ownerId);
    expect((await list(outsider)).statusCode).toBe(404);
  });
});
