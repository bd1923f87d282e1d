import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withTenant } from '../../db/tenant.js';
import { withTransaction } from '../../db/transaction.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

const db = useTestDb();
const root = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return name === 'node_modules' ? [] : sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** A `.query(...)` (or `text:`) whose first argument is a string literal of SQL. */
const SQL_CALL =
  /(?:\.query(?:<[^>]*>)?\(\s*|\btext:\s*)[`'"]\s*(select|insert|update|delete|with|begin|commit|rollback|listen|set)\b/gi;

function sqlCalls(files: string[]): string[] {
  return files.flatMap((file) => {
    const text = readFileSync(join(root, file), 'utf8');
    return [...text.matchAll(SQL_CALL)].map((m) => {
      const line = text.slice(0, m.index).split('\n').length;
      return `${relative(root, join(root, file))}:${line}: ${m[0].replace(/\s+/g, ' ')}`;
    });
  });
}

describe('the data flow of the design', () => {
  it('keeps SQL in db/: api/, workers/ and lib/ call db/ functions, with two named exceptions', () => {
    const files = [...sources('api'), ...sources('workers'), ...sources('lib')].filter(
      // The local stack bootstraps PostgreSQL itself (roles, databases): it is not the app.
      (f) => !f.startsWith('lib/local-stack/'),
    );
    const allowed = [
      // The readiness probe asks the pool, not an aggregate.
      /^api\/routes\/health\.ts:\d+: \.query\('select/,
      // The relay's wake-up channel (LISTEN needs a dedicated connection the relay holds).
      /^workers\/outbox-relay\.ts:\d+: \.query\('listen/,
    ];
    expect(sqlCalls(files).filter((c) => !allowed.some((a) => a.test(c)))).toEqual([]);
  });

  it('the detector finds the SQL it is meant to find', () => {
    const sample = "await tx.query<{ n: number }>(\n  `delete from x`);\nclient.query({ text: 'select 1' })";
    expect([...sample.matchAll(SQL_CALL)].map((m) => m[1])).toEqual(['delete', 'select']);
  });

  it('writes BEGIN and COMMIT in one place, db/transaction.ts', () => {
    const files = [...sources('db'), ...sources('api'), ...sources('workers'), ...sources('bot')];
    const hand = files.filter(
      (f) =>
        f !== 'db/transaction.ts' &&
        /\.query\(\s*['`"](begin|commit)\b/i.test(readFileSync(join(root, f), 'utf8')),
    );
    expect(hand).toEqual([]);
  });
});

describe('withTransaction', () => {
  it('commits what fn did when it returns and undoes it when it throws, and the connection is clean after', async () => {
    const name = `tx-${Date.now()}`;
    await expect(
      withTransaction(db.app, async (client) => {
        await client.query('insert into users (display_name) values ($1::text)', [`${name}-undone`]);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    const id = await withTransaction(db.app, async (client) => {
      const r = await client.query<{ id: string }>(
        'insert into users (display_name) values ($1::text) returning id',
        [`${name}-kept`],
      );
      return r.rows[0]?.id;
    });
    const r = await db.admin.query('select display_name from users where display_name like $1 order by 1', [
      `${name}-%`,
    ]);
    expect(r.rows.map((x) => x.display_name)).toEqual([`${name}-kept`]);
    expect(id).toBeTruthy();
    // Every pooled connection is out of its transaction and carries no tenant.
    const states = await Promise.all(
      Array.from({ length: 5 }, () =>
        db.app.query<{ org: string | null }>(
          "select nullif(current_setting('app.org_id', true), '') as org, now() = statement_timestamp() as fresh",
        ),
      ),
    );
    for (const s of states) expect(s.rows[0]).toEqual({ org: null, fresh: true });
  });

  it('withTenant builds on it: the tenant is set inside, gone after, and a failed fn leaves nothing', async () => {
    const org = await makeOrg(db.app, 'Txn');
    const inside = await withTenant(db.app, org.orgId, async (tx) => {
      const r = await tx.query<{ org: string }>("select current_setting('app.org_id', true) as org");
      return r.rows[0]?.org;
    });
    expect(inside).toBe(org.orgId);
    await expect(
      withTenant(db.app, org.orgId, async (tx) => {
        await tx.query("update organizations set name = 'Renamed' where id = $1::uuid", [org.orgId]);
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    const name = await withTenant(db.app, org.orgId, async (tx) => {
      const r = await tx.query<{ name: string }>('select name from organizations where id = $1::uuid', [
        org.orgId,
      ]);
      return r.rows[0]?.name;
    });
    expect(name).toBe('Txn');
  });
});
