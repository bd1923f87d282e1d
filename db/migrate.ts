import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { APP_ROOT } from '../lib/app-root.js';
import { AppError } from '../lib/errors.js';
import type { Pool } from './pool.js';

export const MIGRATIONS_DIR = join(APP_ROOT, 'db', 'migrations');
const TABLE = 'pgmigrations';

/** Migration names in order, as node-pg-migrate records them (file name without `.sql`). */
export function migrationNames(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => f.replace(/\.sql$/, ''));
}

/** Runs migrations as the owner role. `count` limits how many (down: how many to undo). */
export async function migrate(
  ownerUrl: string,
  direction: 'up' | 'down' = 'up',
  opts: { count?: number; log?: (msg: string) => void } = {},
): Promise<string[]> {
  // Our own client, closed (and awaited) here: the runner's own may still be closing when the
  // caller moves on, and a database dropped right after would kill it with an unhandled error.
  const client = new pg.Client({ connectionString: ownerUrl });
  client.on('error', () => {});
  await client.connect();
  const ran = await runner({
    dbClient: client,
    dir: MIGRATIONS_DIR,
    direction,
    count: opts.count ?? (direction === 'up' ? Number.POSITIVE_INFINITY : 1),
    migrationsTable: TABLE,
    checkOrder: true,
    singleTransaction: true,
    log: opts.log ?? (() => {}),
  }).finally(() => client.end());
  return ran.map((m) => m.name);
}

/** Throws unless every migration file has run (the app role can read the migrations table). */
export async function assertMigrationsCurrent(pool: Pool): Promise<void> {
  const r = await pool
    .query<{ name: string }>(`select name from ${TABLE} order by run_on, id`)
    .catch((err) => {
      throw new AppError('unavailable', 'cannot read the migrations table; run `npm run migrate`', {
        cause: err,
      });
    });
  const done = new Set(r.rows.map((x) => x.name));
  const missing = migrationNames().filter((n) => !done.has(n));
  if (missing.length) {
    throw new AppError(
      'unavailable',
      `database migrations pending: ${missing.join(', ')}; run \`npm run migrate\``,
    );
  }
}
