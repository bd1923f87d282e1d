import { foldOrg, orgsToFold } from '../db/analytics-fold.js';
import { foldPlayerActivity, playerOrgsToFold } from '../db/analytics-players.js';
import { foldSentiment, sentimentOrgsToFold } from '../db/analytics-sentiment.js';
import { withTenant } from '../db/tenant.js';
import { detectAnomalies } from './anomalies.js';
import type { WorkerDeps } from './deps.js';

/** How often the rollups catch up with ticket changes (a change shows within about this). */
export const ANALYTICS_FOLD_EVERY_MS = 1_000;

/**
 * Folds every organization's ticket changes since its watermark into the analytics rollups,
 * visiting only the organizations that have any (`orgsToFold`): a pass over many idle ones used
 * to outlast the 2 s schedule and hold back the changed ones. Each organization is its own
 * transaction, so one failing never holds back the others, and
 * a run after downtime simply folds more (the catch-up). Safe to run in several processes:
 * each organization's watermark row is locked while it folds.
 *
 * An organization whose fold took in changes is then checked for a spike in ticket volume
 * (workers/anomalies.ts), in a transaction of its own so a failing check never holds back the
 * rollups; the next fold with changes checks again. `players`: sessions and reports folded into
 * the player activity rollups (db/analytics-players.ts); `messages`: messages folded into the
 * sentiment trend (db/analytics-sentiment.ts).
 */
export async function foldAnalytics(
  deps: WorkerDeps,
): Promise<{ orgs: number; tickets: number; players: number; messages: number }> {
  let orgs = 0;
  let tickets = 0;
  let failed: unknown;
  for await (const orgId of orgsToFold(deps.pool)) {
    try {
      const r = await withTenant(deps.pool, orgId, (tx) => foldOrg(tx));
      orgs++;
      tickets += r.tickets;
      if (r.tickets > 0) {
        await withTenant(deps.pool, orgId, (tx) => detectAnomalies(tx, deps.clock.now())).catch((err) => {
          deps.logger.warn({ err, orgId }, 'anomaly check failed for an organization');
          failed = err;
        });
      }
    } catch (err) {
      deps.logger.warn({ err, orgId }, 'analytics fold failed for an organization');
      failed = err;
    }
  }
  // Player activity (sessions and reports from the game SDKs) has its own watermark and its own
  // list of organizations with anything new, each again its own transaction.
  let players = 0;
  for await (const orgId of playerOrgsToFold(deps.pool)) {
    try {
      const r = await withTenant(deps.pool, orgId, (tx) => foldPlayerActivity(tx));
      players += r.sessions + r.reports;
    } catch (err) {
      deps.logger.warn({ err, orgId }, 'player activity fold failed for an organization');
      failed = err;
    }
  }
  // The sentiment trend (scored player messages) likewise: its own watermark and its own list.
  let messages = 0;
  for await (const orgId of sentimentOrgsToFold(deps.pool)) {
    try {
      messages += (await withTenant(deps.pool, orgId, (tx) => foldSentiment(tx))).messages;
    } catch (err) {
      deps.logger.warn({ err, orgId }, 'sentiment fold failed for an organization');
      failed = err;
    }
  }
  if (tickets || players || messages)
    deps.logger.debug({ orgs, tickets, players, messages }, 'folded analytics');
  // The next scheduled run retries; failing the job makes the failure visible in the queue.
  if (failed) throw failed;
  return { orgs, tickets, players, messages };
}
