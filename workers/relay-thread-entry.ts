import { getPriority } from 'node:os';
import { workerData } from 'node:worker_threads';
import { startTelemetry, type Telemetry, telemetrySettings } from '../lib/telemetry.js';
import type { FromRelayThread, RelayThreadData, ToRelayThread } from './relay-thread.js';

/**
 * The relay thread's own side (workers/relay-thread.ts starts it): tracing first, as main.ts does
 * for the process (pg, ioredis and BullMQ must be imported after the SDK's hook), then the pool,
 * the producer connection, the queues and the relay. Measurements go to the main thread in
 * batches, every METER_MS and when it stops.
 */
const data = workerData as RelayThreadData;
// Its line to the workers' main thread: its parent is the spawner (relay-thread.ts says why).
const port = data?.port;
const METER_MS = 250;

async function main() {
  if (!port) throw new Error('relay-thread-entry runs as a worker thread');
  const send = (m: FromRelayThread) => port.postMessage(m);
  let telemetry: Telemetry | undefined;
  try {
    telemetry = await startTelemetry(telemetrySettings(process.env, data.serviceName));
  } catch (err) {
    // Untraced, the relay still hands each row's trace context to its jobs.
    console.error(`outbox relay thread: tracing not started: ${(err as Error).message}`);
  }
  const [{ poolFromSettings }, { createRedis }, { createLogger }, { createQueues }, { OutboxRelay }] =
    await Promise.all([
      import('../db/pool.js'),
      import('../lib/redis.js'),
      import('../lib/logger.js'),
      import('./queues.js'),
      import('./outbox-relay.js'),
    ]);
  const logger = createLogger(data.logLevel, { role: 'workers', part: 'relay' });
  const pool = poolFromSettings(data.pool);
  const redis = createRedis(data.redisUrl, 'producer', 'gamemod-relay');
  redis.on('error', (err) => logger.debug({ err: err.message }, 'redis connection error'));
  try {
    await redis.connect();
  } catch (err) {
    await pool.end();
    send({ type: 'failed', message: `Redis: ${(err as Error).message}` });
    return;
  }
  const queues = createQueues(redis, data.prefix);

  let lags: number[] = [];
  let failed = 0;
  let unrelayed: number | null = null;
  const flush = () => {
    if (!lags.length && !failed && unrelayed === null) return;
    send({ type: 'meter', lags, failed, unrelayed });
    lags = [];
    failed = 0;
    unrelayed = null;
  };
  const meterTimer = setInterval(flush, METER_MS);
  const relay = new OutboxRelay({
    pool,
    redis,
    queues,
    logger,
    meter: {
      relayed: (xs) => {
        for (const x of xs) lags.push(x);
      },
      failed: () => {
        failed++;
      },
      unrelayed: (n) => {
        unrelayed = n;
      },
    },
    ...(data.pollMs !== undefined ? { pollMs: data.pollMs } : {}),
    ...(data.batchSize !== undefined ? { batchSize: data.batchSize } : {}),
    ...(data.lookbackMs !== undefined ? { lookbackMs: data.lookbackMs } : {}),
  });
  relay.start();
  port.on('message', (m: ToRelayThread) => {
    if (m.type !== 'stop') return;
    void (async () => {
      // The batch in progress commits or rolls back, then everything this thread opened closes.
      await relay.stop();
      clearInterval(meterTimer);
      flush();
      await pool.end().catch(() => {});
      await queues.close().catch(() => {});
      await redis.quit().catch(() => redis.disconnect());
      await telemetry?.shutdown().catch(() => {});
      send({ type: 'stopped' });
    })();
  });
  // Its own scheduling priority (a thread's, on Linux): the processors' is lowered below it.
  const nice = getPriority(0);
  logger.info({ nice }, 'outbox relay thread relaying');
  send({ type: 'ready', nice });
}

main().catch((err) => {
  port?.postMessage({ type: 'failed', message: (err as Error).message } satisfies FromRelayThread);
  throw err;
});
