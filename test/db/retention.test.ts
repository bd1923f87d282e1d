import { describe, expect, it } from 'vitest';
import { queryAudit } from '../../db/audit.js';
import { deleteRetentionPolicy, listRetentionPolicies, setRetentionPolicy } from '../../db/retention.js';
import { withTenant } from '../../db/tenant.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

const db = useTestDb();

describe('retention policies', () => {
  it('sets one policy per target, replaces it, lists and deletes, auditing each change', async () => {
    const org = await makeOrg(db.app);
    const first = await withTenant(db.app, org.orgId, (tx) =>
      setRetentionPolicy(tx, { target: 'tickets', days: 365, action: 'anonymise' }, org.owner),
    );
    const replaced = await withTenant(db.app, org.orgId, (tx) =>
      setRetentionPolicy(
        tx,
        { target: 'tickets', days: '90' as unknown as number, action: 'purge' },
        org.owner,
      ),
    );
    expect(replaced).toMatchObject({ id: first.id, target: 'tickets', days: 90, action: 'purge' });
    await withTenant(db.app, org.orgId, (tx) =>
      setRetentionPolicy(tx, { target: 'audit_logs', days: 730, action: 'purge' }, org.owner),
    );
    const list = await withTenant(db.app, org.orgId, (tx) => listRetentionPolicies(tx));
    expect(list.map((p) => [p.target, p.days, p.action])).toEqual([
      ['audit_logs', 730, 'purge'],
      ['tickets', 90, 'purge'],
    ]);
    await withTenant(db.app, org.orgId, (tx) => deleteRetentionPolicy(tx, 'tickets', org.owner));
    await expect(
      withTenant(db.app, org.orgId, (tx) => deleteRetentionPolicy(tx, 'tickets', org.owner)),
    ).rejects.toMatchObject({ code: 'not_found' });
    const audit = await withTenant(db.app, org.orgId, (tx) =>
      queryAudit(tx, { targetType: 'retention_policy', targetId: first.id }),
    );
    expect(audit.map((a) => a.action)).toEqual(['retention.deleted', 'retention.set', 'retention.set']);
  });

  it('refuses bad targets, actions and periods, and anonymising audit logs', async () => {
    const org = await makeOrg(db.app);
    const bad = [
      { target: 'users', days: 30, action: 'purge' },
      { target: 'tickets', days: 0, action: 'purge' },
      { target: 'tickets', days: 36_501, action: 'purge' },
      { target: 'tickets', days: 1.5, action: 'purge' },
      { target: 'tickets', days: 30, action: 'shred' },
    ];
    for (const input of bad) {
      await expect(
        withTenant(db.app, org.orgId, (tx) => setRetentionPolicy(tx, input as never, org.owner)),
      ).rejects.toMatchObject({ code: 'validation_failed' });
    }
    await expect(
      withTenant(db.app, org.orgId, (tx) =>
        setRetentionPolicy(tx, { target: 'audit_logs', days: 30, action: 'anonymise' }, org.owner),
      ),
    ).rejects.toMatchObject({
      code: 'validation_failed',
      details: [{ path: 'action', message: 'audit logs can only be purged, not anonymised' }],
    });
    await expect(
      withTenant(db.app, org.orgId, (tx) => deleteRetentionPolicy(tx, 'users', org.owner)),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    expect(await withTenant(db.app, org.orgId, (tx) => listRetentionPolicies(tx))).toEqual([]);
  });

  it('keeps policies inside their organization', async () => {
    const a = await makeOrg(db.app, 'Alpha');
    const b = await makeOrg(db.app, 'Beta');
    await withTenant(db.app, a.orgId, (tx) =>
      setRetentionPolicy(tx, { target: 'messages', days: 30, action: 'purge' }, a.owner),
    );
    expect(await withTenant(db.app, b.orgId, (tx) => listRetentionPolicies(tx))).toEqual([]);
    await expect(
      withTenant(db.app, b.orgId, (tx) => deleteRetentionPolicy(tx, 'messages', b.owner)),
    ).rejects.toMatchObject({ code: 'not_found' });
    // Beta's own policy for the same target is its own row.
    await withTenant(db.app, b.orgId, (tx) =>
      setRetentionPolicy(tx, { target: 'messages', days: 7, action: 'anonymise' }, b.owner),
    );
    expect((await withTenant(db.app, a.orgId, (tx) => listRetentionPolicies(tx)))[0]?.days).toBe(30);
  });
});
