import { describe, expect, it } from 'vitest';
import { pickAssignee } from '../../db/rule-assign.js';
import { withTenant } from '../../db/tenant.js';
import { countingPool } from '../support/counting-pool.js';
import { useTestDb } from '../support/db.js';
import { rulesOrg } from './rules-support.js';

const db = useTestDb();

describe('an assignment decision', () => {
  // Every rule that assigns in a team, every hand-on of an absent member's tickets and every run
  // by hand pays for this decision inside a transaction that holds the team's members' locks.
  it('reads the team, takes its members’ locks and weighs them in two statements', async () => {
    const s = await rulesOrg(db, 3);
    const c = await countingPool(db.app);
    try {
      const picked = await withTenant(c.pool, s.orgId, (tx) => pickAssignee(tx, s.team.id, 'round_robin'));
      expect(s.agentIds).toContain(picked);
      // begin (with the tenant), the roster with its locks, the candidates, commit.
      expect(c.sent.map((q) => q.trim().split(/\s+/)[0])).toHaveLength(4);
    } finally {
      c.release();
    }
  });

  it('leaves out a member who can no longer work tickets, and one disabled', async () => {
    const s = await rulesOrg(db, 3);
    const [kept, viewer, disabled] = s.agentIds as [string, string, string];
    await db.admin.query(
      `update memberships set role_id = (select id from roles where org_id = $1 and key = 'viewer')
       where org_id = $1 and user_id = $2`,
      [s.orgId, viewer],
    );
    await db.admin.query('update users set disabled_at = now() where id = $1', [disabled]);
    for (let i = 0; i < 3; i++)
      expect(await s.tx((tx) => pickAssignee(tx, s.team.id, 'least_loaded'))).toBe(kept);
  });
});
