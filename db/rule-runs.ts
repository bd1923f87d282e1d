import { isAppError } from '../lib/errors.js';
import { OUTBOX_COLUMNS, type OutboxRow } from './outbox.js';
import type { Pool } from './pool.js';
import { executeAction } from './rule-actions.js';
import type { Availability } from './rule-assign.js';
import { loadContext } from './rule-context.js';
import { MAX_RULE_DEPTH } from './rule-defs.js';
import { describeAction, evaluate, type RuleContext } from './rule-eval.js';
import { ruleEventOf } from './rule-events.js';
import { type Ev, entries, logRun, logStretch, type RunSummary, type Settled } from './rule-run-log.js';
import { enabledRulesAt, RULES_VERSION_SQL } from './rule-set.js';
import { waitState } from './rule-timers.js';
import type { Rule } from './rules.js';
import { type Tx, withTenant } from './tenant.js';

/**
 * Running an organization's rules on one outbox event. Each rule that matches runs in its own
 * transaction that also writes its log row (unique per event and rule, rule-run-log.ts), so a
 * replayed job finds the row and skips the rule: actions are never applied twice. The rules that
 * do not run are logged together on the next matching rule's row, or after the last match on one
 * row of their own (its first rule the claim).
 *
 * The rest of the rules' running lives beside it, re-exported here so callers keep one import
 * path: what an event is to the rules (rule-events.ts), the ticket as they see it
 * (rule-context.ts), the run log and its read (rule-run-log.ts), a run by hand (rule-run-now.ts).
 */
export { loadContext } from './rule-context.js';
export { type RuleEvent, ruleEventOf } from './rule-events.js';
export { listRuns, type RuleRun, type RunSummary, runsQuery } from './rule-run-log.js';
export { MANUAL_RUN_EVENT, type ManualRun, runNowInput, runRuleNow } from './rule-run-now.js';

/**
 * Runs the org's enabled rules for one outbox event, in order. Safe to call again for the same
 * event. The first transaction also reads the event and its rules: most events are settled in it
 * (no rule matches, or one does), so reading them in a transaction of their own cost each event
 * one more transaction.
 */
export async function runRulesForEvent(
  pool: Pool,
  orgId: string,
  outboxId: number,
  /** Who is at work (the worker reads presence from Redis), for assign_in_team actions. */
  availability?: Availability,
): Promise<RunSummary> {
  const first = await runFrom(pool, orgId, outboxId, 0, availability);
  const prepared = first.prepared;
  if (!prepared) return { trigger: null, ran: [] };
  const ran: RunSummary['ran'] = [...first.ran];
  let i = first.next;
  while (i < prepared.rules.length) {
    const step = await runFrom(pool, orgId, prepared, i, availability);
    ran.push(...step.ran);
    i = step.next;
  }
  return { trigger: prepared.ev.trigger, ran };
}

/** The event as the rules see it, and the org's enabled rules for its trigger. */
interface Prepared {
  ev: Ev;
  rules: Rule[];
}

/** Null when the event is gone or triggers no rules. */
async function prepare(tx: Tx, outboxId: number): Promise<Prepared | null> {
  // The event and the org's rule-set version in one round trip.
  const r = await tx.query<OutboxRow & { rulesVersion: string | null }>(
    `select ${OUTBOX_COLUMNS}, ${RULES_VERSION_SQL} as "rulesVersion" from outbox where id = $2::bigint`,
    [tx.orgId, outboxId],
  );
  const row = r.rows[0];
  const ev = row ? ruleEventOf(row) : null;
  if (!row || !ev) return null;
  const rules = await enabledRulesAt(tx, row.rulesVersion, ev.trigger);
  return {
    ev: { ...ev, outboxId, depth: (ev.causedBy?.depth ?? 0) + 1 },
    rules: ev.onlyRuleId ? rules.filter((r) => r.id === ev.onlyRuleId) : rules,
  };
}

/** Why a rule does not run on this event, or null when it matches. */
function precheck(
  ev: Ev,
  ctx: RuleContext | null,
  rule: Rule,
  waitEnded: string | null,
): Omit<Settled, 'rule'> | null {
  if (waitEnded) return { outcome: 'skipped', reason: waitEnded };
  if (ev.causedBy?.ruleId === rule.id)
    return { outcome: 'skipped', reason: 'the event was caused by this rule' };
  if (ev.depth > MAX_RULE_DEPTH)
    return { outcome: 'skipped', reason: `chain stopped: rules already ran ${MAX_RULE_DEPTH} deep` };
  if (!ctx) return { outcome: 'skipped', reason: 'the ticket is gone or merged' };
  const verdict = evaluate(rule, ctx);
  return verdict.matched ? null : { outcome: 'not_matched', reason: verdict.reason };
}

