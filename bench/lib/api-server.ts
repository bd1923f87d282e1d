import { createServer } from 'node:http';
import { pino } from 'pino';
import { createPool } from '../../db/pool.js';
import { startBenchApi } from './api-app.js';

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
  // Asked to stop (a profiled run): exit normally, which writes the --cpu-prof profile.
  if (m === 'exit') process.exit(0);
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
  const { port } = await startBenchApi({
    pool,
    redisUrl: REDIS_URL as string,
    logger: pino({ level: 'warn' }),
    filesPrefix: 'gamemod-bench-files',
  });
  process.send?.({ port });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
