import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../db/migrate.js';
import { startPostgres, startRedis } from '../../lib/local-stack/index.js';
import { freePort } from '../../lib/local-stack/ports.js';

export const TEMPLATE_DB = 'gm_template';

declare module 'vitest' {
  export interface ProvidedContext {
    services: {
      superUrlTemplate: string;
      ownerUrlTemplate: string;
      appUrlTemplate: string;
      redisUrl: string;
    };
    /** A folder for the whole run, removed at its end (the compiled build is made there once). */
    runDir: string;
  }
}

/**
 * One throwaway PostgreSQL cluster and one Redis for the whole run, started by the same launcher
 * `npm start` uses, on free ports. A migrated template database is cloned per test file.
 */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'gamemod-test-'));
  const log = () => {};
  const [pgPort, redisPort] = [await freePort(), await freePort()];
  const pg = await startPostgres({
    dir: join(dir, 'pg'),
    port: pgPort,
    database: TEMPLATE_DB,
    install: true,
    durable: false,
    log,
  });
  const redis = await startRedis({
    dir: join(dir, 'redis'),
    port: redisPort,
    install: true,
    durable: false,
    log,
  });
  await migrate(pg.ownerUrl);
  project.provide('services', {
    // `{db}` is replaced by each test file's own database name.
    superUrlTemplate: pg.urlFor('super', '{db}'),
    ownerUrlTemplate: pg.urlFor('owner', '{db}'),
    appUrlTemplate: pg.urlFor('app', '{db}'),
    redisUrl: redis.url,
  });
  mkdirSync(join(dir, 'run'));
  project.provide('runDir', join(dir, 'run'));
  return async () => {
    await redis.stop({ kill: true });
    await pg.stop({ immediate: true });
    rmSync(dir, { recursive: true, force: true });
  };
}
