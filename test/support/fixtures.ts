import { randomBytes } from 'node:crypto';
import { type Actor, SYSTEM } from '../../db/changes.js';
import { createOrganization } from '../../db/organizations.js';
import type { Pool } from '../../db/pool.js';
import { createUser } from '../../db/users.js';

export interface OrgFixture {
  orgId: string;
  ownerId: string;
  owner: Actor;
}

/** A new organization with its owner, made through db/ as the app role. */
export async function makeOrg(app: Pool, name = 'Studio'): Promise<OrgFixture> {
  const suffix = randomBytes(4).toString('hex');
  const owner = await createUser(app, { displayName: `${name} owner` });
  const org = await createOrganization(
    app,
    { name, slug: `${name.toLowerCase().replace(/[^a-z0-9]/g, '')}-${suffix}`, ownerUserId: owner.id },
    SYSTEM,
  );
  return { orgId: org.id, ownerId: owner.id, owner: { type: 'user', id: owner.id } };
}
