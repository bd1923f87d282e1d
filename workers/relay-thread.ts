import { Worker } from 'node:worker_threads';
import type { Pool } from '../db/pool.js';
import { type PoolSettings, poolSettings } from '../db/pool.js';
import type { Logger } from '../lib/logger.js';
import { tracedServiceName } from '../lib/telemetry.js';
import { processMeter } from './outbox-relay.js';

/**
 * The outbox relay in a thread of its own. On one event loop with the job processors it waited
 * behind them: at 500 events/s with webhook deliveries the loop was 94–98 % busy, and a commit
 * reached Redis in 48 ms at p99 instead of the 14 ms it took with the processors off. The thread
 * makes its own pool (2 connections, as the in-loop relay had), its own producer connection to
 * Redis and its own queues; its metrics come back here, where /metrics is scraped.
 *
 * Everything the relay guarantees (order per org, nothing lost, no duplicate beyond the dedupe
 * window) lives in OutboxRelay and the database, so it holds the same in either place: a thread
 * that dies is started again, and the rows it had claimed roll back and wait.
 */

export interface RelayThreadData {
  /** The module the thread runs, and tsx's loader to register first when it is TypeScript. */
  entry: string;
  tsx: string | null;
  pool: PoolSettings;
  redisUrl: string;
  prefix: string;
  logLevel: string;
  serviceName: string;
  pollMs?: number;
  batchSize?: number;
  lookbackMs?: number;
}

export type FromRelayThread =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'meter'; lags: number[]; failed: number; unrelayed: number | null }
  | { type: 'stopped' };

export type ToRelayThread = { type: 'stop' };

export interface RelayThreadOptions {
  /** The pool whose connection settings the thread's own pool copies. */
  pool: Pool;
  redisUrl: string;
  prefix: string;
  logger: Logger;
  pollMs?: number;
  batchSize?: number;
  lookbackMs?: number;
}

export interface RelayThread {
  /** The thread relaying now; undefined between an exit and its replacement's start. */
  current(): Worker | undefined;
  /** Threads started after the first one exited. */
  readonly restarts: number;
  stop(): Promise<void>;
}

// An inline CommonJS bootstrap: a thread does not inherit the loader that lets the main thread
// import TypeScript (`tsx main.ts`, the tests), so it registers tsx itself before the entry.
// Compiled (dist/), the entry is JavaScript and nothing is registered.
const BOOT = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.entry);
})().catch((err) => { process.nextTick(() => { throw err; }); });`;

/** The first restart's delay; a restart that fails (Redis or Postgres away) waits twice as long, up to the cap. */
const RESTART_MS = 1_000;
const RESTART_CAP_MS = 30_000;

/** Starts the relay thread; resolves once it relays, rejects if it cannot start. */
export async function startRelayThread(opts: RelayThreadOptions): Promise<RelayThread> {
  const here = import.meta.url;
  const entry = new URL(`./relay-thread-entry${here.endsWith('.ts') ? '.ts' : '.js'}`, here).href;
  const data: RelayThreadData = {
    entry,
    tsx: entry.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : null,
    pool: poolSettings(opts.pool),
    redisUrl: opts.redisUrl,
    prefix: opts.prefix,
    logLevel: opts.logger.level,
    serviceName: tracedServiceName() ?? 'gamemod-workers',
    ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
    ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
    ...(opts.lookbackMs !== undefined ? { lookbackMs: opts.lookbackMs } : {}),
  };
  let stopping = false;
  let current: Worker | undefined;
  let restart: NodeJS.Timeout | undefined;
  let restarts = 0;

  // Whatever the dead thread had claimed rolled back with its connections; a new thread takes it.
  // Until one starts, nothing is relayed, so a failed start is tried again, never given up.
  const restartAfter = (delay: number) => {
    restart = setTimeout(() => {
      if (stopping) return;
      spawn().then(
        (next) => {
          if (stopping) return void next.terminate();
          restarts++;
          current = next;
        },
        (err: Error) => {
          const again = Math.min(delay * 2, RESTART_CAP_MS);
          opts.logger.error({ err, retryInMs: again }, 'the outbox relay thread did not start again');
          restartAfter(again);
        },
      );
    }, delay);
  };

  const spawn = () =>
    new Promise<Worker>((resolve, reject) => {
      const w = new Worker(BOOT, { eval: true, workerData: data, name: 'outbox-relay' });
      let started = false;
      w.on('message', (m: FromRelayThread) => {
        if (m.type === 'ready') {
          started = true;
          resolve(w);
        } else if (m.type === 'failed' && !started) {
          reject(new Error(m.message));
          void w.terminate();
        } else if (m.type === 'meter') {
          if (m.lags.length) processMeter.relayed(m.lags);
          for (let i = 0; i < m.failed; i++) processMeter.failed();
          if (m.unrelayed !== null) processMeter.unrelayed(m.unrelayed);
        }
      });
      w.on('error', (err) => {
        opts.logger.error({ err }, 'the outbox relay thread failed');
        if (!started) reject(err);
      });
      w.on('exit', (code) => {
        if (current === w) current = undefined;
        if (!started)
          return reject(new Error(`the outbox relay thread exited with code ${code} before it relayed`));
        if (stopping) return;
        // Started from this thread, the new one has this thread's priority, below the first
        // one's where the processors' priority was lowered (workers/priority.ts).
        opts.logger.error({ code }, 'the outbox relay thread exited; starting it again');
        restartAfter(RESTART_MS);
      });
    });

  current = await spawn();
  return {
    current: () => current,
    get restarts() {
      return restarts;
    },
    async stop() {
      stopping = true;
      clearTimeout(restart);
      const w = current;
      if (!w) return;
      const stopped = new Promise<void>((resolve) => {
        w.on('message', (m: FromRelayThread) => m.type === 'stopped' && resolve());
        w.once('exit', () => resolve());
      });
      w.postMessage({ type: 'stop' } satisfies ToRelayThread);
      await stopped;
      await w.terminate();
    },
  };
}
