import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedPermissions } from '../../api/context.js';
import { addMember } from '../../db/memberships.js';
import { DEFAULT_ROLES } from '../../db/permissions.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
const callers: Record<string, Caller> = {};

/** The settings families this matrix covers, by URL prefix under the org. */
const FAMILIES = [
  'api-tokens',
  'games',
  'retention-policies',
  'guilds',
  'categories',
  'canned-replies',
  'sla',
  'webhooks',
  'webhook-deliveries',
];

beforeAll(async () => {
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Matrix');
  callers.owner = await api.sessionFor(org.ownerId);
  for (const role of Object.keys(DEFAULT_ROLES).filter((r) => r !== 'owner')) {
    const user = await createUser(db.app, { displayName: `Matrix ${role}` });
    await withTenant(db.app, org.orgId, (tx) => addMember(tx, { userId: user.id, role }, org.owner));
    callers[role] = await api.sessionFor(user.id);
  }
});
afterAll(() => api.close());

/** Fills a route's path parameters with ids that exist nowhere (so allowed calls answer 200 or 404). */
function concrete(url: string): string {
  return url
    .replace(':orgId', org.orgId)
    .replace(':guildId', '123456789012345678')
    .replace(':discordRoleId', '123456789012345679')
    .replace(':target', 'tickets')
    .replace(/:[A-Za-z]+/g, () => randomUUID());
}

describe('settings routes: each default role against each route', () => {
  it('lets a role through exactly when it holds the permission the route declares', async () => {
    const routes = api.app.registeredRoutes.filter(
      (r) =>
        (r.method === 'GET' || r.method === 'DELETE') &&
        FAMILIES.some((f) => r.url.startsWith(`/v1/orgs/:orgId/${f}`)),
    );
    // Every family is in the matrix (a renamed prefix would otherwise drop out silently).
    for (const f of FAMILIES)
      expect(
        routes.some((r) => r.url.startsWith(`/v1/orgs/:orgId/${f}`)),
        f,
      ).toBe(true);
    const mismatches: string[] = [];
    for (const route of routes) {
      const access = route.access;
      if (typeof access !== 'object') {
        mismatches.push(`${route.method} ${route.url} declares no permission`);
        continue;
      }
      for (const [role, def] of Object.entries(DEFAULT_ROLES)) {
        const who = callers[role];
        if (!who) throw new Error(`no caller for ${role}`);
        const res = await api.call(who, { method: route.method as 'GET', url: concrete(route.url) });
        const allowed = acceptedPermissions(access).some((p) => def.permissions.includes(p));
        const got = res.statusCode;
        const ok = allowed ? got === 200 || got === 404 : got === 403;
        if (!ok)
          mismatches.push(`${role} ${route.method} ${route.url} (${access.permission}): ${got} ${res.body}`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});
