import { FOLD_BATCH, foldReports, orgsWithWaitingReports } from '../db/report-fold.js';
import { withTenant } from '../db/tenant.js';
import type { WorkerDeps } from './deps.js';

/** How often accepted player reports are folded into the moderation queue. */
export const REPORT_FOLD_EVERY_MS = 1_000;

/**
 * Folds the player reports every organization has accepted into its moderation queue
 * (db/report-fold.ts): the `/sdk/v1/reports` request only makes the report durable, so intake
 * is not held to the rate an organization can open tickets at. Each organization is its own
 * transactions, a full batch at a time until none is left, so one failing never holds back the
 * others; the next scheduled run retries it.
 */
export async function foldPlayerReports(deps: WorkerDeps): Promise<{ orgs: number; reports: number }> {
  let orgs = 0;
  let reports = 0;
  let failed: unknown;
  for await (const orgId of orgsWithWaitingReports(deps.pool)) {
    try {
      orgs++;
      for (;;) {
        const r = await withTenant(deps.pool, orgId, (tx) => foldReports(tx));
        reports += r.reports;
        if (r.reports < FOLD_BATCH) break;
      }
    } catch (err) {
      deps.logger.warn({ err, orgId }, 'player report fold failed for an organization');
      failed = err;
    }
  }
  if (reports) deps.logger.debug({ orgs, reports }, 'folded player reports');
  if (failed) throw failed;
  return { orgs, reports };
}
