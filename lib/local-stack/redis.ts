import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { AppError } from '../errors.js';
import { findServerBinaries } from './binaries.js';
import { alive, readPid, withStartLock } from './lock.js';
import { chownTree, ensureTraversable, serverUser } from './os-user.js';
import { portAnswers } from './ports.js';
import { run } from './run.js';

export interface RedisOptions {
  dir: string;
  port: number;
  install: boolean;
  /** AOF on for the embedded default (BullMQ's requirement); throwaway test servers skip it. */
  durable: boolean;
  log: (msg: string) => void;
  binDirs?: readonly string[];
  searchUsual?: boolean;
}

export interface RedisHandle {
  url: string;
  port: number;
  pid: number;
  reused: boolean;
  stop(opts?: { kill?: boolean }): Promise<void>;
  /** Starts it again after a stop (fault tests kill and restart Redis). */
  restart(): Promise<void>;
}

async function ping(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * Whether the server on the port is the one this folder configured: any Redis answers a PING
 * with our password (one without a password only warns about it), so the folder and password it
 * reports are compared. 'none' when nothing answers, 'other' for a stranger.
 */
async function whoAnswers(url: string, dir: string, password: string): Promise<'ours' | 'other' | 'none'> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch {
    return 'none';
  }
  try {
    const [, confDir] = (await client.config('GET', 'dir')) as string[];
    const [, confPass] = (await client.config('GET', 'requirepass')) as string[];
    return confDir === realpathSync(dir) && confPass === password ? 'ours' : 'other';
  } catch {
    return 'other';
  } finally {
    client.disconnect();
  }
}

const portTaken = (port: number) =>
  new AppError(
    'local_stack',
    `port ${port} in use (EMBEDDED_REDIS_PORT): another program's server answers there; stop it, or choose another port`,
  );

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** A redis.conf value in double quotes, so a folder with spaces in its path stays one argument. */
const confString = (s: string) => `"${s.replace(/[\\"]/g, '\\$&')}"`;

/** Starts (or reuses) a private redis-server on loopback with noeviction and a password. */
export async function startRedis(opts: RedisOptions): Promise<RedisHandle> {
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return withStartLock(join(dir, 'start.lock'), () => startLocked(opts));
}

async function startLocked(opts: RedisOptions): Promise<RedisHandle> {
  const bin = await findServerBinaries(
    'redis',
    { extraDirs: opts.binDirs, usual: opts.searchUsual },
    { install: opts.install, log: opts.log },
  );
  const dir = resolve(opts.dir);
  // As root, redis-server runs as the user PostgreSQL runs as (os-user.ts), owning its folder.
  const user = serverUser('Redis');
  if (user) {
    const opened = ensureTraversable(dir, user);
    if (opened.length)
      opts.log(`let the ${user.name} user pass through ${opened.join(', ')} (search bit only)`);
  }
  const pwFile = join(dir, 'password');
  if (!existsSync(pwFile)) writeFileSync(pwFile, randomBytes(18).toString('hex'), { mode: 0o600 });
  const password = readFileSync(pwFile, 'utf8').trim();
  const pidFile = join(dir, 'redis.pid');
  const url = `redis://:${password}@127.0.0.1:${opts.port}`;

  const start = async () => {
    // The password goes in a config file, not argv, so `ps` does not show it.
    const conf = join(dir, 'redis.conf');
    writeFileSync(
      conf,
      [
        `port ${opts.port}`,
        'bind 127.0.0.1',
        `dir ${confString(dir)}`,
        `pidfile ${confString(pidFile)}`,
        `logfile ${confString(join(dir, 'redis.log'))}`,
        'daemonize yes',
        'maxmemory-policy noeviction',
        `appendonly ${opts.durable ? 'yes' : 'no'}`,
        'appendfsync everysec',
        'save ""',
        `requirepass ${password}`,
      ].join('\n'),
      { mode: 0o600 },
    );
    // Also what an earlier root-run server wrote (AOF, log), or it could not write there now.
    if (user) chownTree(dir, user);
    // Daemonized, redis-server exits 0 before it binds, so a held port only shows afterwards.
    if (await portAnswers(opts.port)) throw portTaken(opts.port);
    const res = await run(join(bin, 'redis-server'), [conf], {
      uid: user?.uid,
      gid: user?.gid,
      timeoutMs: 30_000,
    });
    if (res.code !== 0)
      throw new AppError('local_stack', `redis-server failed to start: ${res.stderr || res.stdout}`);
    if (!(await waitFor(() => ping(url), 15_000))) {
      throw new AppError(
        'local_stack',
        `redis-server did not answer on port ${opts.port}; see ${join(dir, 'redis.log')}`,
      );
    }
    if ((await whoAnswers(url, dir, password)) !== 'ours') throw portTaken(opts.port);
  };

  const found = await whoAnswers(url, dir, password);
  if (found === 'other') throw portTaken(opts.port);
  const reused = found === 'ours';
  if (!reused) await start();

  return {
    url,
    port: opts.port,
    get pid() {
      return readPid(pidFile) ?? -1;
    },
    reused,
    async stop({ kill = false } = {}) {
      const pid = readPid(pidFile);
      if (!alive(pid)) return;
      process.kill(pid, kill ? 'SIGKILL' : 'SIGTERM');
      await waitFor(async () => !alive(pid), 15_000);
    },
    restart: start,
  };
}
