import { DelayedError, type Job, type JobsOptions, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../lib/logger.js';
import { gauge, histogram } from '../lib/metrics.js';
import { contextFromTraceparent, currentTraceparent, inSpan, SpanKind } from '../lib/trace-context.js';
import { JOBS, type JobData, type JobName, type JobPayload, QUEUE_NAMES, type QueueName } from './jobs.js';

/**
 * Queues and workers, one BullMQ queue per kind of work so a slow webhook target never delays an
 * SLA timer. Finished jobs are kept bounded: enough to dedupe a re-enqueue by job id for a day,
 * not so many that Redis grows forever.
 *
 * Every job retries: nearly all of them read or write Postgres, and a failover, a network cut or
 * a statement timeout must delay the work, not lose it. Capped exponential backoff (1 s doubling
 * up to 5 min, 30 attempts) rides out about two hours; a job that still fails is retried by the
 * `jobs.retry_failed` sweep. Only a `permanentError` (retrying cannot help) fails at once.
 */
export const JOB_ATTEMPTS = 30;
export const BACKOFF = { baseMs: 1_000, capMs: 5 * 60_000 };
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: JOB_ATTEMPTS,
  backoff: { type: 'capped', delay: BACKOFF.baseMs },
  removeOnComplete: { count: 10_000, age: 24 * 3600 },
  removeOnFail: { count: 10_000, age: 7 * 24 * 3600 },
};

/** Marks a failure retrying cannot fix, so neither BullMQ nor the failed-job sweep retries it. */
export const PERMANENT_PREFIX = 'permanent: ';
export const permanentError = (message: string) => new UnrecoverableError(`${PERMANENT_PREFIX}${message}`);

/** `base * 2^(n-1)` capped, ±20 % so jobs that failed together do not retry together. */
export function cappedBackoff(baseMs: number, capMs: number, random: () => number = Math.random) {
  return (attemptsMade: number) =>
    Math.round(Math.min(baseMs * 2 ** Math.max(0, attemptsMade - 1), capMs) * (0.8 + 0.4 * random()));
}

export const queueName = (q: QueueName) => `gm-${q}`;

export interface Queues {
  readonly prefix: string;
  get(name: QueueName): Queue;
  enqueue<N extends JobName>(
    name: N,
    payload: JobPayload<N>,
    opts: JobsOptions & { jobId: string },
  ): Promise<void>;
  enqueueMany(jobs: ReadonlyArray<PlannedJob>): Promise<void>;
  /**
   * For sweeps that found work still undone: adds each job, and where a job with that id is
   * still kept (failed, or completed without doing the work) retries it instead, since adding
   * under an existing id is a no-op. Returns how many were added or retried.
   */
  ensureMany(jobs: ReadonlyArray<PlannedJob>): Promise<number>;
  close(): Promise<void>;
}

export interface PlannedJob {
  name: JobName;
  payload: unknown;
  opts: JobsOptions & { jobId: string };
  /** The trace the job continues (the relay passes its event's); default: the active span's. */
  traceparent?: string | null;
}

/**
 * The job's data as stored: the parsed payload plus the trace context, outside the payload's
 * schema (parsing strips it again before a handler sees the payload).
 */
function jobData(payload: unknown, traceparent: string | null): unknown {
  return traceparent ? { ...(payload as object), traceparent } : payload;
}

