import { randomUUID } from 'node:crypto';
import { addBusinessMinutes, type BusinessCalendar } from '../lib/business-time.js';
import type { AssignmentRow, EventRow, MessageRow, NoteRow, SeedPolicy, SlaEventRow } from './seed-rows.js';
import { dueAfter, NEVER, type SlaMetric } from './sla-clocks.js';
import type { Origin, Status } from './ticket-rules.js';

/**
 * One demo ticket's life as the timeline (seed-timeline.ts) lays it out: the steps, the rows each
 * leaves behind, and the SLA log the workers would have written for it (sla-clocks.ts's walk).
 */

const MIN = 60_000;

/** When the clock's target falls (db/sla.ts's walk), or null when it never does within the horizon. */
function dueWithin(
  start: Date,
  minutes: number,
  intervals: ReadonlyArray<[Date, Date | null]>,
  cal: BusinessCalendar | null,
): Date | null {
  const due = dueAfter(start, minutes, intervals, cal);
  return due === NEVER ? null : due;
}

/** Builds one ticket's life step by step; steps that would fall after `now` never happen. */
export class Life {
  readonly messages: MessageRow[] = [];
  readonly events: EventRow[] = [];
  readonly notes: NoteRow[] = [];
  readonly assignments: AssignmentRow[] = [];
  readonly sla: SlaEventRow[] = [];
  status: Status = 'open';
  statusChangedAt: Date;
  /** Open intervals (the SLA clocks run only while open). */
  readonly openIntervals: Array<[Date, Date | null]>;
  firstResponseAt: Date | null = null;
  lastPlayerAt: Date | null = null;
  lastStaffAt: Date | null = null;
  solvedAt: Date | null = null;
  closedAt: Date | null = null;
  closeReason: string | null = null;
  pendingSince: Date | null = null;
  reopenCount = 0;
  last: Date;

  /**
   * `horizon`: where this ticket's story stops. Now for most; earlier for the backlog, tickets the
   * team hasn't got to yet, so the demo's inbox has work in it and SLA clocks running.
   */
  constructor(
    readonly id: string,
    readonly createdAt: Date,
    readonly horizon: Date,
  ) {
    this.statusChangedAt = createdAt;
    this.last = createdAt;
    this.openIntervals = [[createdAt, null]];
  }

  fits(at: Date) {
    return at.getTime() < this.horizon.getTime();
  }

  event(type: string, actor: { type: EventRow['actorType']; id: string | null }, data: object, at: Date) {
    this.events.push({
      ticketId: this.id,
      type,
      actorType: actor.type,
      actorId: actor.id,
      data: data as Record<string, unknown>,
      createdAt: at,
    });
    if (at > this.last) this.last = at;
  }

  message(author: { type: 'user' | 'player'; id: string }, origin: Origin, body: string, at: Date) {
    const m: MessageRow = {
      id: randomUUID(),
      ticketId: this.id,
      authorType: author.type,
      authorUserId: author.type === 'user' ? author.id : null,
      authorPlayerId: author.type === 'player' ? author.id : null,
      origin,
      body,
      createdAt: at,
    };
    this.messages.push(m);
    if (author.type === 'user') {
      this.firstResponseAt ??= at;
      this.lastStaffAt = at;
    } else this.lastPlayerAt = at;
    this.event('message.created', author, { messageId: m.id, origin }, at);
  }

  setStatus(
    to: Status,
    actor: { type: EventRow['actorType']; id: string | null },
    at: Date,
    reason?: string,
  ) {
    const from = this.status;
    const type =
      to === 'closed'
        ? 'ticket.closed'
        : to === 'open' && (from === 'solved' || from === 'closed')
          ? 'ticket.reopened'
          : 'ticket.status_changed';
    this.status = to;
    this.statusChangedAt = at;
    if (to === 'open') {
      if (from === 'solved' || from === 'closed') this.reopenCount++;
      this.openIntervals.push([at, null]);
    } else if (from === 'open') {
      (this.openIntervals.at(-1) as [Date, Date | null])[1] = at;
    }
    if (to === 'pending') this.pendingSince = at;
    if (to === 'solved') this.solvedAt ??= at;
    else if (to !== 'closed') this.solvedAt = null;
    if (to === 'closed') {
      this.closedAt = at;
      this.closeReason = reason ?? null;
    } else this.closedAt = null;
    this.event(type, actor, { from, to, reason: reason ?? null }, at);
  }
}

