import { setPriority } from 'node:os';
import type { Logger } from './logger.js';

/**
 * Lowers the calling thread's scheduling priority to `nice`. On Linux a nice value belongs to a
 * thread, not the process, so a role's main thread can give way to a thread of its own whose
 * delay users feel first:
 *
 * - the workers' job processors, below the outbox relay's thread: a commit's publish does not
 *   wait behind webhook deliveries for a core (`bench/outbox.ts`: the relay's p99 fell by a third
 *   to a half);
 * - the bot's handlers, below the gateway thread: an interaction's acknowledgement (Discord's
 *   3 s) does not wait behind database results and answers (`bench/bot-ack.ts`).
 *
 * A thread started from the lowered thread later inherits the lower priority (raising it back
 * takes a privilege a container does not have): call it once the threads that keep 0 run. Only
 * for a process that runs that role alone: with the API in the process, the main thread also
 * answers requests, which must wait behind nothing.
 */
export function lowerMainThreadPriority(nice: number, logger: Logger, what: string): void {
  if (nice <= 0) return;
  try {
    setPriority(0, nice);
    logger.info({ nice }, what);
  } catch (err) {
    logger.warn({ err: (err as Error).message }, `could not lower the main thread’s priority (${what})`);
  }
}
