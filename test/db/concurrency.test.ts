import { describe, expect, it } from 'vitest';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

const db = useTestDb(20);

describe('concurrent opens', () => {
  it('200 concurrent opens in one org get 200 unique, gapless numbers', async () => {
    const org = await makeOrg(db.app);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        withTenant(db.app, org.orgId, (tx) => openTicket(tx, { subject: `t${i}`, origin: 'api' }, org.owner)),
      ),
    );
    const numbers = results.map((r) => r.ticket.number).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('a rolled-back open gives its number back', async () => {
    const org = await makeOrg(db.app);
    await withTenant(db.app, org.orgId, (tx) => openTicket(tx, { subject: 'one', origin: 'api' }, org.owner));
    await expect(
      withTenant(db.app, org.orgId, async (tx) => {
        await openTicket(tx, { subject: 'rolled back', origin: 'api' }, org.owner);
        throw new Error('caller failed after the open');
      }),
    ).rejects.toThrow('caller failed');
    const { ticket } = await withTenant(db.app, org.orgId, (tx) =>
      openTicket(tx, { subject: 'two', origin: 'api' }, org.owner),
    );
    expect(ticket.number).toBe(2);
    const outbox = await db.admin.query('select count(*)::int as n from outbox where org_id = $1', [
      org.orgId,
    ]);
    expect(outbox.rows[0].n).toBe(2);
  });

  it('50 concurrent opens with the same external id give one ticket', async () => {
    const org = await makeOrg(db.app);
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        withTenant(db.app, org.orgId, (tx) =>
          openTicket(tx, { subject: 'from the SDK', origin: 'game', externalId: 'idem-key-1' }, org.owner),
        ),
      ),
    );
    expect(new Set(results.map((r) => r.ticket.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const rows = await db.admin.query<{ n: number; max: number }>(
      'select count(*)::int as n, max(number)::int as max from tickets where org_id = $1',
      [org.orgId],
    );
    expect(rows.rows[0]).toEqual({ n: 1, max: 1 });
    const outbox = await db.admin.query('select count(*)::int as n from outbox where org_id = $1', [
      org.orgId,
    ]);
    expect(outbox.rows[0].n).toBe(1);
    // The same key from another origin is another ticket.
    const other = await withTenant(db.app, org.orgId, (tx) =>
      openTicket(tx, { subject: 'email', origin: 'email', externalId: 'idem-key-1' }, org.owner),
    );
    expect(other).toMatchObject({ created: true, ticket: { number: 2 } });
  });

  it('numbers are per organization', async () => {
    const [a, b] = [await makeOrg(db.app), await makeOrg(db.app)];
    const ta = await withTenant(db.app, a.orgId, (tx) =>
      openTicket(tx, { subject: 'a', origin: 'api' }, a.owner),
    );
    const tb = await withTenant(db.app, b.orgId, (tx) =>
      openTicket(tx, { subject: 'b', origin: 'api' }, b.owner),
    );
    expect([ta.ticket.number, tb.ticket.number]).toEqual([1, 1]);
  });
});
