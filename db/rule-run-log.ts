import { z } from 'zod';
import type { RuleTrigger } from './rule-defs.js';
import type { RuleEvent } from './rule-events.js';
import type { Rule } from './rules.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * The rules' run log (`rule_runs`): one row per outbox event and rule that ran, unique on both
 * (the claim that makes a replay a no-op), the rules that did not run kept as a stretch on the
 * next rule's row or on one row of their own; and its read, one entry per rule.
 */

export type Outcome = 'applied' | 'not_matched' | 'skipped' | 'failed';
/** A rule settled without running: why. */
export type Settled = { rule: Rule; outcome: Outcome; reason: string };
/** The event as a run logs it: its outbox row and the chain's depth. */
export type Ev = RuleEvent & { outboxId: number; depth: number };

export interface RunSummary {
  trigger: RuleTrigger | null;
  ran: { ruleId: string; outcome: Outcome }[];
}

/** A rule's row, with the stretch before it; false when it is there already (a replay). */
export async function logRun(
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

export const missesJson = (stretch: Settled[]) =>
  JSON.stringify(
    stretch.map((x) => ({
      ruleId: x.rule.id,
      ruleName: x.rule.name,
      outcome: x.outcome,
      reason: x.reason.slice(0, 500),
    })),
  );
export const entries = (stretch: Settled[]) =>
  stretch.map((x) => ({ ruleId: x.rule.id, outcome: x.outcome }));

/** The rules after the last one that runs: one row of their own, its first rule the claim. */
export async function logStretch(tx: Tx, ev: Ev, stretch: Settled[]): Promise<RunSummary['ran']> {
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
