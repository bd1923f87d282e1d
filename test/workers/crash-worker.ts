/**
 * A worker process for tests that kill one mid-job: runs the job processors (no relay, no
 * schedulers) on the database, Redis and BullMQ prefix given in the environment, with a short
 * job lock so a survivor finds its jobs stalled within seconds. Prints "ready" once started.
 */
import { createPool } from '../../db/pool.js';
import { createLogger } from '../../lib/logger.js';
import { createSecretBox } from '../../lib/secret-box.js';
import { randomSecretKey } from '../../lib/secret-key.js';
import { startWorkerRuntime } from '../../workers/runtime.js';

const env = process.env;
const pool = createPool({
  url: env.CRASH_DATABASE_URL as string,
  max: 4,
  statementTimeoutMs: 60_000,
  connectTimeoutMs: 5_000,
});
await startWorkerRuntime({
  pool,
  redisUrl: env.CRASH_REDIS_URL as string,
  logger: createLogger('silent'),
  box: createSecretBox(randomSecretKey()),
  webhookTargets: { allowLoopback: true, allowPrivate: false },
  prefix: env.CRASH_PREFIX as string,
  schedulers: false,
  relay: { enabled: false },
  stalled: { lockDurationMs: 2_000, checkEveryMs: 1_000 },
});
process.stdout.write('ready\n');
