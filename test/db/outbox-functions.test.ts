import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';

const db = useTestDb();

/** Written into org B's event payloads; no function the app role runs for org A may return it. */
const MARKER = `outbox-secret-${randomBytes(8).toString('hex')}`;

let a: OrgFixture;
let b: OrgFixture;
let bIds: number[];
let allIds: number[];

interface ExecutableFunction {
  name: string;
  args: string;
  types: string[];
}

beforeAll(async () => {
  a = await makeOrg(db.app, 'Studio A');
  b = await makeOrg(db.app, 'Studio B');
  await withTenant(db.app, a.orgId, (tx) => openTicket(tx, { subject: 'A ticket', origin: 'api' }, a.owner));
  await withTenant(db.app, b.orgId, async (tx) => {
    for (let i = 0; i < 4; i++) {
      await openTicket(tx, { subject: `${MARKER} ${i}`, origin: 'api' }, b.owner);
    }
  });
  const ids = await db.admin.query<{ id: number; org_id: string }>(
    'select id, org_id from outbox order by id',
  );
  allIds = ids.rows.map((r) => Number(r.id));
  bIds = ids.rows.filter((r) => r.org_id === b.orgId).map((r) => Number(r.id));
  // Some of B's events relayed a moment ago (what the relay's look-back reads), the rest waiting
  // (what a claim reads).
  await db.admin.query('update outbox set relayed_at = now() where id = any($1::bigint[])', [
    bIds.slice(0, Math.ceil(bIds.length / 2)),
  ]);
});

/** Every function in `public` the app role may execute (trigger functions can't be called). */
async function executableFunctions(): Promise<ExecutableFunction[]> {
  const r = await db.admin.query<{ name: string; args: string; types: string[] }>(
    `select p.proname as name, pg_get_function_identity_arguments(p.oid) as args,
            coalesce((select array_agg(format_type(t, null) order by i)
                        from unnest(p.proargtypes) with ordinality as u(t, i)), '{}') as types
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'public' and p.prokind = 'f'
        and p.prorettype <> 'trigger'::regtype
        and has_function_privilege('gamemod_app', p.oid, 'execute')
      order by 1, 2`,
  );
  return r.rows;
}

/**
 * Argument lists to try, aimed at org B's rows: its org id, its outbox ids, a wide time window
 * around now, large batches. Each uuid parameter is tried with B's id and with A's.
 */
function argumentSets(types: readonly string[]): unknown[][] {
  const now = Date.now();
  let sets: unknown[][] = [[]];
  let timestamps = 0;
  for (const type of types) {
    let options: unknown[];
    switch (type) {
      case 'integer':
      case 'bigint':
        options = type === 'bigint' ? [0, bIds[0]] : [1000];
        break;
      case 'bigint[]':
        options = [allIds, bIds];
        break;
      case 'uuid':
        options = [b.orgId, a.orgId, null];
        break;
      case 'uuid[]':
        options = [[a.orgId, b.orgId]];
        break;
      case 'timestamp with time zone':
        // (since, until): a day back to an hour ahead.
        options = [new Date(timestamps++ === 0 ? now - 24 * 3600_000 : now + 3600_000)];
        break;
      case 'text':
        options = ['x'];
        break;
      case 'text[]':
        options = [['x']];
        break;
      case 'integer[]':
        options = [[1]];
        break;
      case 'jsonb':
        options = [{}];
        break;
      case 'jsonb[]':
        options = [[{}]];
        break;
      case 'boolean':
        options = [true, false];
        break;
      case 'bytea':
        options = [Buffer.alloc(32)];
        break;
      default:
        throw new Error(`no test arguments for parameter type ${type}: add them here`);
    }
    sets = sets.flatMap((s) => options.map((o) => [...s, o]));
  }
  return sets;
}

/** Calls a function as the app role with `tenant` set (or none), always rolling back. */
async function callAsApp(fn: ExecutableFunction, args: unknown[], tenant: string | null) {
  const client: pg.PoolClient = await db.app.connect();
  try {
    await client.query('begin');
    if (tenant) await client.query(`select set_config('app.org_id', $1::text, true)`, [tenant]);
    const params = fn.types.map((t, i) => `$${i + 1}::${t}`).join(', ');
    const r = await client.query({ text: `select * from ${fn.name}(${params})`, values: args });
    return { rows: r.rows as unknown[], error: null };
  } catch (err) {
    return { rows: [], error: (err as Error).message };
  } finally {
    await client.query('rollback').catch(() => {});
    client.release();
  }
}

describe('functions the app role can execute', () => {
  it("the marker really is in B's outbox payloads, visible to B's own tenant", async () => {
    const r = await withTenant(db.app, b.orgId, (tx) =>
      tx.query<{ payload: unknown }>('select payload from outbox where id = any($1::bigint[])', [bIds]),
    );
    expect(r.rows).toHaveLength(bIds.length);
    expect(JSON.stringify(r.rows)).toContain(MARKER);
  });

  it("none of them returns another organization's outbox payloads, whatever it is asked", async () => {
    const fns = await executableFunctions();
    // The relay's functions are among them: the check covers the claim and the look-back.
    expect(fns.map((f) => f.name)).toEqual(
      expect.arrayContaining(['gm_claim_outbox', 'gm_outbox_relayed_between', 'gm_mark_outbox_relayed']),
    );
    const leaks: string[] = [];
    let calls = 0;
    for (const fn of fns) {
      for (const args of argumentSets(fn.types)) {
        for (const tenant of [a.orgId, null]) {
          const { rows, error } = await callAsApp(fn, args, tenant);
          if (!error) calls++;
          if (JSON.stringify(rows).includes(MARKER)) {
            leaks.push(`${fn.name}(${fn.args}) as tenant ${tenant === null ? 'none' : 'A'}`);
          }
        }
      }
    }
    expect(leaks).toEqual([]);
    expect(calls).toBeGreaterThan(fns.length);
  });

  it('the claim hands out ids and organizations only, with row locks the claiming transaction holds', async () => {
    const client = await db.app.connect();
    try {
      await client.query('begin');
      const r = await client.query('select * from gm_claim_outbox(1000)');
      expect(r.fields.map((f) => f.name).sort()).toEqual(['id', 'org_id']);
      expect(r.rows.map((x) => Number(x.id))).toEqual(
        expect.arrayContaining(bIds.slice(Math.ceil(bIds.length / 2))),
      );
      // Another relay skips the claimed rows.
      const other = await db.app.connect();
      try {
        await other.query('begin');
        expect((await other.query('select * from gm_claim_outbox(1000)')).rows).toEqual([]);
        await other.query('rollback');
      } finally {
        other.release();
      }
      await client.query('rollback');
    } finally {
      client.release();
    }
  });
});
