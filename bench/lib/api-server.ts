import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { buildApp } from '../../api/app.js';
import { createPool } from '../../db/pool.js';
import { randomSecretKey } from '../../lib/secret-key.js';
import { LocalStorage } from '../../lib/storage/index.js';

/**
 * The server side of the API benchmark, run in a child process so the load generator and the
 * server do not share one event loop. `bare` is the baseline: node:http answering like /health.
 * `app` is the whole API (every plugin, hook and route), on Postgres and Redis.
 */
const kind = process.argv[2];
const { DB_URL, REDIS_URL, POOL_MAX } = process.env;

// The benchmark asks for this process's CPU time around each round: CPU per request is steadier
// than requests/s on a shared machine, where the load generator competes for the same cores.
process.on('message', (m) => {
  if (m === 'cpu') process.send?.({ cpu: process.cpuUsage() });
});

async function main() {
  if (kind === 'bare') {
    const body = JSON.stringify({ status: 'ok' });
    const server = createServer((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': body.length,
      });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    process.send?.({ port: typeof addr === 'object' && addr ? addr.port : 0 });
    return;
  }
  const pool = createPool({
    url: DB_URL as string,
    max: Number(POOL_MAX ?? 16),
    statementTimeoutMs: 10_000,
    connectTimeoutMs: 5_000,
    applicationName: 'gamemod-bench-api',
  });
  const redis = new Redis(REDIS_URL as string, { maxRetriesPerRequest: 1, enableOfflineQueue: true });
  const app = await buildApp({
    pool,
    redis,
    subscriber: () => new Redis(REDIS_URL as string, { maxRetriesPerRequest: null }),
    logger: pino({ level: 'warn' }),
    storage: new LocalStorage(join(tmpdir(), `gamemod-bench-files-${process.pid}`)),
    settings: { secretKey: randomSecretKey() },
    // The benchmark measures the stack, not the limiter's refusals.
    rateLimits: {
      default: { burst: 1e9, perMinute: 1e12 },
      auth: { burst: 1e9, perMinute: 1e12 },
      oauth: { burst: 1e9, perMinute: 1e12 },
    },
    sdkRateLimits: {
      key: { burst: 1e9, perMinute: 1e12 },
      player: { burst: 1e9, perMinute: 1e12 },
      address: { burst: 1e9, perMinute: 1e12 },
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  process.send?.({ port: typeof addr === 'object' && addr ? addr.port : 0 });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
