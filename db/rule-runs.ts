import { z } from 'zod';
import { AppError, isAppError } from '../lib/errors.js';
import { currentTraceparent } from '../lib/trace-context.js';
import { type Actor, recordChange } from './changes.js';
import { OUTBOX_COLUMNS, type OutboxRow } from './outbox.js';
import type { Pool } from './pool.js';
import { executeAction } from './rule-actions.js';
import type { Availability } from './rule-assign.js';
import { MAX_RULE_DEPTH, type RuleTrigger, type Wait, waitSchema } from './rule-defs.js';
import { describeAction, evaluate, type Mood, type RuleContext } from './rule-eval.js';
import { enabledRulesAt, RULES_VERSION_SQL } from './rule-set.js';
import { recordFire, waitState } from './rule-timers.js';
import { getRule, type Rule, requireRuleActions } from './rules.js';
import { id } from './schemas.js';
import { type Tx, withTenant } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * Running an organization's rules on one outbox event, and the per-ticket run log. Each rule that
 * matches runs in its own transaction that also writes its log row (unique per event and rule),
 * so a replayed job finds the row and skips the rule: actions are never applied twice. The rules
 * that do not run are logged together on the next matching rule's row, or after the last match
 * on one row of their own (its first rule the claim).
 */

export interface RuleEvent {
  trigger: RuleTrigger;
  ticketId: string;
  messageId: string | null;
  /** The rule whose change caused the event (it is never re-run on it) and the chain's depth. */
  causedBy: { ruleId: string; depth: number } | null;
  /** A timer's event (`rule.timer_due`) is for the one rule whose wait is over. */
  onlyRuleId?: string;
  /** A timer's wait, and when the episode it fired for started (the fire row's `since`). */
  timer?: { wait: Wait; since: string };
}

const UPDATES = new Set([
  'ticket.updated',
  'ticket.status_changed',
  'ticket.priority_changed',
  'ticket.assigned',
  'ticket.closed',
  'ticket.reopened',
]);

const rec = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
const str = (v: unknown) => (typeof v === 'string' ? v : null);

/** The trigger an outbox event is, if any (pure: the relay uses it to decide on a job). */
export function ruleEventOf(
  row: Pick<OutboxRow, 'eventType' | 'aggregateType' | 'aggregateId' | 'payload'>,
): RuleEvent | null {
  const type = row.eventType;
  const onTicket = row.aggregateType === 'ticket' ? row.aggregateId : null;
  let trigger: RuleTrigger | null = null;
  let ticketId = onTicket;
  let messageId: string | null = null;
  if (type === 'ticket.created') trigger = 'ticket.created';
  else if (UPDATES.has(type)) trigger = 'ticket.updated';
  else if (type === 'ticket.sla_warning') trigger = 'sla.warning';
  else if (type === 'ticket.sla_breached') trigger = 'sla.breach';
  else if (type === 'message.created') {
    const message = rec(row.payload.message);
    // A participant (not staff, not the ticket's player: someone in a public forum post) is
    // neither trigger: rules on the player's messages must not answer a bystander.
    if (row.payload.participant === true) return null;
    trigger = message.authorType === 'player' ? 'message.player' : 'message.staff';
    messageId = str(message.id);
  } else if (type === 'rule.timer_due') {
    const ruleId = str(rec(row.payload.rule).id);
    const wait = waitSchema.safeParse(row.payload.wait);
    const since = str(row.payload.since);
    if (!ruleId || !onTicket) return null;
    return {
      trigger: 'ticket.waiting',
      ticketId: onTicket,
      messageId: null,
      causedBy: null,
      onlyRuleId: ruleId,
      ...(wait.success && since ? { timer: { wait: wait.data, since } } : {}),
    };
  } else if (type === 'player.reported') {
    trigger = 'player.reported';
    ticketId = str(rec(row.payload.report).ticketId);
  }
  if (!trigger || !ticketId) return null;
  const actor = rec(row.payload.actor);
  const causedBy =
    actor.type === 'rule' && typeof actor.id === 'string'
      ? { ruleId: actor.id, depth: typeof actor.depth === 'number' ? actor.depth : MAX_RULE_DEPTH }
      : null;
  return { trigger, ticketId, messageId, causedBy };
}

/** The ticket as rules see it, with the firing message (or else the latest player message). */
export async function loadContext(
  tx: Tx,
  ticketId: string,
  messageId: string | null,
): Promise<RuleContext | null> {
  const r = await tx.query<
    RuleContext['ticket'] & { body: string | null; authorType: string | null; sentiment: Mood | null }
  >(
    `select t.subject, t.status, t.priority, t.origin, t.category_id as "categoryId", t.team_id as "teamId",
       t.assignee_id as "assigneeId", t.game_id as "gameId", t.tags, t.custom_fields as "customFields",
       case when t.player_sentiment_label is null then null
            else json_build_object('label', t.player_sentiment_label, 'score', t.player_sentiment_score) end
         as "playerSentiment",
       m.body, m.author_type as "authorType",
       case when m.sentiment_label is null then null
            else json_build_object('label', m.sentiment_label, 'score', m.sentiment_score) end as sentiment
     from tickets t
     left join lateral (
       select body, author_type, sentiment_label, sentiment_score from messages m
        where m.org_id = t.org_id and m.ticket_id = t.id and m.deleted_at is null
          -- the player's own: a participant's words are not "the player's latest message"
          and (case when $3::uuid is null then m.author_kind = 'player' else m.id = $3::uuid end)
        order by m.created_at desc, m.id desc limit 1
     ) m on true
     where t.org_id = $1::uuid and t.id = $2::uuid and t.merged_into_id is null`,
    [tx.orgId, ticketId, messageId],
  );
  const row = r.rows[0];
  if (!row) return null;
  const { body, authorType, sentiment, ...ticket } = row;
  return { ticket, message: body === null ? null : { body, authorType: authorType ?? 'player', sentiment } };
}

