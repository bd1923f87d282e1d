import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { migrate, migrationNames } from '../../db/migrate.js';

async function superQuery<R extends pg.QueryResultRow>(db: string, sql: string): Promise<R[]> {
  const c = new pg.Client({ connectionString: inject('services').superUrlTemplate.replace('{db}', db) });
  await c.connect();
  try {
    return (await c.query<R>(sql)).rows;
  } finally {
    await c.end();
  }
}

const objects = (db: string) =>
  superQuery<{ n: number }>(
    db,
    `select (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'
              and c.relname <> 'pgmigrations' and c.relname not like 'pgmigrations%')::int
          + (select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public')::int as n`,
  ).then((r) => r[0]?.n ?? -1);

describe('migrations', () => {
  it('go up, all the way down, and up again cleanly', async () => {
    const name = `m_${randomBytes(5).toString('hex')}`;
    await superQuery('postgres', `create database ${name} owner gamemod_owner`);
    try {
      const url = inject('services').ownerUrlTemplate.replace('{db}', name);
      const all = migrationNames();
      expect(await migrate(url, 'up')).toEqual(all);
      const afterUp = await objects(name);
      expect(afterUp).toBeGreaterThan(100);
      expect(await migrate(url, 'down', { count: Number.POSITIVE_INFINITY })).toEqual([...all].reverse());
      expect(await objects(name)).toBe(0);
      expect(await migrate(url, 'up')).toEqual(all);
      expect(await objects(name)).toBe(afterUp);
      expect(await migrate(url, 'up')).toEqual([]);
    } finally {
      await superQuery('postgres', `drop database ${name} with (force)`);
    }
  });
});
