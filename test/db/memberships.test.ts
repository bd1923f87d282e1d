import { describe, expect, it } from 'vitest';
import { memberAccess, permissionsOf } from '../../db/memberships.js';
import { updateOrganization } from '../../db/organizations.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

const db = useTestDb();

describe('memberAccess (the API reads it on every signed-in org request)', () => {
  it("gives a member's permissions and the org's TOTP rule in one read; a stranger gets none", async () => {
    const org = await makeOrg(db.app, 'Access');
    const stranger = await createUser(db.app, { displayName: 'Stranger' });
    const owner = await withTenant(db.app, org.orgId, (tx) => memberAccess(tx, org.ownerId));
    const expected = await withTenant(db.app, org.orgId, (tx) => permissionsOf(tx, org.ownerId));
    expect(owner.permissions.size).toBeGreaterThan(5);
    expect([...owner.permissions].sort()).toEqual([...expected].sort());
    expect(owner.requireTotp).toBe(false);

    await withTenant(db.app, org.orgId, (tx) => updateOrganization(tx, { requireTotp: true }, org.owner));
    const strict = await withTenant(db.app, org.orgId, (tx) => memberAccess(tx, org.ownerId));
    expect(strict.requireTotp).toBe(true);
    const none = await withTenant(db.app, org.orgId, (tx) => memberAccess(tx, stranger.id));
    expect(none.permissions.size).toBe(0);
  });
});
