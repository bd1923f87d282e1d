import { addBusinessMinutes, type BusinessCalendar, businessMinutesBetween } from '../lib/business-time.js';
import { AppError } from '../lib/errors.js';
import { policyColumns, type SlaPolicy } from './sla-policies.js';
import type { Tx } from './tenant.js';
import type { Priority, Status } from './ticket-rules.js';

/**
 * The SLA clocks of tickets (policies: sla-policies.ts; calendars: sla-calendars.ts).
 *
 * The clocks are derived, never stored as mutable state: a ticket's status history
 * (ticket_events) and its message times give, for each metric, whether it runs, is paused or is
 * fulfilled and when it falls due. `ticket_sla_events` is the append-only log of transitions
 * (activate, pause, resume, fulfil, warn, breach) written as they are observed, which analytics
 * read and which makes "this breach was already recorded" a lookup (sla-events.ts, re-exported
 * here).
 */

export {
  recordTimer,
  recordTransitions,
  type SlaEventRow,
  slaEvents,
  ticketsDueBefore,
  timerRecorded,
  unfinishedTickets,
} from './sla-events.js';

export const SLA_METRICS = ['first_response', 'next_response', 'resolution'] as const;
export type SlaMetric = (typeof SLA_METRICS)[number];

interface TicketFacts {
  id: string;
  status: Status;
  priority: Priority;
  categoryId: string | null;
  teamId: string | null;
  createdAt: Date;
  firstResponseAt: Date | null;
  lastStaffMessageAt: Date | null;
  /** The first player message still waiting for a staff reply (next response starts here). */
  waitingSince: Date | null;
  /** Policy and calendar, joined in. */
  policy: SlaPolicy | null;
  calendar: BusinessCalendar | null;
}

export interface MetricState {
  metric: SlaMetric;
  state: 'active' | 'paused' | 'fulfilled' | 'none';
  dueAt: Date | null;
  warnAt: Date | null;
  /**
   * When the clock's current cycle started (ticket creation; for next response the player message
   * that is waiting): a warning or breach is recorded once per cycle, whatever the due time.
   */
  startedAt?: Date;
}

export interface SlaSnapshot {
  ticketId: string;
  policy: SlaPolicy | null;
  metrics: MetricState[];
}

async function loadFacts(tx: Tx, ticketId: string, lock: boolean): Promise<TicketFacts | undefined> {
  const r = await tx.query<Omit<TicketFacts, 'policy' | 'calendar'>>(
    `select t.id, t.status, t.priority, t.category_id as "categoryId", t.team_id as "teamId", t.created_at as "createdAt",
       t.first_response_at as "firstResponseAt", t.last_staff_message_at as "lastStaffMessageAt",
       (select min(m.created_at) from messages m where m.org_id = t.org_id and m.ticket_id = t.id
          -- the player's own (or a merged ticket's player's): a participant's message, someone staff
          -- added or a bystander in a public forum post, wakes no response clock (participants.ts)
          and m.author_kind = 'player' and m.deleted_at is null
          and m.created_at > coalesce(t.last_staff_message_at, '-infinity'::timestamptz)) as "waitingSince"
     from tickets t where t.org_id = $1::uuid and t.id = $2::uuid ${lock ? 'for update' : ''}`,
    [tx.orgId, ticketId],
  );
  const t = r.rows[0];
  if (!t) return undefined;
  const p = await tx.query<SlaPolicy & { calendar: BusinessCalendar | null }>(
    `select ${policyColumns('p.')},
       (select json_build_object('timezone', c.timezone, 'weeklyHours', c.weekly_hours,
          'holidays', coalesce((select json_agg(to_char(h, 'YYYY-MM-DD')) from unnest(c.holidays) h), '[]'))
        from business_calendars c
        where c.org_id = p.org_id and c.id = coalesce(p.business_calendar_id,
          (select o.business_calendar_id from organizations o where o.id = p.org_id))) as calendar
     from sla_policies p
     where p.org_id = $1::uuid and p.enabled
       and (p.priority is null or p.priority = $2::text)
       and (p.category_id is null or p.category_id = $3::uuid)
       and (p.team_id is null or p.team_id = $4::uuid)
     order by p.position, p.created_at, p.id limit 1`,
    [tx.orgId, t.priority, t.categoryId, t.teamId],
  );
  const row = p.rows[0];
  if (!row) return { ...t, policy: null, calendar: null };
  const { calendar, ...policy } = row;
  return { ...t, policy, calendar };
}

