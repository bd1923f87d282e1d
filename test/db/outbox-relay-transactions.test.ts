import { describe, expect, it } from 'vitest';
import type { OutboxRow } from '../../db/outbox.js';
import { RelayTransactions } from '../../db/outbox.js';
import { createPool } from '../../db/pool.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

/**
 * The relay's transactions at the database level: a batch left held for the next one is
 * published but not yet marked; the next batch's round trip marks and commits it; a held batch
 * whose commit never happens is relayed again, nothing lost.
 */
const db = useTestDb();

async function unrelayedIds(orgId: string): Promise<number[]> {
  const r = await db.admin.query<{ id: string }>(
    'select id from outbox where org_id = $1 and relayed_at is null order by id',
    [orgId],
  );
  return r.rows.map((x) => Number(x.id));
}

async function counted() {
  const pool = createPool({ url: db.appUrl, max: 1, statementTimeoutMs: 10_000, connectTimeoutMs: 10_000 });
  const sent: string[] = [];
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      sent.push(typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text);
      return query(...args);
    };
  });
  return { pool, sent };
}

describe('relay transactions', () => {
  it('marks and commits a held batch with the next batch’s claim, in one round trip', async () => {
    const org = await makeOrg(db.app);
    await withTenant(db.app, org.orgId, async (tx) => {
      for (let i = 0; i < 6; i++) await openTicket(tx, { subject: `Chain ${i}`, origin: 'api' }, org.owner);
    });
    const all = await unrelayedIds(org.orgId);
    expect(all).toHaveLength(6);
    const { pool, sent } = await counted();
    const tx = new RelayTransactions(pool);
    const pushed: number[][] = [];
    const push = async (rows: OutboxRow[]) => {
      pushed.push(rows.map((r) => r.id));
    };
    try {
      const first = await tx.batch(4, push, (claimed) => claimed === 4);
      expect(first.rows.map((r) => r.id)).toEqual(all.slice(0, 4));
      // Published and held: not marked yet, and still locked (the claim sent no commit).
      expect(await unrelayedIds(org.orgId)).toEqual(all);
      expect(sent).toHaveLength(2);
      const second = await tx.batch(4, push, () => false);
      expect(second.rows.map((r) => r.id)).toEqual(all.slice(4));
      expect(pushed).toEqual([all.slice(0, 4), all.slice(4)]);
      // The first batch's mark and commit opened the second's round trip; the second was
      // marked and committed on its own, as nothing followed.
      expect(sent).toHaveLength(5);
      expect(sent[2]).toMatch(
        /^select gm_mark_outbox_relayed\('\{[\d,]+\}'::bigint\[\]\); commit; begin; select id/,
      );
      expect(sent[4]).toMatch(/^select gm_mark_outbox_relayed\(.*; commit$/);
      expect(await unrelayedIds(org.orgId)).toEqual([]);
      // Nothing held: settling is a no-op.
      await tx.settle();
      expect(sent).toHaveLength(5);
    } finally {
      await tx.settle().catch(() => {});
      await pool.end();
    }
  });

  it('commits a held batch on settle', async () => {
    const org = await makeOrg(db.app);
    await withTenant(db.app, org.orgId, (tx) =>
      openTicket(tx, { subject: 'Settle', origin: 'api' }, org.owner),
    );
    const { pool } = await counted();
    const tx = new RelayTransactions(pool);
    try {
      const b = await tx.batch(
        10,
        async () => {},
        () => true,
      );
      expect(b.rows).toHaveLength(1);
      expect(await unrelayedIds(org.orgId)).toHaveLength(1);
      await tx.settle();
      expect(await unrelayedIds(org.orgId)).toEqual([]);
    } finally {
      await pool.end();
    }
  });

  it('relays a held batch again when its connection dies before the commit', async () => {
    const org = await makeOrg(db.app);
    await withTenant(db.app, org.orgId, async (tx) => {
      for (let i = 0; i < 3; i++) await openTicket(tx, { subject: `Lost ${i}`, origin: 'api' }, org.owner);
    });
    const all = await unrelayedIds(org.orgId);
    const pool = createPool({ url: db.appUrl, max: 2, statementTimeoutMs: 10_000, connectTimeoutMs: 10_000 });
    pool.on('error', () => {});
    const tx = new RelayTransactions(pool);
    const pushed: number[][] = [];
    const push = async (rows: OutboxRow[]) => {
      pushed.push(rows.map((r) => r.id));
    };
    try {
      await tx.batch(10, push, () => true);
      // The held connection dies (a database restart, a network cut) before the next round trip.
      await db.admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and state = 'idle in transaction' and usename = 'gamemod_app'`,
      );
      await expect(tx.batch(10, push)).rejects.toThrow();
      expect(await unrelayedIds(org.orgId)).toEqual(all);
      // The rows are claimable again and go out once more (publishing and job ids dedupe them).
      const again = await tx.batch(10, push);
      expect(again.rows.map((r) => r.id)).toEqual(all);
      expect(pushed).toEqual([all, all]);
      expect(await unrelayedIds(org.orgId)).toEqual([]);
    } finally {
      await tx.settle().catch(() => {});
      await pool.end();
    }
  });
});
