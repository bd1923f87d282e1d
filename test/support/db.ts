import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { createPool, type Pool } from '../../db/pool.js';

export interface TestDb {
  name: string;
  /** The app role: what the system runs as; row-level security applies. */
  app: Pool;
  /** The owner role: runs migrations; forced row-level security applies to it too. */
  owner: Pool;
  /** A superuser: sees every row, for checking what really is in the tables. */
  admin: Pool;
  appUrl: string;
  ownerUrl: string;
}

const TEMPLATE = 'gm_template';

async function asSuper(sql: string) {
  const { superUrlTemplate } = inject('services');
  const c = new pg.Client({ connectionString: superUrlTemplate.replace('{db}', 'postgres') });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A fresh database for this test file, cloned from the migrated template. */
export async function createTestDb(poolMax = 10): Promise<TestDb & { drop(): Promise<void> }> {
  const services = inject('services');
  const name = `t_${randomBytes(6).toString('hex')}`;
  await asSuper(`create database ${name} template ${TEMPLATE} owner gamemod_owner`);
  const appUrl = services.appUrlTemplate.replace('{db}', name);
  const ownerUrl = services.ownerUrlTemplate.replace('{db}', name);
  // The connect timeout covers the wait for a free client too: on a loaded CI machine a test
  // that queues hundreds of transactions on a small pool waits longer than 5 s without failing.
  const opts = { max: poolMax, statementTimeoutMs: 20_000, connectTimeoutMs: 30_000 };
  const app = createPool({ url: appUrl, ...opts });
  const owner = createPool({ url: ownerUrl, ...opts });
  const admin = createPool({ url: services.superUrlTemplate.replace('{db}', name), ...opts, max: 2 });
  return {
    name,
    app,
    owner,
    admin,
    appUrl,
    ownerUrl,
    async drop() {
      await app.end();
      await owner.end();
      await admin.end();
      await asSuper(`drop database if exists ${name} with (force)`);
    },
  };
}

/** Registers beforeAll/afterAll for a per-file database and returns a handle filled in beforeAll. */
export function useTestDb(poolMax = 10): TestDb {
  const handle = {} as TestDb & { drop(): Promise<void> };
  beforeAll(async () => {
    Object.assign(handle, await createTestDb(poolMax));
  });
  afterAll(async () => {
    await handle.drop?.();
  });
  return handle;
}
