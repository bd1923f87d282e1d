import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
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
  /** The thread's line to the workers' main thread (its parent may be the spawner thread). */
  port: MessagePort;
}

export type FromRelayThread =
  | { type: 'ready'; nice: number }
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
  /** The first restart's delay (RESTART_MS when unset); a test shortens it to sit out no seconds. */
  restartMs?: number;
}

/** A relay thread that has started relaying. */
export interface RelayThreadHandle {
  /** Its scheduling priority (nice) when it started. */
  readonly nice: number;
  /** Ends it, as a crash would; resolves once it has exited. */
  terminate(): Promise<void>;
}

export interface RelayThread {
  /** The thread relaying now; undefined between an exit and its replacement's start. */
  current(): RelayThreadHandle | undefined;
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

/** What the relay threads are named (`Worker`'s `name`). */
const NAME = 'outbox-relay';

/**
 * The spawner: a thread that only starts threads. A thread's scheduling priority is inherited from
 * the thread that creates it, and the workers' main thread lowers its own once the first relay
 * thread runs (lib/priority.ts), which it could not raise back without a privilege a
 * container lacks: relay threads started again from there ran at the processors' priority. Made
 * before the main thread lowers its priority, the spawner keeps the relay's, and so does every
 * relay thread it starts. Each thread it starts talks to the main thread on its own port; the
 * spawner reports only how a thread ended.
 */
const SPAWNER = `
const { parentPort, Worker } = require('node:worker_threads');
const threads = new Map();
parentPort.on('message', (m) => {
  if (m.type === 'spawn') {
    const w = new Worker(m.code, { eval: true, name: m.name, workerData: m.workerData, transferList: [m.workerData.port] });
    threads.set(m.id, w);
    w.on('error', (err) => parentPort.postMessage({ type: 'error', id: m.id, message: String(err?.message ?? err), stack: err?.stack }));
    w.on('exit', (code) => {
      threads.delete(m.id);
      parentPort.postMessage({ type: 'exit', id: m.id, code });
    });
  } else if (m.type === 'terminate') {
    threads.get(m.id)?.terminate();
  }
});`;

type FromSpawner =
  | { type: 'error'; id: number; message: string; stack?: string }
  | { type: 'exit'; id: number; code: number };

interface Endings {
  error(err: Error): void;
  exit(code: number): void;
}

/**
 * Starts relay threads from the spawner, or, should the spawner be gone, from the calling thread
 * (at its priority: said once in the log). A started thread's handle ends it.
 */
function threadStarter(logger: Logger) {
  const spawner = new Worker(SPAWNER, { eval: true, name: 'outbox-relay-spawner' });
  let alive = true;
  let stopping = false;
  const endings = new Map<number, Endings>();
  let next = 0;
  spawner.on('message', (m: FromSpawner) => {
    const on = endings.get(m.id);
    if (!on) return;
    if (m.type === 'error') on.error(Object.assign(new Error(m.message), m.stack ? { stack: m.stack } : {}));
    else {
      endings.delete(m.id);
      on.exit(m.code);
    }
  });
  spawner.on('exit', (code) => {
    alive = false;
    if (!stopping)
      logger.error(
        { code },
        'the relay threads’ spawner exited; relay threads now start at the processors’ priority',
      );
    // Its threads ended with it.
    for (const [id, on] of endings) {
      endings.delete(id);
      on.exit(code);
    }
  });
  return {
    start(workerData: RelayThreadData, on: Endings): { terminate(): void } {
      if (!alive) {
        const w = new Worker(BOOT, { eval: true, name: NAME, workerData, transferList: [workerData.port] });
        w.on('error', on.error);
        w.on('exit', on.exit);
        return { terminate: () => void w.terminate() };
      }
      const id = next++;
      endings.set(id, on);
      spawner.postMessage({ type: 'spawn', id, code: BOOT, name: NAME, workerData }, [workerData.port]);
      return { terminate: () => spawner.postMessage({ type: 'terminate', id }) };
    },
    async stop() {
      stopping = true;
      await spawner.terminate();
    },
  };
}

/** The first restart's delay; a restart that fails (Redis or Postgres away) waits twice as long, up to the cap. */
const RESTART_MS = 1_000;
const RESTART_CAP_MS = 30_000;

/** Starts the relay thread; resolves once it relays, rejects if it cannot start. */
export async function startRelayThread(opts: RelayThreadOptions): Promise<RelayThread> {
  const here = import.meta.url;
  const entry = new URL(`./relay-thread-entry${here.endsWith('.ts') ? '.ts' : '.js'}`, here).href;
  const data: Omit<RelayThreadData, 'port'> = {
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
  let current: Running | undefined;
  let restart: NodeJS.Timeout | undefined;
  let restarts = 0;
  const restartMs = opts.restartMs ?? RESTART_MS;
  const threads = threadStarter(opts.logger);

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
          if (stopping) return;
          const again = Math.min(delay * 2, RESTART_CAP_MS);
          opts.logger.error({ err, retryInMs: again }, 'the outbox relay thread did not start again');
          restartAfter(again);
        },
      );
    }, delay);
  };

  /** Starts a relay thread; resolves once it relays. */
  const spawn = () =>
    new Promise<Running>((resolve, reject) => {
      const { port1: port, port2 } = new MessageChannel();
      let started = false;
      let markExited = () => {};
      const exited = new Promise<void>((resolve) => {
        markExited = resolve;
      });
      const thread = threads.start(
        { ...data, port: port2 },
        {
          error: (err) => {
            opts.logger.error({ err }, 'the outbox relay thread failed');
            if (!started) reject(err);
          },
          exit: (code) => {
            markExited();
            port.close();
            if (current === running) current = undefined;
            if (!started)
              return reject(new Error(`the outbox relay thread exited with code ${code} before it relayed`));
            if (stopping) return;
            opts.logger.error({ code }, 'the outbox relay thread exited; starting it again');
            restartAfter(restartMs);
          },
        },
      );
      const running: Running = {
        nice: 0,
        port,
        exited: () => exited,
        terminate() {
          thread.terminate();
          return exited;
        },
      };
      port.on('message', (m: FromRelayThread) => {
        if (m.type === 'ready') {
          started = true;
          running.nice = m.nice;
          resolve(running);
        } else if (m.type === 'failed' && !started) {
          reject(new Error(m.message));
          thread.terminate();
        } else if (m.type === 'meter') {
          if (m.lags.length) processMeter.relayed(m.lags);
          for (let i = 0; i < m.failed; i++) processMeter.failed();
          if (m.unrelayed !== null) processMeter.unrelayed(m.unrelayed);
        }
      });
    });

  try {
    current = await spawn();
  } catch (err) {
    await threads.stop();
    throw err;
  }
  return {
    current: () => current,
    get restarts() {
      return restarts;
    },
    async stop() {
      stopping = true;
      clearTimeout(restart);
      const last = current;
      if (last) {
        const stopped = new Promise<void>((resolve) => {
          last.port.on('message', (m: FromRelayThread) => m.type === 'stopped' && resolve());
          void last.exited().then(resolve);
        });
        last.port.postMessage({ type: 'stop' } satisfies ToRelayThread);
        await stopped;
        await last.terminate();
      }
      await threads.stop();
    },
  };
}

/** A started relay thread, as its starter holds it. */
interface Running extends RelayThreadHandle {
  nice: number;
  readonly port: MessagePort;
  exited(): Promise<void>;
}