type Outcome = 'applied' | 'not_matched' | 'skipped' | 'failed';

async function logRun(
  tx: Tx,
  ev: Ev,
  rule: Rule,
  outcome: Outcome,
  reason: string,
  actions: string[],
  stretch: Settled[] = [],
): Promise<boolean> {
  const r = await tx.query(
    `insert into rule_runs (org_id, ticket_id, outbox_id, rule_id, rule_name, trigger, depth, outcome, reason, actions, misses)
     values ($1::uuid, $2::uuid, $3::bigint, $4::uuid, $5::text, $6::text, $7::int, $8::text, $9::text, $10::jsonb, $11::jsonb)
     on conflict do nothing`,
    [
      tx.orgId,
      ev.ticketId,
      ev.outboxId,
      rule.id,
      rule.name,
      ev.trigger,
      ev.depth,
      outcome,
      reason.slice(0, 500),
      JSON.stringify(actions),
      stretch.length ? missesJson(stretch) : null,
    ],
  );
  return r.rowCount === 1;
}

export interface RunSummary {
  trigger: RuleTrigger | null;
  ran: { ruleId: string; outcome: Outcome }[];
}

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

type Settled = { rule: Rule; outcome: Outcome; reason: string };
type Ev = RuleEvent & { outboxId: number; depth: number };

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

const missesJson = (stretch: Settled[]) =>
  JSON.stringify(
    stretch.map((x) => ({
      ruleId: x.rule.id,
      ruleName: x.rule.name,
      outcome: x.outcome,
      reason: x.reason.slice(0, 500),
    })),
  );
const entries = (stretch: Settled[]) => stretch.map((x) => ({ ruleId: x.rule.id, outcome: x.outcome }));

/** The rules after the last one that runs: one row of their own, its first rule the claim. */
async function logStretch(tx: Tx, ev: Ev, stretch: Settled[]): Promise<RunSummary['ran']> {
  if (!stretch.length) return [];
  const r = await tx.query(
    `insert into rule_runs (org_id, ticket_id, outbox_id, trigger, depth, outcome, misses)
     values ($1::uuid, $2::uuid, $3::bigint, $4::text, $5::int, 'not_matched', $6::jsonb)
     on conflict do nothing`,
    [tx.orgId, ev.ticketId, ev.outboxId, ev.trigger, ev.depth, missesJson(stretch)],
  );
  // A replay that settles the same stretch again finds its claim and logs nothing.
  return r.rowCount === 1 ? entries(stretch) : [];
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

export interface RuleRun {
  id: number;
  ticketId: string;
  /** The number people quote, so a log entry can name its ticket without a look-up per row. */
  ticketNumber: number;
  outboxId: number;
  ruleId: string | null;
  ruleName: string;
  trigger: RuleTrigger;
  depth: number;
  outcome: Outcome;
  reason: string | null;
  actions: string[];
  createdAt: Date;
}

export const runsQuery = z.object({
  ticketId: id.optional(),
  ruleId: id.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** Keyset paging: runs older than this id. */
  before: z.coerce.number().int().positive().optional(),
});

/**
 * The run log, newest first, for one ticket, one rule or the whole org. A stretch of rules that
 * did not run is one row, shown as one entry per rule (sharing the row's id); a page ends at a
 * row boundary, so it may hold more entries than `limit` (at most one stretch more), and `before`
 * set to the last entry's id gives the next page.
 */
export async function listRuns(tx: Tx, raw: unknown): Promise<RuleRun[]> {
  const q = parseInput(runsQuery, raw);
  const r = await tx.query<RuleRun & { entries: number }>(
    `select r.id::int, r.ticket_id as "ticketId", t.number::int as "ticketNumber", r.outbox_id::int as "outboxId",
       -- A stretch keeps its rules' ids as written: one deleted since reads as null, as rule_id does.
       case when e.x ? 'ruleId' then d.id else r.rule_id end as "ruleId",
       coalesce(e.x ->> 'ruleName', r.rule_name) as "ruleName", r.trigger, r.depth,
       coalesce(e.x ->> 'outcome', r.outcome) as outcome, coalesce(e.x ->> 'reason', r.reason) as reason,
       r.actions, r.created_at as "createdAt"
     from (
       select * from rule_runs
        where org_id = $1::uuid and ($2::uuid is null or ticket_id = $2::uuid)
          and ($3::uuid is null or rule_id = $3::uuid
               or misses @> jsonb_build_array(jsonb_build_object('ruleId', $3::text)))
          and ($4::bigint is null or id < $4::bigint)
        order by id desc limit $5::int
     ) r
     join tickets t on t.org_id = r.org_id and t.id = r.ticket_id
     -- A rule's own row lists its stretch first, then itself (the empty object, last).
     left join lateral jsonb_array_elements(
       coalesce(r.misses, '[]') || case when r.rule_name is not null then '[{}]'::jsonb else '[]' end
     ) with ordinality as e(x, ord) on true
     left join rules d on d.org_id = r.org_id and d.id = (e.x ->> 'ruleId')::uuid
     where $3::uuid is null or coalesce((e.x ->> 'ruleId')::uuid, r.rule_id) = $3::uuid
     order by r.id desc, e.ord desc`,
    [tx.orgId, q.ticketId ?? null, q.ruleId ?? null, q.before ?? null, q.limit],
  );
  const out: RuleRun[] = [];
  for (const row of r.rows) {
    // Whole rows only: stop at the first row that starts past the limit.
    if (out.length >= q.limit && row.id !== out[out.length - 1]?.id) break;
    out.push(row);
  }
  return out;
}

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
