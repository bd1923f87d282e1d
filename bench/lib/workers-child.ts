import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createPool } from '../../db/pool.js';
import { configDefaults } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import { lowerMainThreadPriority } from '../../lib/priority.js';
import { createSecretBox } from '../../lib/secret-box.js';
import { startWorkerRuntime } from '../../workers/runtime.js';

/**
 * The workers (relay and processors) in a process of their own, as the workers role runs them,
 * for a benchmark whose load and probes would otherwise share their event loop: the writers,
 * the live subscriber and the webhook receiver stand for the API and the endpoints, which run
 * elsewhere. `secretKey` is the key the benchmark sealed its subscriptions' secrets with.
 */
export interface WorkersChildOptions {
  dbUrl: string;
  redisUrl: string;
  secretKey: string;
  poolMax: number;
  concurrency: number;
  pollMs: number;
  /** The queues' Redis key prefix (the runtime's default when absent). */
  prefix?: string;
  /** Whether webhook deliveries may go to loopback (a receiver in the benchmark). */
  webhooksToLoopback: boolean;
}

export interface WorkersChild {
  stop(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);

export async function startWorkersChild(opts: WorkersChildOptions): Promise<WorkersChild> {
  const child: ChildProcess = fork(SELF, ['--workers-child'], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_WORKERS: JSON.stringify(opts) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`the workers process exited with ${code}`)));
  });
  return {
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.send('stop');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      child.kill('SIGKILL');
    },
  };
}

if (process.argv.includes('--workers-child')) {
  const opts = JSON.parse(process.env.BENCH_WORKERS as string) as WorkersChildOptions;
  const pool = createPool({
    url: opts.dbUrl,
    max: opts.poolMax,
    statementTimeoutMs: 10_000,
    connectTimeoutMs: 5_000,
    applicationName: 'gamemod-bench-workers',
  });
  const logger = createLogger('silent');
  const runtime = await startWorkerRuntime({
    pool,
    redisUrl: opts.redisUrl,
    logger,
    box: createSecretBox(opts.secretKey),
    webhookTargets: { allowLoopback: opts.webhooksToLoopback, allowPrivate: false },
    schedulers: false,
    // In its own thread, as the workers role runs it (workers/relay-thread.ts).
    relay: { pollMs: opts.pollMs, thread: true },
    concurrency: opts.concurrency,
    ...(opts.prefix ? { prefix: opts.prefix } : {}),
  });
  // As the workers role does when it runs alone (lib/priority.ts); BENCH_WORKERS_NICE=0 to compare.
  lowerMainThreadPriority(
    Number(process.env.BENCH_WORKERS_NICE ?? configDefaults().workers.processorsNice),
    logger,
    'job processors run below the outbox relay (nice)',
  );
  process.on('message', (m) => {
    if (m !== 'stop') return;
    void runtime
      .stop()
      .then(() => pool.end())
      .finally(() => process.exit(0));
  });
  process.send?.('ready');
}
