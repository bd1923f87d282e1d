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
    ...(kind === 'worker'
      ? { maxRetriesPerRequest: null }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5_000 }),
  });
  return client;
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
