import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { ensureLocalStack, startPostgres, startRedis } from '../../lib/local-stack/index.js';
import { freePort } from '../../lib/local-stack/ports.js';
import { createLogger } from '../../lib/logger.js';

// How `npm start` copes with what it finds on the machine: ports other programs hold, folders
// with spaces in their path, two roles started at once, servers a crashed run left behind.

const base = mkdtempSync(join(tmpdir(), 'gamemod-launch-'));
const others: ChildProcess[] = [];
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const clean of cleanups.reverse()) await clean().catch(() => {});
  for (const p of others) p.kill('SIGKILL');
  rmSync(base, { recursive: true, force: true });
}, 120_000);
const log = () => {};
let n = 0;
const folder = (name: string) => join(base, `${++n}`, name);

describe('npm start when the embedded Redis port is already taken', () => {
  it('refuses to start instead of using a stranger Redis (no password) as its own', async () => {
    const port = await freePort();
    others.push(
      spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      ),
    );
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => 50 });
    probe.on('error', () => {});
    await probe.connect().catch(() => {});
    await probe.set('theirs', 'other application data');
    const outcome = await startRedis({ dir: folder('redis'), port, install: false, durable: true, log }).then(
      async (r) => {
        cleanups.push(() => r.stop({ kill: true }));
        const c = new Redis(r.url);
        const seen = await c.get('theirs');
        c.disconnect();
        return { started: true, reused: r.reused, seesOtherData: seen };
      },
      (err: Error & { code?: string }) => ({ started: false, code: err.code, error: err.message }),
    );
    probe.disconnect();
    expect(outcome).toEqual({
      started: false,
      code: 'local_stack',
      error: expect.stringContaining(`port ${port} in use (EMBEDDED_REDIS_PORT)`),
    });
  }, 60_000);

  it('refuses a PostgreSQL port another cluster holds, and leaves that cluster alone', async () => {
    const port = await freePort();
    const theirs = await startPostgres({
      dir: folder('their-pg'),
      port,
      database: 'theirs',
      install: false,
      durable: false,
      log,
    });
    cleanups.push(() => theirs.stop({ immediate: true }));
    const err = await startPostgres({
      dir: folder('pg'),
      port,
      database: 'gamemod',
      install: false,
      durable: false,
      log,
    }).then(
      (h) => {
        cleanups.push(() => h.stop({ immediate: true }));
        return { started: true, reused: h.reused };
      },
      (e: Error & { code?: string }) => ({ started: false, code: e.code, error: e.message }),
    );
    expect(err).toEqual({
      started: false,
      code: 'local_stack',
      error: expect.stringContaining(`port ${port} in use (EMBEDDED_PG_PORT)`),
    });
    const c = new pg.Client({ connectionString: theirs.superUrl });
    await c.connect();
    const dbs = await c.query('select datname from pg_database where datname = $1', ['gamemod']);
    await c.end();
    expect(dbs.rows).toEqual([]);
  }, 120_000);
});

describe('npm start from a checkout whose path has a space', () => {
  it('starts Redis and PostgreSQL under "gamemod review-…/My Projects/.data"', async () => {
    const data = join(mkdtempSync(join(base, 'gamemod review-')), 'My Projects', '.data');
    const redis = await startRedis({
      dir: join(data, 'redis'),
      port: await freePort(),
      install: false,
      durable: true,
      log,
    });
    cleanups.push(() => redis.stop({ kill: true }));
    const postgres = await startPostgres({
      dir: join(data, 'postgres'),
      port: await freePort(),
      database: 'gamemod',
      install: false,
      durable: false,
      log,
    });
    cleanups.push(() => postgres.stop({ immediate: true }));
    expect([redis.reused, postgres.reused]).toEqual([false, false]);
    const r = new Redis(redis.url);
    expect(await r.config('GET', 'dir')).toEqual(['dir', resolve(data, 'redis')]);
    r.disconnect();
    await redis.stop();
    await postgres.stop();
  }, 120_000);
});

