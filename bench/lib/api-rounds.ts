import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { createPool, type Pool } from '../../db/pool.js';
import { type PostgresHandle, startRedis } from '../../lib/local-stack/index.js';
import { freePort } from '../../lib/local-stack/ports.js';
import { withCluster } from './cluster.js';
import { fmtRound, medianOf, type RoundResult } from './load.js';

// The HTTP side of the API benchmarks: the app in a child process (bench/lib/api-server.ts), so
// the load generator and the server don't share an event loop, and rounds of two sides taken
// alternately so a machine's drift weighs on both.

export const WARMUP_S = 2;
export const ROUNDS = 3;
export const ROUND_S = 3;

/** Starts the server half (bench/lib/api-server.ts) in a child process; resolves with its port. */
async function serve(
  kind: 'bare' | 'app',
  env: Record<string, string>,
): Promise<{ port: number; child: ChildProcess }> {
  // BENCH_PROFILE_DIR=dir writes each server's CPU profile there when it exits (bench/README.md).
  const profile = process.env.BENCH_PROFILE_DIR;
  const child = fork(join(import.meta.dirname, 'api-server.ts'), [kind], {
    execArgv: ['--import', 'tsx', ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [])],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
  return { port, child };
}

/** One autocannon round; every non-2xx response or error fails the benchmark. */
export async function cannon(opts: autocannon.Options, seconds: number): Promise<RoundResult> {
  const r = await autocannon({ ...opts, duration: seconds });
  if (r.non2xx || r.errors || r.timeouts) {
    throw new Error(`${opts.url}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  }
  return {
    ops: r.requests.total,
    seconds,
    tps: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
  };
}

/**
 * A round of ticket opens through `POST /v1/orgs/:orgId/tickets` on the server at `url`: each
 * connection speaks for one org (the next of `orgs` in turn), with its API token.
 */
export function ticketOpens(
  url: string,
  connections: number,
  orgs: readonly { orgId: string; token: string }[],
  body: string,
  /** More autocannon options: `overallRate` for a steady load instead of as fast as it goes. */
  more: Partial<autocannon.Options> = {},
): (seconds: number) => Promise<RoundResult> {
  let next = 0;
  return (seconds) =>
    cannon(
      {
        ...more,
        url,
        connections,
        setupClient: (client) => {
          const org = orgs[next++ % orgs.length] as (typeof orgs)[number];
          client.setRequests([
            {
              method: 'POST',
              path: `/v1/orgs/${org.orgId}/tickets`,
              headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/json' },
              body,
            },
          ]);
        },
      },
      seconds,
    );
}

export async function alternate(
  log: (msg: string) => void,
  sides: { name: string; round: (seconds: number) => Promise<RoundResult> }[],
  { roundS = ROUND_S }: { roundS?: number } = {},
) {
  for (const s of sides) await s.round(WARMUP_S);
  const results = sides.map(() => [] as RoundResult[]);
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? sides.map((_, k) => k) : sides.map((_, k) => k).reverse();
    for (const k of order) {
      const side = sides[k] as (typeof sides)[number];
      const r = await side.round(roundS);
      results[k]?.push(r);
      log(`  round ${i + 1} ${side.name}  ${fmtRound(r)}`);
    }
  }
  return results.map(medianOf);
}

export interface ApiStack {
  /** A pool for the benchmark's own `db/` calls (the baseline side). */
  pool: Pool;
  /** The private cluster, for a benchmark that needs another role's pool (the superuser's). */
  pg: PostgresHandle;
  /** The private Redis, for a benchmark that runs the API or the workers itself, in process. */
  redisUrl: string;
  /** Starts the server half with this stack's database and Redis; killed when the stack ends. */
  serveApp(): Promise<{ port: number; child: ChildProcess }>;
  serveBare(): Promise<{ port: number; child: ChildProcess }>;
}

export interface ApiStackOptions {
  /** Connections of the benchmark's own pool. */
  poolMax: number;
  /** Connections of the app server's pool (default: `poolMax`). */
  serverPoolMax?: number;
  /** The benchmark's own pool's application_name (default: gamemod-bench-db). */
  applicationName?: string;
}

/**
 * A private Postgres cluster and Redis, a pool on the cluster (`poolMax` connections, for the
 * benchmark and for the app server alike unless the options say otherwise), and the servers `fn`
 * starts, all stopped afterwards whether `fn` succeeds or throws.
 */
export async function withApiStack(
  log: (msg: string) => void,
  options: number | ApiStackOptions,
  fn: (stack: ApiStack) => Promise<void>,
): Promise<void> {
  const {
    poolMax,
    serverPoolMax = poolMax,
    applicationName = 'gamemod-bench-db',
  } = typeof options === 'number' ? { poolMax: options } : options;
  await withCluster(log, async (pgh) => {
    const redisDir = mkdtempSync(join(tmpdir(), 'gamemod-bench-redis-'));
    const redis = await startRedis({
      dir: redisDir,
      port: await freePort(),
      install: true,
      durable: false,
      log,
    });
    const pool = createPool({
      url: pgh.urlFor('app'),
      max: poolMax,
      statementTimeoutMs: 10_000,
      connectTimeoutMs: 5_000,
      applicationName,
    });
    const children: ChildProcess[] = [];
    const started = async (s: Promise<{ port: number; child: ChildProcess }>) => {
      const server = await s;
      children.push(server.child);
      return server;
    };
    try {
      await fn({
        pool,
        pg: pgh,
        redisUrl: redis.url,
        serveApp: () =>
          started(
            serve('app', {
              DB_URL: pgh.urlFor('app'),
              REDIS_URL: redis.url,
              POOL_MAX: String(serverPoolMax),
            }),
          ),
        serveBare: () => started(serve('bare', {})),
      });
    } finally {
      // A profiled server must exit on its own for its profile to be written.
      if (process.env.BENCH_PROFILE_DIR)
        await Promise.all(
          children.map((c) => {
            const exited = new Promise((r) => c.once('exit', r));
            c.send('exit');
            return Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
          }),
        );
      for (const c of children) c.kill('SIGKILL');
      await pool.end().catch(() => {});
      await redis.stop({ kill: true }).catch(() => {});
      rmSync(redisDir, { recursive: true, force: true });
    }
  });
}
