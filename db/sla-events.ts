import { recordChange } from './changes.js';
import type { MetricState, SlaMetric, SlaSnapshot } from './sla-clocks.js';
import type { Tx } from './tenant.js';

/**
 * The SLA log of tickets: `ticket_sla_events`, the append-only transitions of each clock
 * (activate, pause, resume, fulfil, warn, breach) as `slaSnapshot` (sla-clocks.ts) finds them,
 * `tickets.sla_due_at` kept in step with it, warnings and breaches recorded once per cycle, and
 * the sweep's reads.
 */

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
