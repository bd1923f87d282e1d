import { pruneExpiredIdempotencyKeys } from '../db/idempotency.js';
import { pruneEndedOAuth } from '../db/oauth-prune.js';
import { allOrgIds } from '../db/organizations.js';
import { pruneRelayed } from '../db/outbox.js';
import { withTenant } from '../db/tenant.js';
import { overdueRetries } from '../db/webhook-attempts.js';
import type { WorkerDeps } from './deps.js';
import { type JobName, jobIds, QUEUE_NAMES } from './jobs.js';
import { PERMANENT_PREFIX } from './queues.js';

/** Deletes relayed outbox rows (and their delivery log) older than the retention period. */
export async function pruneOutbox(deps: WorkerDeps, retentionDays: number): Promise<number> {
  const before = new Date(deps.clock.now().getTime() - retentionDays * 24 * 3600_000);
  const n = await pruneRelayed(deps.pool, before);
  if (n) deps.logger.info({ pruned: n, before }, 'pruned relayed outbox rows');
  return n;
}

/** Deletes ended OAuth grants, expired access tokens and codes in every organization. */
export async function pruneOAuth(deps: WorkerDeps): Promise<number> {
  const now = deps.clock.now();
  let pruned = 0;
  for await (const orgId of allOrgIds(deps.pool)) {
    const n = await withTenant(deps.pool, orgId, (tx) => pruneEndedOAuth(tx, now));
    pruned += n.codes + n.accessTokens + n.grants;
    if (n.codes + n.accessTokens + n.grants) deps.logger.info({ orgId, ...n }, 'pruned ended OAuth rows');
  }
  return pruned;
}

/** How late a retry must be before the sweep assumes its job was lost. */
export const RETRY_GRACE_MS = 2 * 60_000;

/** Re-enqueues overdue webhook retries in every organization; returns how many it found. */
export async function sweepWebhookRetries(deps: WorkerDeps): Promise<number> {
  const now = deps.clock.now();
  let found = 0;
  for await (const orgId of allOrgIds(deps.pool)) {
    const overdue = await withTenant(deps.pool, orgId, (tx) => overdueRetries(tx, now, RETRY_GRACE_MS));
    found += overdue.length;
    // A retry job that failed (or finished without logging) is still kept under its id, where
    // adding it again would be a no-op: ensureMany retries it instead.
    await deps.queues.ensureMany(
      overdue.map((o) => ({
        name: 'webhook.deliver' as const,
        payload: { orgId, outboxId: o.outboxId, subscriptionId: o.subscriptionId, attempt: o.nextAttempt },
        opts: { jobId: jobIds.deliver(o.outboxId, o.subscriptionId, o.nextAttempt) },
      })),
    );
  }
  if (found) deps.logger.info({ found }, 're-enqueued overdue webhook retries');
  return found;
}

/** The scheduled sweeps: a failed one is simply superseded by the next run. */
const SCHEDULED = new Set<JobName>([
  'sla.sweep',
  'autoclose.sweep',
  'webhook.sweep',
  'outbox.prune',
  'oauth.prune',
  'jobs.retry_failed',
  'discord.sweep',
  'analytics.fold',
  'reports.fold',
  'retention.apply',
  'privacy.sweep',
]);
/** Failed jobs older than this are left alone (and expire with `removeOnFail`). */
export const RETRY_FAILED_WITHIN_MS = 24 * 3600_000;

/**
 * Retries jobs that ran out of attempts, typically in a Postgres outage longer than their
 * backoff: they are kept failed under their ids for a week, so nothing else would ever run them
 * again. Permanent failures (an invalid payload, a Discord channel that is gone) are left
 * alone; so are failures older than a day, so a job that keeps failing is not retried forever.
 */
export async function retryFailedJobs(deps: WorkerDeps, limit = 1_000): Promise<number> {
  const now = Date.now();
  let n = 0;
  for (const q of QUEUE_NAMES) {
    const failed = await deps.queues.get(q).getFailed(0, limit - 1);
    for (const job of failed) {
      if (!job || SCHEDULED.has(job.name as JobName)) continue;
      if (job.failedReason?.startsWith(PERMANENT_PREFIX)) continue;
      if (!job.finishedOn || now - job.finishedOn > RETRY_FAILED_WITHIN_MS) continue;
      try {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        n++;
      } catch {
        // Retried or removed by another process meanwhile.
      }
    }
  }
  if (n) deps.logger.info({ retried: n }, 'retried failed jobs');
  return n;
}

/** Deletes Idempotency-Key records past their 24 hours in every organization. */
export async function pruneIdempotencyKeys(deps: WorkerDeps): Promise<number> {
  let pruned = 0;
  for await (const orgId of allOrgIds(deps.pool)) {
    pruned += await withTenant(deps.pool, orgId, (tx) => pruneExpiredIdempotencyKeys(tx));
  }
  if (pruned) deps.logger.info({ pruned }, 'pruned expired idempotency keys');
  return pruned;
}
