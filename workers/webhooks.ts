import { withTenant } from '../db/tenant.js';
import {
  type AttemptRecord,
  type DeliveryContext,
  deliveryContexts,
  fanoutContexts,
  recordAttempts,
} from '../db/webhook-attempts.js';
import { messageIdFor, WEBHOOK_EVENT_TYPES, WEBHOOK_TEST_EVENT } from '../db/webhooks.js';
import { counter, histogram } from '../lib/metrics.js';
import { batcher, perGroup } from './batcher.js';
import type { WorkerDeps } from './deps.js';
import { type JobData, jobIds } from './jobs.js';
import { sendWebhook } from './webhook-send.js';
import { webhookHeaders } from './webhook-signature.js';

/**
 * Standard Webhooks v1 delivery. Every attempt is its own row in the delivery log (keyed by
 * subscription, outbox id, attempt number), read before anything is sent, so an attempt already
 * logged is never sent again. The first attempt of every subscription is made by the event's
 * fan-out job itself, so a delivery that succeeds at once costs no job of its own; each retry is
 * its own delayed job (id: outbox id + subscription + attempt number).
 */
/** Delays before attempts 2..8, after the immediate first one (Svix's schedule). */
export const RETRY_SCHEDULE_MS = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3600_000,
  5 * 3600_000,
  10 * 3600_000,
  10 * 3600_000,
] as const;
export const MAX_ATTEMPTS = RETRY_SCHEDULE_MS.length + 1;
/** ± this fraction of the delay, so endpoints that failed together are not retried together. */
export const JITTER = 0.1;
const MAX_RETRY_AFTER_MS = 24 * 3600_000;

