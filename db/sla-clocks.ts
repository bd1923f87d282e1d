import { addBusinessMinutes, type BusinessCalendar, businessMinutesBetween } from '../lib/business-time.js';
import { AppError } from '../lib/errors.js';
import { recordChange } from './changes.js';
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
 * read and which makes "this breach was already recorded" a lookup.
 */

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

interface MetricState {
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

export interface SlaEventRow {
  id: number;
  metric: SlaMetric;
  kind: 'activate' | 'pause' | 'resume' | 'fulfil' | 'warn' | 'breach';
  dueAt: Date | null;
  policyId: string | null;
  createdAt: Date;
}

export async function slaEvents(tx: Tx, ticketId: string): Promise<SlaEventRow[]> {
  const r = await tx.query<SlaEventRow>(
    `select id, metric, kind, due_at as "dueAt", policy_id as "policyId", created_at as "createdAt"
     from ticket_sla_events where org_id = $1::uuid and ticket_id = $2::uuid order by id`,
    [tx.orgId, ticketId],
  );
  return r.rows;
}

const sameTime = (a: Date | null, b: Date | null) =>
  a === null || b === null ? a === b : Math.abs(new Date(a).getTime() - new Date(b).getTime()) < 1000;

/**
 * Appends the transitions between the logged state and `snap` (activate, pause, resume, fulfil;
 * a changed due time is a new activate) and keeps tickets.sla_due_at in step. Call with the
 * ticket locked (slaSnapshot with lock) so two recomputes cannot both append. Returns the due
 * times this superseded (the clock moved, paused or was fulfilled), whose timers can go.
 */
export async function recordTransitions(
  tx: Tx,
  snap: SlaSnapshot,
): Promise<Array<{ metric: SlaMetric; dueAt: Date }>> {
  const events = await slaEvents(tx, snap.ticketId);
  const rows: Array<[SlaMetric, SlaEventRow['kind'], Date | null]> = [];
  const superseded: Array<{ metric: SlaMetric; dueAt: Date }> = [];
  for (const m of snap.metrics) {
    const mine = events.filter((e) => e.metric === m.metric);
    const last = mine.at(-1);
    const running = last && last.kind !== 'fulfil' && last.kind !== 'pause';
    // The due time the clock last ran to (warn/breach rows repeat it; activate/resume set it).
    const lastDue = running
      ? mine.findLast((e) => e.kind === 'activate' || e.kind === 'resume')?.dueAt
      : null;
    if (lastDue && !(m.state === 'active' && sameTime(lastDue, m.dueAt))) {
      superseded.push({ metric: m.metric, dueAt: new Date(lastDue) });
    }
    if (m.state === 'active') {
      if (!last || last.kind === 'fulfil') rows.push([m.metric, 'activate', m.dueAt]);
      else if (last.kind === 'pause') rows.push([m.metric, 'resume', m.dueAt]);
      else if (!sameTime(last.dueAt, m.dueAt)) rows.push([m.metric, 'activate', m.dueAt]);
    } else if (m.state === 'paused' && running) {
      rows.push([m.metric, 'pause', null]);
    } else if (m.state === 'fulfilled' && last && last.kind !== 'fulfil') {
      rows.push([m.metric, 'fulfil', null]);
    }
  }
  if (rows.length) {
    await tx.query(
      `insert into ticket_sla_events (org_id, ticket_id, policy_id, metric, kind, due_at)
       select $1::uuid, $2::uuid, $3::uuid, m, k, d
       from unnest($4::text[], $5::text[], $6::timestamptz[]) as u(m, k, d)`,
      [
        tx.orgId,
        snap.ticketId,
        snap.policy?.id ?? null,
        rows.map((r) => r[0]),
        rows.map((r) => r[1]),
        rows.map((r) => r[2]),
      ],
    );
  }
  await syncNextDue(tx, snap, rows.length ? await slaEvents(tx, snap.ticketId) : events);
  return superseded;
}

/**
 * Whether a metric's cycle ends at a fulfil. Next response starts a new cycle at each player
 * message waiting for an answer, so a fulfil (the staff reply) closes one. First response and
 * resolution always count from the ticket's creation: a solve fulfils them, but a reopen resumes
 * the same cycle, and a breach recorded in it stays recorded (no second breach, no second
 * escalation).
 */
const cycleEndsAtFulfil = (metric: SlaMetric) => metric === 'next_response';

/** Whether the metric's current cycle (from `startedAt`; see cycleEndsAtFulfil) has a breach. */
function breachedInCycle(events: readonly SlaEventRow[], m: MetricState): boolean {
  const mine = events.filter((e) => e.metric === m.metric);
  const lastFulfil = cycleEndsAtFulfil(m.metric) ? mine.findLastIndex((e) => e.kind === 'fulfil') : -1;
  const since = m.startedAt ? new Date(m.startedAt).getTime() : Number.NEGATIVE_INFINITY;
  return mine.some(
    (e, i) => i > lastFulfil && e.kind === 'breach' && new Date(e.createdAt).getTime() >= since,
  );
}

/**
 * tickets.sla_due_at is the next due time: the earliest due time of an active metric that has not
 * breached yet (the API filters on it; a breach is in sla_breached_at). Leaving breached metrics
 * in would keep it in the past for good, and the sweep, which walks tickets by it, would keep
 * recomputing breached tickets instead of reaching those about to fall due.
 */
async function syncNextDue(tx: Tx, snap: SlaSnapshot, events: readonly SlaEventRow[]): Promise<void> {
  const dues = snap.metrics.flatMap((m) =>
    m.state === 'active' && m.dueAt && !breachedInCycle(events, m) ? [m.dueAt.getTime()] : [],
  );
  await tx.query(
    `update tickets set sla_due_at = $3::timestamptz where org_id = $1::uuid and id = $2::uuid
       and sla_due_at is distinct from $3::timestamptz`,
    [tx.orgId, snap.ticketId, dues.length ? new Date(Math.min(...dues)) : null],
  );
}

/**
 * Whether a warn/breach was already recorded in this metric's current cycle: not before
 * `cycleStart` and, for next response, after its last fulfil (see cycleEndsAtFulfil). Deliberately not keyed on the due time: an escalation (or a
 * policy change) that moves the due time must not fire the same breach again, or a breach that
 * raises the priority into a stricter, already-overdue policy would breach and escalate again.
 */
export async function timerRecorded(
  tx: Tx,
  ticketId: string,
  metric: SlaMetric,
  kind: 'warn' | 'breach',
  cycleStart: Date | null,
): Promise<boolean> {
  const r = await tx.query(
    `select 1 from ticket_sla_events e where e.org_id = $1::uuid and e.ticket_id = $2::uuid and e.metric = $3::text
       and e.kind = $4::text and e.created_at >= coalesce($5::timestamptz, '-infinity'::timestamptz)
       and (not $6::boolean or e.id > coalesce((select max(f.id) from ticket_sla_events f where f.org_id = e.org_id
         and f.ticket_id = e.ticket_id and f.metric = e.metric and f.kind = 'fulfil'), 0))
     limit 1`,
    [tx.orgId, ticketId, metric, kind, cycleStart, cycleEndsAtFulfil(metric)],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Logs a warning or breach: the SLA event, the ticket history entry and the outbox event. */
export async function recordTimer(
  tx: Tx,
  snap: SlaSnapshot,
  metric: SlaMetric,
  kind: 'warn' | 'breach',
  dueAt: Date,
  ticketSummary: Record<string, unknown>,
): Promise<void> {
  await tx.query(
    `insert into ticket_sla_events (org_id, ticket_id, policy_id, metric, kind, due_at)
     values ($1::uuid, $2::uuid, $3::uuid, $4::text, $5::text, $6::timestamptz)`,
    [tx.orgId, snap.ticketId, snap.policy?.id ?? null, metric, kind, dueAt],
  );
  if (kind === 'breach') {
    await tx.query(
      'update tickets set sla_breached_at = coalesce(sla_breached_at, now()) where org_id = $1::uuid and id = $2::uuid',
      [tx.orgId, snap.ticketId],
    );
    // The breached metric no longer counts for the next due time.
    await syncNextDue(tx, snap, await slaEvents(tx, snap.ticketId));
  }
  const type = kind === 'warn' ? 'ticket.sla_warning' : 'ticket.sla_breached';
  await recordChange(
    tx,
    { type: 'system' },
    {
      ticketId: snap.ticketId,
      action: type,
      data: { metric, dueAt: dueAt.toISOString(), policyId: snap.policy?.id ?? null },
      event: {
        type,
        aggregateType: 'ticket',
        aggregateId: snap.ticketId,
        payload: {
          ticket: ticketSummary,
          metric,
          dueAt: dueAt.toISOString(),
          policy: snap.policy ? { id: snap.policy.id, name: snap.policy.name } : null,
        },
      },
    },
  );
}

/**
 * Tickets whose next SLA due time lies in [notBefore, before): the SLA sweep recomputes them,
 * which re-creates any timer job Redis lost (recomputing is idempotent and records nothing
 * twice). Breached metrics do not count for sla_due_at, so a due time in the past means a timer
 * that has not fired; `notBefore` bounds how far back the sweep keeps trying.
 */
export async function ticketsDueBefore(
  tx: Tx,
  before: Date,
  notBefore: Date,
  limit = 1000,
): Promise<string[]> {
  const r = await tx.query<{ id: string }>(
    `select id from tickets where org_id = $1::uuid and sla_due_at >= $3::timestamptz and sla_due_at < $2::timestamptz
       and status not in ('solved', 'closed')
     order by sla_due_at limit $4::int`,
    [tx.orgId, before, notBefore, limit],
  );
  return r.rows.map((x) => x.id);
}

/** Open tickets (any unfinished status) after `afterId`, keyset-paged: for recomputing an org. */
export async function unfinishedTickets(tx: Tx, afterId: string | null, limit = 500): Promise<string[]> {
  const r = await tx.query<{ id: string }>(
    `select id from tickets where org_id = $1::uuid and status in ('open', 'pending', 'on_hold')
       and ($2::uuid is null or id > $2::uuid)
     order by id limit $3::int`,
    [tx.orgId, afterId, limit],
  );
  return r.rows.map((x) => x.id);
}
