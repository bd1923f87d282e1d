import { Redis } from 'ioredis';
import { AppError } from './errors.js';

/**
 * Two kinds of connection, per BullMQ's rules: `worker` connections wait through outages
 * (maxRetriesPerRequest: null); `producer` connections on request paths fail fast instead of
 * queueing commands while Redis is away.
 */
export function createRedis(url: string, kind: 'worker' | 'producer', name = 'gamemod'): Redis {
  const client = new Redis(url, {
    connectionName: name,
    lazyConnect: true,
    retryStrategy: reconnectDelay,
    // While Redis loads its AOF after a restart, ask again this often (ioredis waits the load's
    // estimated time, a second at least, by default).
    maxLoadingRetryTime: 250,
    ...(kind === 'worker'
      ? { maxRetriesPerRequest: null }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5_000 }),
  });
  return client;
}

/**
 * Delay before reconnect attempt `times`: 50 ms more each time, at most 500 ms (ioredis: 2 s). An
 * attempt against a Redis that is down costs a refused connection; waiting longer only adds to
 * the time everything takes to come back after it returns.
 */
export function reconnectDelay(times: number): number {
  return Math.min(times * 50, 500);
}

/**
 * BullMQ is only correct when Redis never evicts keys; refuse to start otherwise. Read from
 * `INFO memory`, not `CONFIG GET`: managed Redis services (Memorystore, ElastiCache) refuse
 * CONFIG but report the policy there.
 */
export async function assertNoEviction(redis: Redis): Promise<void> {
  const info = await redis.info('memory');
  const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1] ?? 'unknown';
  if (policy !== 'noeviction') {
    throw new AppError(
      'unavailable',
      `Redis maxmemory-policy is "${policy}"; the job queue needs "noeviction" (CONFIG SET maxmemory-policy noeviction)`,
    );
  }
}

type ScriptCommand = (...args: Array<string | number>) => Promise<unknown>;

/**
 * Makes a Lua script a command of this connection (`defineCommand`), once: ioredis then sends
 * EVALSHA, and the script's text only when Redis answers NOSCRIPT (its first use on a server).
 * Without `numberOfKeys` the command takes the key count as its first argument.
 */
export function defineScript(redis: Redis, name: string, lua: string, numberOfKeys?: number): void {
  if (typeof (redis as unknown as Record<string, unknown>)[name] === 'function') return;
  redis.defineCommand(name, numberOfKeys === undefined ? { lua } : { numberOfKeys, lua });
}

/**
 * A Lua script called by name (`defineScript`): `eval` sent the whole text with every call, so a
 * rate limit checked on every request wrote its script to the socket each time.
 */
export function redisScript<R>(name: string, lua: string) {
  return (redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<R> => {
    defineScript(redis, name, lua);
    // Called as a method: the command needs the connection as `this`.
    const own = redis as unknown as Record<string, ScriptCommand>;
    return own[name]?.(keys.length, ...keys, ...args) as Promise<R>;
  };
}
