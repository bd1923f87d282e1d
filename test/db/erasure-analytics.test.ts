import { describe, expect, it } from 'vitest';
import { foldOrg, GRAINS, recomputedRollups, storedRollups } from '../../db/analytics-fold.js';
import { erasePlayer } from '../../db/player-privacy.js';
import { upsertPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
import * as tickets from '../../db/tickets.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { findAnywhere } from './privacy-support.js';

const db = useTestDb();

const opened = async (orgId: string) =>
  (
    await db.admin.query(
      `select coalesce(sum(n), 0)::int as n from analytics_hourly where org_id = $1 and kind = 'opened'`,
      [orgId],
    )
  ).rows[0].n;

describe('an erasure and the analytics rollups', () => {
  it('leaves no field the player gave in the rollups, and the ticket counts still add up', async () => {
    const org = await makeOrg(db.app, 'Erase analytics');
    const playerId = await withTenant(db.app, org.orgId, async (tx) => {
      const p = await upsertPlayer(tx, { displayName: 'Ostrivane Player', email: 'ostrivane@example.com' });
      await tickets.openTicket(
        tx,
        {
          subject: 'Ostrivane lost a sword',
          body: 'my sword vanished',
          origin: 'game',
          requesterId: p.id,
          customFields: { platform: 'pc', region: 'Ostrivane-Keep', build: 'ostrivane-mod-1' },
        },
        { type: 'player', id: p.id },
      );
      await tickets.openTicket(
        tx,
        { subject: 'Another one', body: 'hi', origin: 'panel', customFields: { region: 'EU' } },
        org.owner,
      );
      return p.id;
    });
    await withTenant(db.app, org.orgId, (tx) => foldOrg(tx));
    expect(await opened(org.orgId)).toBe(2);
    expect(await findAnywhere(db, ['Ostrivane'])).toContain('analytics_contributions.region');

    await withTenant(db.app, org.orgId, (tx) => erasePlayer(tx, playerId, org.owner));
    await withTenant(db.app, org.orgId, (tx) => foldOrg(tx));
    expect(await findAnywhere(db, ['Ostrivane']), 'what the rollups still hold of the player').toEqual([]);
    expect(await opened(org.orgId)).toBe(2);
    // The stored rollups are what a full recompute from the tickets left gives.
    await withTenant(db.app, org.orgId, async (tx) => {
      for (const grain of GRAINS)
        expect(await storedRollups(tx, grain)).toEqual(await recomputedRollups(tx, grain));
    });
  });
});
