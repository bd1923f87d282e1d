import { emitEvent } from './changes.js';
import type { Wait } from './rule-defs.js';
import { enabledRulesFor } from './rule-set.js';
import type { Tx } from './tenant.js';

/**
 * The time-based half of the rules: which tickets have waited long enough for a `ticket.waiting`
 * rule. A wait is an episode named by the time it started (the ticket went pending, or the
 * awaited side last wrote); `rule_timer_fires` holds one row per rule, ticket and episode, so a
 * ticket fires a rule once per episode however often the sweep passes, and again only after a
 * new episode starts (a reply, pending again).
 */

/** When the wait started, and which tickets are waiting at all, per kind (fixed SQL, no input). */
const WAITS: Record<Wait['for'], { since: string; waiting: string }> = {
  pending: { since: 't.pending_since', waiting: "t.status = 'pending' and t.pending_since is not null" },
  player_reply: {
    since: 'coalesce(t.last_player_message_at, t.created_at)',
    waiting: "t.status <> 'closed'",
  },
  staff_reply: {
    since: 't.last_player_message_at',
    waiting: `t.status <> 'closed' and t.last_player_message_at is not null
      and (t.last_staff_message_at is null or t.last_staff_message_at < t.last_player_message_at)`,
  },
};

/** At most this many tickets fire per rule and pass; the rest are found on the next pass. */
export const FIRES_PER_PASS = 500;

/**
 * Records the due waits of the caller's org as of `now` and emits one `rule.timer_due` event per
 * ticket and rule (the rules job runs that one rule on it), in the caller's transaction.
 */
export async function fireDueWaits(tx: Tx, now: Date): Promise<number> {
  let fired = 0;
  for (const rule of await enabledRulesFor(tx, 'ticket.waiting')) {
    if (!rule.wait) continue;
    const { since, waiting } = WAITS[rule.wait.for];
    const cutoff = new Date(now.getTime() - rule.wait.hours * 3_600_000);
    const r = await tx.query<{ id: string; since: Date }>(
      `with due as (
         select t.id, ${since} as since from tickets t
          where t.org_id = $1::uuid and t.merged_into_id is null and ${waiting}
            and ${since} <= $2::timestamptz
            and not exists (
              select 1 from rule_timer_fires f
               where f.org_id = t.org_id and f.rule_id = $3::uuid and f.ticket_id = t.id and f.since = ${since})
          order by 2 limit $4::int
       )
       insert into rule_timer_fires (org_id, rule_id, ticket_id, since, fired_at)
       select $1::uuid, $3::uuid, id, since, $5::timestamptz from due
       on conflict do nothing
       returning ticket_id as id, since`,
      [tx.orgId, cutoff, rule.id, FIRES_PER_PASS, now],
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
