import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startPostgres, startRedis } from '../../lib/local-stack/index.js';
import { serverUser } from '../../lib/local-stack/os-user.js';
import { freePort } from '../../lib/local-stack/ports.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'gamemod-launcher-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const log = () => {};

describe('the embedded stack launcher', () => {
  it('reuses an existing PostgreSQL data folder: no second initdb, data kept', async () => {
    const dir = join(tmp(), 'pg');
    const port = await freePort();
    const messages: string[] = [];
    const opts = {
      dir,
      port,
      database: 'gamemod',
      install: false,
      durable: false,
      log: (m: string) => messages.push(m),
    };
    const first = await startPostgres(opts);
    expect(first.reused).toBe(false);
    const c1 = new pg.Client({ connectionString: first.urlFor('super', 'gamemod') });
    await c1.connect();
    await c1.query('create table kept (v int); insert into kept values (7)');
    await c1.end();
    // Running: a second start attaches to it.
    const again = await startPostgres(opts);
    expect(again.reused).toBe(true);
    await first.stop();
    // Stopped: a third start boots the same cluster without initdb.
    const initsBefore = messages.filter((m) => m.includes('initialising')).length;
    const third = await startPostgres(opts);
    expect(third.reused).toBe(false);
    expect(messages.filter((m) => m.includes('initialising')).length).toBe(initsBefore);
    const c2 = new pg.Client({ connectionString: third.appUrl });
    await c2.connect();
    const role = await c2.query<{ u: string; bypass: boolean }>(
      'select current_user as u, rolbypassrls as bypass from pg_roles where rolname = current_user',
    );
    expect(role.rows[0]).toEqual({ u: 'gamemod_app', bypass: false });
    await c2.end();
    const c3 = new pg.Client({ connectionString: third.urlFor('super', 'gamemod') });
    await c3.connect();
    expect((await c3.query('select v from kept')).rows).toEqual([{ v: 7 }]);
    await c3.end();
    await third.stop();
  });

  it('runs Redis with noeviction and a password, and reuses a running one', async () => {
    const dir = join(tmp(), 'redis');
    const port = await freePort();
    const opts = { dir, port, install: false, durable: true, log };
    const first = await startRedis(opts);
    const second = await startRedis(opts);
    expect([first.reused, second.reused]).toEqual([false, true]);
    const { Redis } = await import('ioredis');
    const ok = new Redis(first.url);
    expect(await ok.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    expect(await ok.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await ok.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
    ok.disconnect();
    // As root, it runs as the unprivileged user PostgreSQL runs as, never as root.
    const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${first.pid}/status`, 'utf8'))?.[1]);
    expect(uid).toBe(serverUser()?.uid ?? process.getuid?.());
    expect(uid).not.toBe(0);
    const anon = new Redis(`redis://127.0.0.1:${port}`, {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    anon.on('error', () => {});
    await expect(anon.get('x')).rejects.toThrow(/NOAUTH/);
    anon.disconnect();
    await first.stop();
  });

  it('names the package to install when a binary is missing and installing is not permitted', async () => {
    const empty = tmp();
    const pgErr = await startPostgres({
      dir: join(tmp(), 'pg'),
      port: 1,
      database: 'x',
      install: false,
      durable: false,
      log,
      binDirs: [empty],
      searchUsual: false,
    }).catch((e) => e);
    expect(pgErr.code).toBe('local_stack');
    expect(pgErr.message).toMatch(/apt-get install postgresql/);
    expect(pgErr.message).toMatch(/DATABASE_URL/);
    expect(pgErr.message).toMatch(/docker-compose up/);
    const redisErr = await startRedis({
      dir: join(tmp(), 'r'),
      port: 1,
      install: false,
      durable: false,
      log,
      binDirs: [empty],
      searchUsual: false,
    }).catch((e) => e);
    expect(redisErr.message).toMatch(/apt-get install redis-server/);
  });
});
