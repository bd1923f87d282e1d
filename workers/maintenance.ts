import { pruneRelayed } from '../db/outbox.js';
import { withTenant } from '../db/tenant.js';
import { overdueRetries } from '../db/webhooks.js';
import type { WorkerDeps } from './deps.js';
import { jobIds } from './jobs.js';

/** Deletes relayed outbox rows (and their delivery log) older than the retention period. */
export async function pruneOutbox(deps: WorkerDeps, retentionDays: number): Promise<number> {
  const before = new Date(deps.clock.now().getTime() - retentionDays * 24 * 3600_000);
  const n = await pruneRelayed(deps.pool, before);
  if (n) deps.logger.info({ pruned: n, before }, 'pruned relayed outbox rows');
  return n;
}

/** How late a retry must be before the sweep assumes its job was lost. */
export const RETRY_GRACE_MS = 2 * 60_000;

/** Re-enqueues overdue webhook retries in every organization; returns how many it found. */
export async function sweepWebhookRetries(deps: WorkerDeps): Promise<number> {
  const now = deps.clock.now();
  let found = 0;
  let after: string | null = null;
  for (;;) {
    const orgs: { rows: Array<{ org_id: string }> } = await deps.pool.query({
      text: 'select org_id from gm_list_orgs($1::uuid, 500)',
      values: [after],
    });
    for (const { org_id: orgId } of orgs.rows) {
      const overdue = await withTenant(deps.pool, orgId, (tx) => overdueRetries(tx, now, RETRY_GRACE_MS));
      found += overdue.length;
      await deps.queues.enqueueMany(
        overdue.map((o) => ({
          name: 'webhook.deliver' as const,
          payload: { orgId, outboxId: o.outboxId, subscriptionId: o.subscriptionId, attempt: o.nextAttempt },
          opts: { jobId: jobIds.deliver(o.outboxId, o.subscriptionId, o.nextAttempt) },
        })),
      );
    }
    const last = orgs.rows.at(-1);
    if (!last || orgs.rows.length < 500) break;
    after = last.org_id;
  }
  if (found) deps.logger.info({ found }, 're-enqueued overdue webhook retries');
  return found;
}