/**
 * Why a timer's rule must not act now although its wait was over when the sweep fired it: the
 * rules job can run long after (the relay behind, Redis away), and the wait may have ended since
 * (the player answered a "no player reply for 3 days → close"). Checked with the ticket's row
 * locked, so no reply lands between this check and the rule's actions. Null for other events.
 */
async function timerWaitEnded(tx: Tx, ev: Ev): Promise<string | null> {
  if (!ev.timer || !ev.onlyRuleId) return null;
  const state = await waitState(tx, ev.ticketId, { id: ev.onlyRuleId, wait: ev.timer.wait }, true);
  if (!state.waiting) return `wait ended: ${state.why}`;
  if (state.since.getTime() !== Date.parse(ev.timer.since))
    return `wait ended: a new wait started at ${state.since.toISOString()}`;
  return null;
}

/**
 * From rule `start` on: the rules that do not run (no match, or skipped) up to the next one that
 * matches, then that rule's actions, in one transaction on the ticket as it is then. The stretch
 * is logged on the matching rule's own row (one insert per event however many rules did not
 * match: a row per rule made 100 rules cost twice one rule's event); the log row is the claim
 * (unique per event and rule), so a second run of the same job conflicts with it and rolls its
 * own actions back.
 */
async function runFrom(
  pool: Pool,
  orgId: string,
  /** The event and its rules, or the event's outbox id: then read in this transaction. */
  source: Prepared | number,
  start: number,
  availability?: Availability,
): Promise<{ prepared: Prepared | null; next: number; ran: RunSummary['ran'] }> {
  let prepared = typeof source === 'number' ? null : source;
  let stretch: Settled[] = [];
  let at = start;
  let step = 0;
  try {
    return await withTenant(pool, orgId, async (tx) => {
      const p = typeof source === 'number' ? await prepare(tx, source) : source;
      prepared = p;
      if (!p?.rules.length) return { prepared: p, next: 0, ran: [] };
      const { ev, rules } = p;
      const waitEnded = await timerWaitEnded(tx, ev);
      const ctx = await loadContext(tx, ev.ticketId, ev.messageId);
      stretch = [];
      for (at = start; at < rules.length; at++) {
        const rule = rules[at] as Rule;
        const verdict = precheck(ev, ctx, rule, waitEnded);
        if (!verdict) break;
        stretch.push({ rule, ...verdict });
      }
      const rule = rules[at];
      if (!rule) return { prepared: p, next: at, ran: await logStretch(tx, ev, stretch) };
      const verdict = evaluate(rule, ctx as RuleContext);
      const did: string[] = [];
      const actor = { type: 'rule' as const, id: rule.id, depth: ev.depth };
      for (const [i, action] of rule.actions.entries()) {
        step = i;
        did.push(await executeAction(tx, ev.ticketId, action, actor, rule, availability));
      }
      if (!(await logRun(tx, ev, rule, 'applied', verdict.reason, did, stretch))) throw new AlreadyRan();
      return {
        prepared: p,
        next: at + 1,
        ran: [...entries(stretch), { ruleId: rule.id, outcome: 'applied' as const }],
      };
    });
  } catch (err) {
    if (err instanceof AlreadyRan) return { prepared, next: at + 1, ran: [] };
    // A refusal (a closed ticket, a deleted team or canned reply) is the rule's outcome and is
    // logged; anything else (the database away) fails the job so it is retried.
    const known: Prepared | null = prepared;
    if (!known || !isAppError(err) || err.code === 'unavailable' || err.code === 'internal') throw err;
    const { ev, rules } = known;
    const rule = rules[at] as Rule;
    const action = rule.actions[step];
    const reason = `action ${step + 1} (${action ? describeAction(action) : '?'}) failed: ${err.message}`;
    const logged = await withTenant(pool, orgId, (tx) => logRun(tx, ev, rule, 'failed', reason, [], stretch));
    return {
      prepared: known,
      next: at + 1,
      ran: logged ? [...entries(stretch), { ruleId: rule.id, outcome: 'failed' as const }] : [],
    };
  }
}

/** A replayed job: the log row is already there, so this run's actions are rolled back. */
class AlreadyRan extends Error {}
