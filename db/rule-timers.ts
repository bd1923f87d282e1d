import { emitEvent } from './changes.js';
import type { Wait } from './rule-defs.js';
import { enabledRulesFor } from './rule-set.js';
import type { Tx } from './tenant.js';

/**
 * The time-based half of the rules: which tickets have waited long enough for a `ticket.waiting`
 * rule. A wait is an episode named by the time it started (the ticket went pending, or the
 * awaited side last wrote); `rule_timer_fires` holds one row per rule, ticket and episode, so a
 * ticket fires a rule once per episode however often the sweep passes, and again only after a
 * new episode starts (a reply, pending again). Every wait is measured on the database's clock,
 * the one that stamped the times it starts from: a worker's clock that runs ahead must not make
 * a rule act early.
 */

/**
 * When the wait started, which tickets are waiting at all, and why a ticket is not, per kind
 * (fixed SQL, no input). A solved ticket waits for nobody: the organization's solved-close delay
 * decides what happens to it, and staff have answered it.
 */
const WAITS: Record<Wait['for'], { since: string; waiting: string; notWaiting: string }> = {
  pending: {
    since: 't.pending_since',
    waiting: "t.status = 'pending' and t.pending_since is not null",
    notWaiting: 'the ticket is not pending',
  },
  player_reply: {
    since: 'coalesce(t.last_player_message_at, t.created_at)',
    waiting: "t.status in ('open', 'pending', 'on_hold')",
    notWaiting: 'the ticket is solved or closed',
  },
  staff_reply: {
    since: 't.last_player_message_at',
    waiting: `t.status in ('open', 'on_hold') and t.last_player_message_at is not null
      and (t.last_staff_message_at is null or t.last_staff_message_at < t.last_player_message_at)`,
    notWaiting: "no player message awaits staff's answer on an open or on-hold ticket",
  },
};

/** At most this many tickets fire per rule and pass; the rest are found on the next pass. */
export const FIRES_PER_PASS = 500;

/**
 * Records the due waits of the caller's org and emits one `rule.timer_due` event per ticket and
 * rule (the rules job runs that one rule on it), in the caller's transaction.
 */
export async function fireDueWaits(tx: Tx): Promise<number> {
  let fired = 0;
  for (const rule of await enabledRulesFor(tx, 'ticket.waiting')) {
    if (!rule.wait) continue;
    const { since, waiting } = WAITS[rule.wait.for];
    const r = await tx.query<{ id: string; since: Date }>(
      `with due as (
         select t.id, ${since} as since from tickets t
          where t.org_id = $1::uuid and t.merged_into_id is null and ${waiting}
            and ${since} <= now() - make_interval(hours => $2::int)
            and not exists (
              select 1 from rule_timer_fires f
               where f.org_id = t.org_id and f.rule_id = $3::uuid and f.ticket_id = t.id and f.since = ${since})
          order by 2 limit $4::int
       )
       insert into rule_timer_fires (org_id, rule_id, ticket_id, since, fired_at)
       select $1::uuid, $3::uuid, id, since, now() from due
       on conflict do nothing
       returning ticket_id as id, since`,
      [tx.orgId, rule.wait.hours, rule.id, FIRES_PER_PASS],
    );
    for (const row of r.rows)
      await emitEvent(tx, {
        type: 'rule.timer_due',
        aggregateType: 'ticket',
        aggregateId: row.id,
        payload: {
          ticketId: row.id,
          rule: { id: rule.id, name: rule.name },
          wait: rule.wait,
          since: row.since.toISOString(),
        },
      });
    fired += r.rows.length;
  }
  return fired;
}

/** A ticket's current wait of one kind, as the sweep sees it. */
export type WaitState =
  | { waiting: false; why: string }
  | { waiting: true; since: Date; hours: number; due: boolean; fired: boolean };

/**
 * Whether the ticket waits as the rule's wait asks, since when, for how many whole hours of the
 * database's clock, and whether the rule already fired for this episode: what the dry runs show
 * and what the rules job checks again before a timer's rule acts. `lock` takes the ticket's row,
 * so no reply slips in between that check and the rule's actions.
 */
export async function waitState(
  tx: Tx,
  ticketId: string,
  /** No id for a rule being edited: it has fired for nothing yet. */
  rule: { id: string | null; wait: Wait },
  lock = false,
): Promise<WaitState> {
  const { since, waiting, notWaiting } = WAITS[rule.wait.for];
  const r = await tx.query<{ since: Date; hours: number; due: boolean; fired: boolean }>(
    `select ${since} as since, floor(extract(epoch from now() - ${since}) / 3600)::int as hours,
       ${since} <= now() - make_interval(hours => $3::int) as due,
       exists (select 1 from rule_timer_fires f
                where f.org_id = t.org_id and f.rule_id = $4::uuid and f.ticket_id = t.id and f.since = ${since}) as fired
     from tickets t
     where t.org_id = $1::uuid and t.id = $2::uuid and t.merged_into_id is null and ${waiting}
     ${lock ? 'for update of t' : ''}`,
    [tx.orgId, ticketId, rule.wait.hours, rule.id],
  );
  const row = r.rows[0];
  return row ? { waiting: true, ...row } : { waiting: false, why: notWaiting };
}

/** The wait, worded for the run log and the dry runs. */
export function describeWait(state: WaitState, wait: Wait): string {
  if (!state.waiting) return `not waiting: ${state.why}`;
  return `waiting since ${state.since.toISOString()} (${state.hours} h; the rule waits ${wait.hours} h)`;
}

/**
 * Marks the ticket's current wait as handled by the rule (a run by hand), so the sweep does not
 * run the rule again for the same episode. Nothing when the ticket is not waiting.
 */
export async function recordFire(tx: Tx, ticketId: string, rule: { id: string; wait: Wait }): Promise<void> {
  const { since, waiting } = WAITS[rule.wait.for];
  await tx.query(
    `insert into rule_timer_fires (org_id, rule_id, ticket_id, since, fired_at)
     select t.org_id, $3::uuid, t.id, ${since}, now() from tickets t
      where t.org_id = $1::uuid and t.id = $2::uuid and t.merged_into_id is null and ${waiting}
     on conflict do nothing`,
    [tx.orgId, ticketId, rule.id],
  );
}
