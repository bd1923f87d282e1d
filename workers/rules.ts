import type { Availability } from '../db/rule-assign.js';
import { runRulesForEvent } from '../db/rule-runs.js';
import { counter } from '../lib/metrics.js';
import { onlineMembers } from '../lib/presence.js';
import type { WorkerDeps } from './deps.js';
import type { JobData } from './jobs.js';

const runs = counter('gamemod_rule_runs_total', 'Automation rules considered per event, by outcome', [
  'outcome',
]);

/**
 * `rules.run`: the org's enabled rules for one outbox event (ticket created or updated, a
 * player's or staff message, an SLA warning or breach, a player report), in order. The job id is
 * the outbox id and each rule's log row is written with its actions, so a replay is a no-op;
 * an event a rule caused never runs that rule again, and chains stop at MAX_RULE_DEPTH (logged).
 */
export async function runRulesJob(deps: WorkerDeps, data: JobData<'rules.run'>): Promise<void> {
  const summary = await runRulesForEvent(
    deps.pool,
    data.orgId,
    data.outboxId,
    await atWork(deps, data.orgId),
  );
  for (const r of summary.ran) runs.inc({ outcome: r.outcome });
  const failed = summary.ran.filter((r) => r.outcome === 'failed');
  if (failed.length)
    deps.logger.info(
      { orgId: data.orgId, outboxId: data.outboxId, rules: failed.map((r) => r.ruleId) },
      'automation rules refused by the ticket (see the run log)',
    );
}

/**
 * Who of the org's staff is online now, for assign_in_team (db/ never reads Redis). Read before
 * the rules run, whatever they turn out to do; a rule run by hand (the API, `/ticket rules`) reads
 * it the same way, so both pick the same member. Working hours are judged in db/ at the
 * database's now(), not at this worker's clock. Without presence (deps.presence absent)
 * assignment goes by working hours and capacity alone.
 */
async function atWork(deps: WorkerDeps, orgId: string): Promise<Availability | undefined> {
  const redis = deps.presence?.redis;
  if (!redis) return undefined;
  return { online: await onlineMembers(redis, orgId, deps.clock.now()) };
}
