import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertRuntimeRoleIsSafe, TENANT_TABLES_SQL, type TenantTable } from '../../db/safety.js';
import { seedDemo } from '../../db/seed.js';
import { withTenant } from '../../db/tenant.js';
import { useTestDb } from '../support/db.js';

const db = useTestDb(6);
let tables: string[] = [];
let A: string;
let B: string;

const keyOf = (table: string) => (table === 'organizations' ? 'id' : 'org_id');
const adminCount = async (table: string, org: string) =>
  (
    await db.admin.query<{ n: number }>(
      `select count(*)::int as n from ${table} where ${keyOf(table)} = $1`,
      [org],
    )
  ).rows[0]?.n;

beforeAll(async () => {
  // Two full demo workspaces fill most tenant tables for both orgs.
  A = (await seedDemo(db.app, { ticketCount: 15, slug: 'studio-a', seed: 1 })).orgId;
  B = (await seedDemo(db.app, { ticketCount: 15, slug: 'studio-b', seed: 2 })).orgId;
  tables = (await db.admin.query<TenantTable>(TENANT_TABLES_SQL)).rows.map((t) => t.name);
});

describe('tenant isolation as the app role', () => {
  it('finds every tenant table, and the seeded data covers the core ones for both orgs', async () => {
    expect(tables.length).toBeGreaterThanOrEqual(35);
    const withRows = [];
    for (const t of tables) if ((await adminCount(t, B)) && (await adminCount(t, A))) withRows.push(t);
    for (const core of [
      'organizations',
      'tickets',
      'messages',
      'ticket_events',
      'audit_logs',
      'outbox',
      'memberships',
      'roles',
      'player_profiles',
      'games',
      'sla_policies',
    ]) {
      expect(withRows).toContain(core);
    }
  });

  it('every tenant table has forced RLS and the one tenant policy for reads and writes', async () => {
    const flags = await db.admin.query<TenantTable>(TENANT_TABLES_SQL);
    for (const t of flags.rows) expect([t.name, t.rls, t.forced]).toEqual([t.name, true, true]);
    const r = await db.admin.query<{ tablename: string; cmd: string; qual: string; with_check: string }>(
      `select tablename, cmd, qual, with_check from pg_policies
       where schemaname = 'public' and 'gamemod_app' = any(roles)`,
    );
    for (const t of tables) {
      const p = r.rows.filter((x) => x.tablename === t);
      expect(p, t).toHaveLength(1);
      expect(p[0]?.cmd, t).toBe('ALL');
      for (const expr of [p[0]?.qual, p[0]?.with_check]) {
        expect(expr?.toLowerCase(), t).toMatch(
          new RegExp(
            `^\\(${keyOf(t)} = \\( select \\(nullif\\(current_setting\\('app\\.org_id'::text, true\\), ''::text\\)\\)::uuid`,
          ),
        );
      }
    }
    await expect(assertRuntimeRoleIsSafe(db.app)).resolves.toBeUndefined();
  });

  it('startup refuses a superuser and a role that owns the tables', async () => {
    await expect(assertRuntimeRoleIsSafe(db.admin)).rejects.toMatchObject({ code: 'unsafe_database_role' });
    const err = await assertRuntimeRoleIsSafe(db.owner).catch((e) => e);
    expect(err.code).toBe('unsafe_database_role');
    expect(err.message).toContain('owns tenant table tickets');
  });

  it("reads only its own org's rows in every tenant table", async () => {
    await withTenant(db.app, A, async (tx) => {
      for (const t of tables) {
        const all = await tx.query<{ n: number }>(`select count(*)::int as n from ${t}`);
        expect(all.rows[0]?.n, t).toBe(await adminCount(t, A));
        const theirs = await tx.query<{ n: number }>(
          `select count(*)::int as n from ${t} where ${keyOf(t)} = $1`,
          [B],
        );
        expect(theirs.rows[0]?.n, t).toBe(0);
      }
    });
  });

  it('cannot update, delete, move rows to, or insert rows for another org in any tenant table', async () => {
    for (const t of tables) {
      const k = keyOf(t);
      const before = await adminCount(t, B);
      // Each attempt in its own transaction: a refused statement aborts the transaction.
      const attempt = (sql: string, values: unknown[]) =>
        withTenant(db.app, A, (tx) => tx.query(sql, values)).then(
          (r) => ({ rows: r.rowCount, code: null as string | null }),
          (e: { cause?: { code?: string } }) => ({ rows: 0, code: e.cause?.code ?? 'unknown' }),
        );
      const upd = await attempt(`update ${t} set ${k} = ${k} where ${k} = $1`, [B]);
      expect(upd.rows, `${t} update`).toBe(0);
      const del = await attempt(`delete from ${t} where ${k} = $1`, [B]);
      expect(del.rows, `${t} delete`).toBe(0);
      expect(await adminCount(t, B), t).toBe(before);
      const move = await attempt(`update ${t} set ${k} = $1 where ${k} = $2`, [B, A]);
      if ((await adminCount(t, A)) && t !== 'organizations')
        expect(move.code, `${t} move`).toMatch(/^(42501|23503)$/);
      const ins = await attempt(`insert into ${t} (${k}) values ($1)`, [
        t === 'organizations' ? randomUUID() : B,
      ]);
      expect(ins.code, `${t} insert`).toBe('42501');
      expect(await adminCount(t, B), t).toBe(before);
    }
  });

  it('sees no rows at all when no tenant is set', async () => {
    for (const t of tables) {
      const r = await db.app.query<{ n: number }>(`select count(*)::int as n from ${t}`);
      expect(r.rows[0]?.n, t).toBe(0);
    }
  });

  it('never carries a tenant to the next borrower of a pooled connection', async () => {
    const orgs = [A, B];
    const expected = new Map<string, number>();
    for (const o of orgs) expected.set(o, (await adminCount('tickets', o)) ?? -1);
    let leaks = 0;
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => {
        const org = orgs[i % 2] as string;
        return withTenant(db.app, org, async (tx) => {
          await tx.query('select pg_sleep($1::float8)', [(i % 5) / 1000]);
          const r = await tx.query<{ n: number; who: string }>(
            `select count(*)::int as n, current_setting('app.org_id', true) as who from tickets`,
          );
          if (r.rows[0]?.n !== expected.get(org) || r.rows[0]?.who !== org) leaks++;
        });
      }),
    );
    expect(leaks).toBe(0);
    // Borrow every pooled connection outside a tenant: none may still hold one.
    const clients = await Promise.all(Array.from({ length: 6 }, () => db.app.connect()));
    try {
      for (const c of clients) {
        const r = await c.query<{ n: number; who: string | null }>(
          `select count(*)::int as n, current_setting('app.org_id', true) as who from tickets`,
        );
        expect(r.rows[0]?.n).toBe(0);
        expect(r.rows[0]?.who ?? '').toBe('');
      }
    } finally {
      for (const c of clients) c.release();
    }
  });

  it('unknown or malformed tenant ids see nothing and cannot write', async () => {
    await expect(withTenant(db.app, 'not-a-uuid', async () => 1)).rejects.toMatchObject({
      code: 'not_found',
    });
    const n = await withTenant(db.app, randomUUID(), (tx) =>
      tx.query<{ n: number }>('select count(*)::int as n from tickets'),
    );
    expect(n.rows[0]?.n).toBe(0);
  });
});