/** Minutes of working time from `at` in the policy's calendar, as an instant. */
export const later = (at: Date, minutes: number, cal: BusinessCalendar | null) =>
  addBusinessMinutes(at, Math.max(1, Math.round(minutes)), cal) ?? new Date(at.getTime() + minutes * MIN);
export const afterMinutes = (at: Date, minutes: number) =>
  new Date(at.getTime() + Math.max(1, Math.round(minutes)) * MIN);

/**
 * The SLA log the workers would have written for this life: activate at the start of each cycle,
 * pause and resume around pending/on-hold, fulfil on the answer or the solve, and a breach at the
 * due time when it passed first (with its `ticket.sla_breached` history entry, as recordTimer
 * writes). Plus the ticket's denormalised next due time and first breach.
 */
export function slaHistory(
  life: Life,
  policy: SeedPolicy,
  now: Date,
): { rows: SlaEventRow[]; events: EventRow[]; dueAt: Date | null; breachedAt: Date | null } {
  const rows: SlaEventRow[] = [];
  const events: EventRow[] = [];
  const cal = policy.calendar;
  let breachedAt: Date | null = null;
  const nextDue: Date[] = [];
  const row = (metric: SlaMetric, kind: SlaEventRow['kind'], dueAt: Date | null, at: Date) =>
    rows.push({ ticketId: life.id, policyId: policy.id, metric, kind, dueAt, createdAt: at });
  /** A clock from `start` until `end` (null: still running now); breaches when due passes first. */
  const clock = (
    metric: SlaMetric,
    start: Date,
    minutes: number,
    end: Date | null,
    intervals: Array<[Date, Date | null]>,
  ) => {
    const due = dueWithin(start, minutes, intervals, cal);
    row(metric, 'activate', due, start);
    if (due && due < (end ?? now)) {
      row(metric, 'breach', due, due);
      events.push({
        ticketId: life.id,
        type: 'ticket.sla_breached',
        actorType: 'system',
        actorId: null,
        data: { metric, dueAt: due.toISOString(), policyId: policy.id },
        createdAt: due,
      });
      if (!breachedAt || due < breachedAt) breachedAt = due;
    } else if (due && !end && life.status === 'open') nextDue.push(due);
    if (end) row(metric, 'fulfil', null, end);
  };
  const final = life.closedAt ?? life.solvedAt;
  // First response: from creation to the first staff answer (or the solve, if none came).
  clock(
    'first_response',
    life.createdAt,
    policy.firstResponseMinutes,
    life.firstResponseAt ?? final,
    life.openIntervals,
  );
  // Next response: each player message that waited for an answer.
  const sorted = [...life.messages].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  for (const [i, m] of sorted.entries()) {
    if (m.authorType !== 'player' || !life.firstResponseAt || m.createdAt <= life.firstResponseAt) continue;
    const answer = sorted.slice(i + 1).find((x) => x.authorType === 'user');
    clock(
      'next_response',
      m.createdAt,
      policy.nextResponseMinutes,
      answer?.createdAt ?? final,
      life.openIntervals,
    );
  }
  // Resolution: runs only while open; pauses and resumes are logged where the status moved.
  clock('resolution', life.createdAt, policy.resolutionMinutes, final, life.openIntervals);
  for (const [a, b] of life.openIntervals) {
    if (b && b < (final ?? now) && b.getTime() !== final?.getTime()) row('resolution', 'pause', null, b);
    if (a > life.createdAt && (!final || a < final)) {
      row(
        'resolution',
        'resume',
        dueWithin(life.createdAt, policy.resolutionMinutes, life.openIntervals, cal),
        a,
      );
    }
  }
  rows.sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime());
  const dueAt = nextDue.length ? new Date(Math.min(...nextDue.map((d) => d.getTime()))) : null;
  return { rows, events, dueAt, breachedAt };
}
