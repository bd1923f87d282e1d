import { allOrgIds } from '../db/organizations.js';
import { fireDueWaits } from '../db/rule-timers.js';
import { withTenant } from '../db/tenant.js';
import { counter } from '../lib/metrics.js';
import type { WorkerDeps } from './deps.js';

const fires = counter('gamemod_rule_timers_total', 'Time-based rule waits found over');

/**
 * `rules.sweep`: one pass over every organization for `ticket.waiting` rules whose wait is over
 * ("pending for 48 h", "no player reply for 3 days"). Each due ticket and rule gets a fire row
 * and a `rule.timer_due` event in one transaction per org; the relay turns the event into a
 * `rules.run` job like any other. The fire row is unique per rule, ticket and wait, so passes
 * that overlap or repeat fire nothing twice. Run by a BullMQ job scheduler; the waits are measured
 * on the database's clock (the one that stamped them), not this process's.
 */
export async function ruleTimerSweep(deps: WorkerDeps): Promise<number> {
  let fired = 0;
  for await (const orgId of allOrgIds(deps.pool)) {
    try {
      const n = await withTenant(deps.pool, orgId, (tx) => fireDueWaits(tx));
      fires.inc(n);
      fired += n;
    } catch (err) {
      deps.logger.warn({ orgId, err: (err as Error).message }, 'rule timer sweep failed for an org');
    }
  }
  return fired;
}
