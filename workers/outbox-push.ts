import type { Redis } from 'ioredis';
import type { OrgFeatures, OutboxRow } from '../db/outbox.js';
import { type LiveEvent, publishLiveMany } from '../lib/live.js';
import { failSpan, SpanKind, startLinkedSpan } from '../lib/trace-context.js';
import { ALL_FEATURES, impliedJobs } from './event-jobs.js';
import { JOBS } from './jobs.js';
import type { PlannedJob, Queues } from './queues.js';

/**
 * What the outbox relay (outbox-relay.ts) sends to Redis for a batch of rows: their live events
 * and the jobs they imply, on one connection, within a time bound.
 */

/** Where a batch goes: the relay's producer connection and its queues. */
export interface RelayTarget {
  redis: Redis;
  queues: Queues;
}

/** How long one batch may take to publish and enqueue before it is rolled back and retried. */
const PUSH_TIMEOUT_MS = 5_000;

function toLiveEvent(row: OutboxRow): LiveEvent {
  return {
    id: row.id,
    orgId: row.orgId,
    type: row.eventType,
    aggregateType: row.aggregateType,
    aggregateId: row.aggregateId,
    payload: row.payload,
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

/**
 * Publishes and enqueues, each as one pipeline on the one connection, so a batch is one round
 * trip to Redis; commands on one connection run in order, so topics stay in id order.
 * Bounded in time: a client library waiting for a connection that died mid-batch must not keep
 * the transaction (and its row locks) open. What it sends late is deduped like any retry.
 */
export async function pushRows(
  to: RelayTarget,
  rows: readonly OutboxRow[],
  features: Map<string, OrgFeatures>,
  publish: readonly OutboxRow[] = rows,
  /** The look-back: enqueue only jobs Redis no longer has (what an add would do, checked cheaply). */
  onlyMissing = false,
): Promise<void> {
  const { redis, queues } = to;
  // A span per traced event, in the trace of the request that wrote it; its jobs carry the
  // span on (workers/queues.ts), so the request, the relay and the jobs are one trace.
  const traced = rows.map((r) =>
    startLinkedSpan(`outbox.relay ${r.eventType}`, r.traceparent, {
      kind: SpanKind.PRODUCER,
      attributes: { 'outbox.id': r.id, 'outbox.event_type': r.eventType },
    }),
  );
  const work = (async () => {
    const planned = rows.flatMap((r, i) =>
      impliedJobs(r, features.get(r.orgId) ?? ALL_FEATURES).map((j) => ({
        ...j,
        traceparent: traced[i]?.traceparent ?? null,
      })),
    );
    const jobs = onlyMissing ? await missingJobs(to, planned) : planned;
    await Promise.all([
      publishLiveMany(redis, publish.map(toLiveEvent)),
      jobs.length ? queues.enqueueMany(jobs) : undefined,
    ]);
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Redis did not take the batch within ${PUSH_TIMEOUT_MS} ms`)),
      PUSH_TIMEOUT_MS,
    );
  });
  work.catch(() => {});
  try {
    await Promise.race([work, timeout]);
  } catch (err) {
    for (const t of traced) if (t) failSpan(t.span, err);
    throw err;
  } finally {
    clearTimeout(timer);
    for (const t of traced) t?.span.end();
  }
}

/**
 * The jobs whose key Redis does not hold (one pipelined EXISTS each): adding a job whose id
 * exists is a no-op, and BullMQ's add checks for the same key, but builds and sends the whole
 * job first. The look-back after an outage re-adds thousands of jobs that nearly all exist.
 */
async function missingJobs(to: RelayTarget, jobs: PlannedJob[]): Promise<PlannedJob[]> {
  if (!jobs.length) return jobs;
  const pipeline = to.redis.pipeline();
  for (const j of jobs) pipeline.exists(to.queues.get(JOBS[j.name].queue).toKey(j.opts.jobId));
  const replies = (await pipeline.exec()) ?? [];
  return jobs.filter((_, i) => {
    const [err, n] = replies[i] ?? [new Error('no reply')];
    if (err) throw err;
    return n === 0;
  });
}