/** Intervals in which the ticket was open (the only state in which SLA clocks run). */
async function runningIntervals(tx: Tx, t: TicketFacts): Promise<Array<[Date, Date | null]>> {
  const r = await tx.query<{ to: Status; at: Date }>(
    `select case when type = 'ticket.merged' then 'closed' else data->>'to' end as "to", created_at as at
     from ticket_events where org_id = $1::uuid and ticket_id = $2::uuid
       and type in ('ticket.status_changed', 'ticket.closed', 'ticket.reopened', 'ticket.merged')
     order by id`,
    [tx.orgId, t.id],
  );
  const out: Array<[Date, Date | null]> = [];
  let openSince: Date | null = new Date(t.createdAt);
  for (const ev of r.rows) {
    if (ev.to === 'open') openSince ??= new Date(ev.at);
    else if (openSince) {
      out.push([openSince, new Date(ev.at)]);
      openSince = null;
    }
  }
  if (openSince) out.push([openSince, null]);
  return out;
}

/** A clock whose target lies beyond the business-time horizon: it runs but never falls due. */
export const NEVER = 'never' as const;

/**
 * When `minutes` of running time have passed since `start`, counting only the running intervals
 * in the calendar's working hours. Null while the clock is stopped short of the target; `NEVER`
 * when the target lies beyond the calendar walk's horizon.
 */
export function dueAfter(
  start: Date,
  minutes: number,
  intervals: ReadonlyArray<[Date, Date | null]>,
  cal: BusinessCalendar | null,
): Date | null | typeof NEVER {
  let left = minutes;
  for (const [a, b] of intervals) {
    if (b && b <= start) continue;
    const from = a > start ? a : start;
    const due = addBusinessMinutes(from, left, cal);
    if (due && (!b || due <= b)) return due;
    if (!b) return NEVER;
    left -= businessMinutesBetween(from, b, cal);
    if (left <= 0) return b;
  }
  return null;
}

/** The ticket's SLA clocks as of now (pure reads). */
export async function slaSnapshot(
  tx: Tx,
  ticketId: string,
  opts: { lock?: boolean } = {},
): Promise<SlaSnapshot> {
  const t = await loadFacts(tx, ticketId, opts.lock ?? false);
  if (!t) throw new AppError('not_found', 'ticket not found');
  const policy = t.policy;
  const none = (metric: SlaMetric): MetricState => ({ metric, state: 'none', dueAt: null, warnAt: null });
  if (!policy) return { ticketId, policy, metrics: SLA_METRICS.map(none) };
  const intervals = await runningIntervals(tx, t);
  const running = t.status === 'open';
  const final = t.status === 'solved' || t.status === 'closed';
  const warnBefore = policy.warnBeforeMinutes ?? 0;
  const clock = (metric: SlaMetric, start: Date, target: number | null): MetricState => {
    if (!target) return none(metric);
    const dueAt = dueAfter(start, target, intervals, t.calendar);
    if (!dueAt || !running) return { metric, state: 'paused', dueAt: null, warnAt: null, startedAt: start };
    if (dueAt === NEVER) return { metric, state: 'active', dueAt: null, warnAt: null, startedAt: start };
    const warnFrom =
      warnBefore > 0 ? dueAfter(start, Math.max(target - warnBefore, 0), intervals, t.calendar) : null;
    const warnAt = warnBefore > 0 ? (warnFrom === NEVER ? null : (warnFrom ?? start)) : null;
    return { metric, state: 'active', dueAt, warnAt, startedAt: start };
  };
  const fulfilled = (metric: SlaMetric): MetricState => ({
    metric,
    state: 'fulfilled',
    dueAt: null,
    warnAt: null,
  });

  const first =
    t.firstResponseAt || final
      ? fulfilled('first_response')
      : clock('first_response', new Date(t.createdAt), policy.firstResponseMinutes);
  const next =
    !t.firstResponseAt || !policy.nextResponseMinutes
      ? none('next_response')
      : t.waitingSince && !final
        ? clock('next_response', new Date(t.waitingSince), policy.nextResponseMinutes)
        : fulfilled('next_response');
  const resolution = final
    ? fulfilled('resolution')
    : clock('resolution', new Date(t.createdAt), policy.resolutionMinutes);
  return {
    ticketId,
    policy,
    metrics: [
      policy.firstResponseMinutes ? first : none('first_response'),
      next,
      policy.resolutionMinutes ? resolution : none('resolution'),
    ],
  };
}