describe('two roles started at once on one data folder', () => {
  it('both start: one starts the servers, the other reuses them', async () => {
    const pgOpts = {
      dir: folder('pg'),
      port: await freePort(),
      database: 'gamemod',
      install: false,
      durable: false,
      log,
    };
    const first = await startPostgres(pgOpts);
    await first.stop();
    const pgBoth = await Promise.allSettled([startPostgres(pgOpts), startPostgres(pgOpts)]);
    cleanups.push(() => first.stop({ immediate: true }));
    expect(pgBoth.map((r) => (r.status === 'fulfilled' ? r.value.reused : String(r.reason))).sort()).toEqual([
      false,
      true,
    ]);
    const redisOpts = { dir: folder('redis'), port: await freePort(), install: false, durable: false, log };
    const redisBoth = await Promise.allSettled([startRedis(redisOpts), startRedis(redisOpts)]);
    for (const r of redisBoth)
      if (r.status === 'fulfilled') cleanups.push(() => r.value.stop({ kill: true }));
    expect(
      redisBoth.map((r) => (r.status === 'fulfilled' ? r.value.reused : String(r.reason))).sort(),
    ).toEqual([false, true]);
  }, 180_000);
});

/**
 * Runs `npm start`'s launcher in a child process that prints "ready" and then waits to be killed.
 * Node itself, with tsx as a loader: the tsx command would run the script in a grandchild that a
 * kill leaves running.
 */
function launcherProcess(env: Record<string, string>): Promise<ChildProcess> {
  const script = join(base, `launcher-${++n}.mts`);
  writeFileSync(
    script,
    [
      `import { loadConfig } from ${JSON.stringify(resolve('lib/config.ts'))};`,
      `import { ensureLocalStack } from ${JSON.stringify(resolve('lib/local-stack/index.ts'))};`,
      `import { createLogger } from ${JSON.stringify(resolve('lib/logger.ts'))};`,
      `await ensureLocalStack(loadConfig(${JSON.stringify(env)}), createLogger('silent'));`,
      `console.log('ready');`,
      'setInterval(() => {}, 1000);',
    ].join('\n'),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  others.push(child);
  return new Promise((ok, fail) => {
    child.stdout?.on('data', (b: Buffer) => b.toString().includes('ready') && ok(child));
    child.on('exit', (code) => fail(new Error(`launcher exited with ${code}`)));
  });
}

const accepts = async (url: string) => {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
};

describe('npm start after a crashed run', () => {
  it('takes over the servers the crashed run left, and stops them when it stops', async () => {
    const dataDir = join(base, 'crashed', '.data');
    mkdirSync(dataDir, { recursive: true });
    const env = {
      NODE_ENV: 'development',
      DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(await freePort()),
      EMBEDDED_REDIS_PORT: String(await freePort()),
      EMBEDDED_INSTALL: 'never',
    };
    const crashed = await launcherProcess(env);
    const pgOpts = {
      dir: join(dataDir, 'postgres'),
      port: Number(env.EMBEDDED_PG_PORT),
      database: 'gamemod',
      install: false,
      durable: true,
      log,
    };
    const redisOpts = {
      dir: join(dataDir, 'redis'),
      port: Number(env.EMBEDDED_REDIS_PORT),
      install: false,
      durable: true,
      log,
    };
    cleanups.push(async () => (await startPostgres(pgOpts)).stop({ immediate: true }));
    cleanups.push(async () => (await startRedis(redisOpts)).stop({ kill: true }));
    crashed.kill('SIGKILL');
    await new Promise((r) => crashed.once('exit', r));

    // While another run is alive, its servers are its own to stop.
    const alive = await launcherProcess(env);
    const bystander = await ensureLocalStack(loadConfig(env), createLogger('silent'));
    await bystander.stop();
    const pgUrl = (await startPostgres(pgOpts)).appUrl;
    expect(await accepts(pgUrl)).toBe(true);
    alive.kill('SIGKILL');
    await new Promise((r) => alive.once('exit', r));

    // Its owner gone, the next run takes the servers over and stops them.
    const next = await ensureLocalStack(loadConfig(env), createLogger('silent'));
    await next.stop();
    expect(await accepts(pgUrl)).toBe(false);
    expect(await startRedis(redisOpts).then((r) => r.reused)).toBe(false);
  }, 180_000);
});