const jobDuration = histogram(
  'gamemod_job_duration_seconds',
  'Job processing time',
  ['queue', 'name', 'outcome'],
  [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 30],
);
const jobWait = histogram(
  'gamemod_job_wait_seconds',
  'Time from a job becoming due to a worker starting it',
  ['queue', 'name'],
  [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
);

// Queues whose depth the gauge reports at scrape time; registered by whoever creates them.
const observed = new Set<Queue>();
gauge('gamemod_queue_jobs', 'Jobs per queue and state', ['queue', 'state'], async function collect() {
  for (const q of observed) {
    try {
      const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
      for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
    } catch {
      // Redis away: keep the last figures rather than failing the whole scrape.
    }
  }
});

export function createQueues(connection: Redis, prefix: string): Queues {
  const queues = new Map<QueueName, Queue>();
  const failedToStart = new Set<QueueName>();
  const open = (q: QueueName) => {
    const queue = new Queue(queueName(q), { connection, prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS });
    // A Queue re-emits its connection's errors; the connection owner logs them.
    queue.on('error', () => {});
    // A queue starts by asking Redis for its version; if the connection drops before the answer,
    // BullMQ fails every later command of that queue with the same error, although the connection
    // itself comes back. Such a queue is replaced on its next use.
    queue.waitUntilReady().catch(() => {
      if (queues.get(q) === queue) failedToStart.add(q);
    });
    queues.set(q, queue);
    observed.add(queue);
  };
  for (const q of QUEUE_NAMES) open(q);
  const get = (q: QueueName) => {
    if (failedToStart.delete(q)) {
      const old = queues.get(q) as Queue;
      observed.delete(old);
      void old.close().catch(() => {});
      open(q);
    }
    return queues.get(q) as Queue;
  };
  const plan = (name: JobName, payload: unknown) => JOBS[name].schema.parse(payload);
  return {
    prefix,
    get,
    async enqueue(name, payload, opts) {
      await get(JOBS[name].queue).add(name, jobData(plan(name, payload), currentTraceparent()), opts);
    },
    async enqueueMany(jobs) {
      const byQueue = new Map<QueueName, Array<{ name: string; data: unknown; opts: JobsOptions }>>();
      for (const j of jobs) {
        const q = JOBS[j.name].queue;
        const list = byQueue.get(q) ?? [];
        const data = jobData(plan(j.name, j.payload), j.traceparent ?? currentTraceparent());
        list.push({ name: j.name, data, opts: j.opts });
        byQueue.set(q, list);
      }
      await Promise.all([...byQueue].map(([q, list]) => get(q).addBulk(list)));
    },
    async ensureMany(jobs) {
      let n = 0;
      for (const j of jobs) {
        const queue = get(JOBS[j.name].queue);
        const data = jobData(plan(j.name, j.payload), j.traceparent ?? currentTraceparent());
        const existing = await queue.getJob(j.opts.jobId);
        const state = existing ? await existing.getState() : 'unknown';
        if (existing && (state === 'failed' || state === 'completed')) {
          // A finished job under this id blocks a new one: run it again with fresh attempts.
          await existing.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
          n++;
        } else if (state === 'unknown') {
          await queue.add(j.name, data, j.opts);
          n++;
        }
      }
      return n;
    },
    async close() {
      for (const q of queues.values()) {
        observed.delete(q);
        await q.close().catch(() => {});
      }
    },
  };
}

/** `token` is the job's lock, for a handler that moves its own job (`job.moveToDelayed`). */
export type Handlers = {
  [N in JobName]?: (data: JobData<N>, job: Job, token: string | undefined) => Promise<void>;
};

/**
 * One BullMQ worker per queue that has handlers. The payload is parsed with the job's schema
 * before the handler sees it; a payload that does not parse fails for good (retrying cannot fix
 * it). `close()` lets in-flight jobs finish (BullMQ's graceful close); jobs it cannot finish are
 * left to be picked up again when their lock expires.
 */
export function startProcessors(opts: {
  connection: Redis;
  prefix: string;
  handlers: Handlers;
  concurrency: Partial<Record<QueueName, number>>;
  logger: Logger;
  /** Retry delays of the `capped` backoff (tests shorten them). */
  backoff?: { baseMs: number; capMs: number };
  /**
   * How long a job's lock lasts and how often stalled jobs (their worker died) are looked for:
   * BullMQ's defaults (30 s each) unless a test shortens them.
   */
  stalled?: { lockDurationMs: number; checkEveryMs: number };
}): { workers: Worker[]; close(): Promise<void> } {
  const backoff = opts.backoff ?? BACKOFF;
  const capped = cappedBackoff(backoff.baseMs, backoff.capMs);
  const workers: Worker[] = [];
  for (const q of QUEUE_NAMES) {
    const names = (Object.keys(opts.handlers) as JobName[]).filter((n) => JOBS[n].queue === q);
    if (!names.length) continue;
    const worker = new Worker(
      queueName(q),
      async (job: Job, token?: string) => {
        const name = job.name as JobName;
        const handler = opts.handlers[name] as
          | ((d: unknown, j: Job, t: string | undefined) => Promise<void>)
          | undefined;
        if (!handler || !(name in JOBS)) throw new Error(`no handler for job ${job.name} on ${q}`);
        const started = Date.now();
        const due = job.timestamp + (job.opts.delay ?? 0);
        jobWait.observe({ queue: q, name }, Math.max(0, started - due) / 1000);
        let outcome = 'ok';
        // A span per run, a child of the trace that enqueued the job (carried in its data).
        const parent = contextFromTraceparent(
          (job.data as { traceparent?: unknown } | undefined)?.traceparent,
        );
        const attributes = {
          'messaging.system': 'bullmq',
          'messaging.destination.name': q,
          'bullmq.job.name': name,
        };
        await inSpan(`job ${name}`, { parent, kind: SpanKind.CONSUMER, attributes }, async (span) => {
          span.setAttribute('bullmq.job.attempt', job.attemptsMade + 1);
          try {
            const parsed = JOBS[name].schema.safeParse(job.data);
            if (!parsed.success) {
              outcome = 'invalid';
              throw permanentError(`invalid ${name} payload: ${parsed.error.message}`);
            }
            await handler(parsed.data, job, token);
          } catch (err) {
            // Put off by the handler itself (moved back to delayed): neither done nor failed.
            if (outcome === 'ok') outcome = err instanceof DelayedError ? 'deferred' : 'error';
            throw err;
          } finally {
            jobDuration.observe({ queue: q, name, outcome }, (Date.now() - started) / 1000);
          }
        });
      },
      {
        connection: opts.connection,
        prefix: opts.prefix,
        concurrency: opts.concurrency[q] ?? 10,
        autorun: true,
        settings: { backoffStrategy: (attemptsMade: number) => capped(attemptsMade) },
        ...(opts.stalled
          ? { lockDuration: opts.stalled.lockDurationMs, stalledInterval: opts.stalled.checkEveryMs }
          : {}),
      },
    );
    worker.on('failed', (job, err) => {
      opts.logger.warn({ queue: q, job: job?.name, jobId: job?.id, err: err.message }, 'job failed');
    });
    worker.on('error', (err) => opts.logger.debug({ queue: q, err: err.message }, 'worker connection error'));
    workers.push(worker);
  }
  return {
    workers,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
