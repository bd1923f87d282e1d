import { z } from 'zod';
import { AppError, isAppError } from '../lib/errors.js';
import { currentTraceparent } from '../lib/trace-context.js';
import { type Actor, recordChange } from './changes.js';
import { executeAction } from './rule-actions.js';
import type { Availability } from './rule-assign.js';
import { loadContext } from './rule-context.js';
import { describeAction, evaluate } from './rule-eval.js';
import { type Ev, logRun } from './rule-run-log.js';
import { recordFire } from './rule-timers.js';
import { getRule, requireRuleActions } from './rules.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/** Running one rule on one ticket by hand, logged as the worker logs its runs. */

export const runNowInput = z.object({ ticketId: id });

/** What running one rule on one ticket by hand did. */
export interface ManualRun {
  /** The run log row written for it. */
  runId: number;
  ruleId: string;
  ruleName: string;
  ticketId: string;
  ticketNumber: number;
  outcome: 'applied' | 'not_matched' | 'failed';
  reason: string;
  actions: string[];
}

/** The outbox event a run by hand hangs its log row on; no trigger, so it never starts rules. */
export const MANUAL_RUN_EVENT = 'rule.manual_run';

/**
 * Runs one enabled rule on one ticket now, at a staff member's request (the API's
 * `POST /rules/{ruleId}/run` and `/ticket rules` in Discord), in the caller's transaction: the
 * rule's conditions are checked on the ticket as it is, and when they hold its actions run as the
 * rule (depth 1, exactly as the worker runs a rule on a person's event), so the events they cause
 * never run this rule again and a chain stops at MAX_RULE_DEPTH. The run is logged like the
 * worker's (on an outbox event of its own, which is no rule trigger) and audited as the staff
 * member's `rule.run` on the ticket. An action the ticket refuses (a closed ticket, a deleted
 * team) rolls back the rule's other actions and is logged as failed, as in the worker.
 */
export async function runRuleNow(
  tx: Tx,
  ruleId: string,
  raw: unknown,
  actor: Actor,
  /**
   * The caller's permissions as the door that let them in sees them (the API's, or the bot's
   * from their current Discord roles, which their membership's role may not show).
   */
  held: ReadonlySet<string>,
  /**
   * Who is online (the door reads presence from Redis, as the rules worker does), so an
   * assign_in_team picks the member the automatic run would; absent, working hours and capacity
   * alone decide, as for a worker without presence.
   */
  availability?: Availability,
): Promise<ManualRun> {
  const { ticketId } = parseInput(runNowInput, raw);
  // The answer tells the ticket's number and why the rule matched it: reading the ticket.
  if (!held.has('tickets.read'))
    throw new AppError('forbidden', "running a rule on a ticket needs tickets.read, which you don't hold", {
      details: { reason: 'missing_permission', permission: 'tickets.read' },
    });
  const rule = await getRule(tx, ruleId);
  requireRuleActions(held, rule.actions);
  if (!rule.enabled)
    throw new AppError('invalid_transition', `rule "${rule.name}" is disabled: enable it to run it`);
  // One run by hand of a ticket at a time, so two moderators pressing at once see each other's.
  const t = await tx.query<{ number: number }>(
    `select number::int from tickets
      where org_id = $1::uuid and id = $2::uuid and merged_into_id is null for update`,
    [tx.orgId, ticketId],
  );
  const ticketNumber = t.rows[0]?.number;
  const ctx = ticketNumber === undefined ? null : await loadContext(tx, ticketId, null);
  if (ticketNumber === undefined || !ctx) throw new AppError('not_found', 'ticket not found');
  const actorRef = { type: actor.type, id: 'id' in actor ? actor.id : null };
  const ob = await tx.query<{ id: string }>(
    `insert into outbox (org_id, event_type, aggregate_type, aggregate_id, payload, traceparent)
     values ($1::uuid, $2::text, 'ticket', $3::uuid, $4::jsonb, $5::text) returning id`,
    [
      tx.orgId,
      MANUAL_RUN_EVENT,
      ticketId,
      JSON.stringify({ rule: { id: rule.id, name: rule.name }, ticketId, actor: actorRef }),
      currentTraceparent(),
    ],
  );
  const ev: Ev = {
    trigger: rule.trigger,
    ticketId,
    messageId: null,
    causedBy: null,
    outboxId: Number(ob.rows[0]?.id),
    depth: 1,
  };
  const verdict = evaluate(rule, ctx);
  let outcome: ManualRun['outcome'] = 'not_matched';
  let reason = verdict.reason;
  const did: string[] = [];
  if (verdict.matched) {
    const ruleActor = { type: 'rule' as const, id: rule.id, depth: ev.depth };
    let step = 0;
    await tx.query('savepoint rule_run_now');
    try {
      for (const [i, action] of rule.actions.entries()) {
        step = i;
        did.push(await executeAction(tx, ticketId, action, ruleActor, rule, availability));
      }
      // A time-based rule run by hand has handled the ticket's current wait: the sweep must not
      // run it again for the same one (a second "still no answer" note, a second reminder).
      if (rule.wait) await recordFire(tx, ticketId, { id: rule.id, wait: rule.wait });
      await tx.query('release savepoint rule_run_now');
      outcome = 'applied';
    } catch (err) {
      if (!isAppError(err) || err.code === 'unavailable' || err.code === 'internal') throw err;
      await tx.query('rollback to savepoint rule_run_now');
      const action = rule.actions[step];
      outcome = 'failed';
      reason = `action ${step + 1} (${action ? describeAction(action) : '?'}) failed: ${err.message}`;
      did.length = 0;
    }
  }
  reason = `run by hand: ${reason}`;
  await logRun(tx, ev, rule, outcome, reason, did);
  const run = await tx.query<{ id: number }>(
    'select id::int from rule_runs where org_id = $1::uuid and outbox_id = $2::bigint and rule_id = $3::uuid',
    [tx.orgId, ev.outboxId, rule.id],
  );
  await recordChange(tx, actor, {
    ticketId,
    action: 'rule.run',
    data: { ruleId: rule.id, ruleName: rule.name, outcome, actions: did },
  });
  return {
    runId: run.rows[0]?.id ?? 0,
    ruleId: rule.id,
    ruleName: rule.name,
    ticketId,
    ticketNumber,
    outcome,
    reason: reason.slice(0, 500),
    actions: did,
  };
}