const deliveries = counter('gamemod_webhook_deliveries_total', 'Webhook delivery attempts', ['outcome']);
const latency = histogram(
  'gamemod_webhook_latency_seconds',
  'Webhook receiver response time',
  [],
  [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
);

/** The delay before attempt `next` (2..8), with jitter, or the receiver's Retry-After. */
export function retryDelay(
  next: number,
  random: () => number,
  retryAfterMs: number | null,
  schedule: readonly number[] = RETRY_SCHEDULE_MS,
): number {
  if (retryAfterMs !== null) return Math.min(Math.max(retryAfterMs, 1_000), MAX_RETRY_AFTER_MS);
  const base = schedule[next - 2] ?? (schedule.at(-1) as number);
  return Math.round(base * (1 - JITTER + 2 * JITTER * random()));
}

/**
 * Makes attempt 1 for every enabled subscription of the org that wants this event, in parallel,
 * inside this job: a success (the common case) then costs no job of its own, only a failed
 * attempt enqueues its retry (`webhook.deliver`, attempt 2, delayed). Each subscription's log is
 * read before anything is sent, so a fan-out that runs again (a retry after one subscription's
 * write failed, a shutdown, a stalled job) skips every attempt already logged. An attempt that
 * throws fails the job once the others have finished, and BullMQ retries it.
 */
export async function fanout(deps: WorkerDeps, data: JobData<'webhook.fanout'>): Promise<number> {
  const now = deps.clock.now();
  const contexts = await withTenant(deps.pool, data.orgId, (tx) =>
    fanoutContexts(tx, data.outboxId, WEBHOOK_EVENT_TYPES, deps.box, now),
  );
  // Every subscription gets the same bytes: serialized once for the event, not once per attempt.
  let body: string | undefined;
  const bodyOnce = (ev: AttemptEvent) => {
    body ??= eventBody(ev);
    return body;
  };
  const results = await Promise.allSettled(
    contexts.map((ctx) =>
      makeAttempt(
        deps,
        {
          orgId: data.orgId,
          outboxId: data.outboxId,
          subscriptionId: ctx.subscription.id,
          attempt: 1,
          replay: false,
        },
        ctx,
        now,
        bodyOnce,
      ),
    ),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return contexts.length;
}

interface ContextKey {
  orgId: string;
  subscriptionId: string;
  outboxId: number;
  now: Date;
}

// Concurrent attempts share their reads and their log writes: one transaction per org per
// batch. Built once per set of dependencies (a process has one; tests build their own).
const batchers = new WeakMap<
  WorkerDeps,
  {
    read: (k: ContextKey) => Promise<DeliveryContext | undefined>;
    write: (a: AttemptRecord & { orgId: string }) => Promise<{ logged: boolean; disabled: boolean }>;
  }
>();
function batchersFor(deps: WorkerDeps) {
  let b = batchers.get(deps);
  if (!b) {
    b = {
      read: batcher((keys: ContextKey[]) =>
        perGroup(
          keys,
          (k) => k.orgId,
          (orgId, ks) =>
            withTenant(deps.pool, orgId, (tx) =>
              deliveryContexts(tx, ks, deps.box, ks[0]?.now ?? new Date()),
            ),
        ),
      ),
      write: batcher((attempts: Array<AttemptRecord & { orgId: string }>) =>
        perGroup(
          attempts,
          (a) => a.orgId,
          (orgId, as) => withTenant(deps.pool, orgId, (tx) => recordAttempts(tx, as)),
        ),
      ),
    };
    batchers.set(deps, b);
  }
  return b;
}

export type DeliveryOutcome =
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'succeeded' | 'failed' | 'dead' | 'disabled'; attempt: number; nextAttemptAt: Date | null };

/**
 * One attempt. Idempotent: an attempt already logged, an event already delivered (unless this is
 * a replay), a disabled or deleted subscription, an event type it no longer subscribes to, or a
 * pruned event all do nothing.
 */
export async function deliver(deps: WorkerDeps, data: JobData<'webhook.deliver'>): Promise<DeliveryOutcome> {
  const now = deps.clock.now();
  const ctx = await batchersFor(deps).read({
    orgId: data.orgId,
    subscriptionId: data.subscriptionId,
    outboxId: data.outboxId,
    now,
  });
  return makeAttempt(deps, data, ctx, now);
}

type AttemptEvent = NonNullable<DeliveryContext['event']>;

/** The request body of an event: the same for every subscription and every attempt. */
const eventBody = (ev: AttemptEvent) =>
  JSON.stringify({
    type: ev.eventType,
    timestamp: new Date(ev.createdAt).toISOString(),
    data: ev.payload,
  });

/**
 * One attempt given its context, read from the log before anything is sent (by `deliver`, or by
 * `fanout` for the first attempts).
 */
async function makeAttempt(
  deps: WorkerDeps,
  data: JobData<'webhook.deliver'>,
  context: DeliveryContext | undefined,
  now: Date,
  bodyOf: (ev: AttemptEvent) => string = eventBody,
): Promise<DeliveryOutcome> {
  const { write } = batchersFor(deps);
  const prepared = (() => {
    const ctx = context;
    if (!ctx) return { skip: 'subscription deleted' } as const;
    const ev = ctx.event ? { ...ctx.event, id: data.outboxId } : undefined;
    if (!ev) return { skip: 'event no longer exists' } as const;
    if (!ctx.subscription.enabled) return { skip: 'subscription disabled' } as const;
    // Unsubscribing from a type stops its pending retries and queued replays too, not only new
    // events. A test ping goes to its one subscription whatever it subscribes to.
    if (
      ev.eventType !== WEBHOOK_TEST_EVENT &&
      !(ctx.subscription.eventTypes as string[]).includes(ev.eventType)
    ) {
      return { skip: 'event type no longer subscribed' } as const;
    }
    if (!data.replay && (ctx.succeeded || ctx.lastAttempt >= data.attempt)) {
      return { skip: 'already delivered or attempted' } as const;
    }
    // Given up (re-enabled since: see db/webhooks.ts): a retry job still delayed sends nothing.
    if (!data.replay && ctx.retriesOver) return { skip: 'retries given up' } as const;
    // Replays are numbered apart, so they never take an automatic retry's place.
    return { ev, ctx, attempt: data.replay ? ctx.lastReplay + 1 : data.attempt };
  })();
  if ('skip' in prepared) return { outcome: 'skipped', reason: prepared.skip as string };
  const { ev, ctx, attempt } = prepared;

  const messageId = messageIdFor(ev.id);
  const body = bodyOf(ev);
  const timestamp = Math.floor(now.getTime() / 1000);
  const res = await sendWebhook(
    ctx.subscription.url,
    body,
    webhookHeaders(ctx.secrets, messageId, timestamp, body),
    {
      timeoutMs: deps.webhookTimeoutMs,
      targets: deps.webhookTargets,
      now: now.getTime(),
      ...(deps.shutdown ? { signal: deps.shutdown } : {}),
    },
  );
  // Interrupted by a shutdown: log nothing, and fail the job so BullMQ puts it back for a retry.
  if (res.aborted) throw new Error('webhook delivery interrupted: the worker is shutting down');
  latency.observe(res.latencyMs / 1000);

  const ok = res.status !== null && res.status >= 200 && res.status < 300 && !res.error;
  const gone = res.status === 410;
  const retryable = !ok && !gone && !data.replay && attempt < MAX_ATTEMPTS;
  const honourRetryAfter = res.status === 429 || res.status === 502 || res.status === 503;
  const delay = retryable
    ? retryDelay(attempt + 1, deps.random, honourRetryAfter ? res.retryAfterMs : null, deps.retryScheduleMs)
    : 0;
  const nextAttemptAt = retryable ? new Date(now.getTime() + delay) : null;
  const status = ok ? 'succeeded' : retryable || data.replay ? 'failed' : 'dead';

  const recorded = await write({
    orgId: data.orgId,
    subscriptionId: data.subscriptionId,
    outboxId: ev.id,
    eventType: ev.eventType,
    messageId,
    attempt,
    replay: data.replay,
    status,
    responseStatus: res.status,
    latencyMs: res.latencyMs,
    responseExcerpt: res.excerpt,
    error: res.error ?? (ok ? null : `HTTP ${res.status}`),
    nextAttemptAt,
    ...(gone ? { disable: 'the endpoint answered 410 Gone' } : {}),
    now,
  });
  deliveries.inc({ outcome: status });
  if (!recorded.logged) return { outcome: 'skipped', reason: 'attempt logged concurrently' };
  if (recorded.disabled) return { outcome: 'disabled', attempt, nextAttemptAt: null };
  if (retryable) {
    await deps.queues.enqueue(
      'webhook.deliver',
      { orgId: data.orgId, outboxId: ev.id, subscriptionId: data.subscriptionId, attempt: attempt + 1 },
      { jobId: jobIds.deliver(ev.id, data.subscriptionId, attempt + 1), delay },
    );
  }
  return { outcome: status, attempt, nextAttemptAt };
}
