import { setPriority } from 'node:os';
import type { Logger } from '../lib/logger.js';

/**
 * Lowers the calling thread's scheduling priority to `nice`. On Linux a nice value belongs to a
 * thread, not the process: called on the workers' main thread once the relay thread runs, it
 * puts the job processors below the relay (and the database and Redis when they share the
 * machine), so a commit's publish does not wait behind webhook deliveries for a core: in
 * `bench/outbox.ts` the relay's p99 fell by a third to a half (bench/README.md). A thread started from
 * here later would inherit the lower priority (raising a priority back takes a privilege a
 * container does not have), so relay threads are started by a spawner thread made before this
 * call (workers/relay-thread.ts).
 *
 * Only for a process that runs the workers role alone: with the API or the bot in the process,
 * the main thread also answers requests and interactions, which must wait behind nothing.
 */
export function lowerProcessorsPriority(nice: number, logger: Logger): void {
  if (nice <= 0) return;
  try {
    setPriority(0, nice);
    logger.info({ nice }, 'job processors run below the outbox relay (nice)');
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'could not lower the job processors’ priority');
  }
}
