import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCalendar, deleteCalendar } from '../../db/sla-calendars.js';
import { slaEvents, ticketsDueBefore } from '../../db/sla-clocks.js';
import { createPolicy, type SlaPolicy, updatePolicy } from '../../db/sla-policies.js';
import { createTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket, reply, setStatus } from '../../db/tickets.js';
import { addBusinessMinutes, businessMinutesBetween, zonedTimeToInstant } from '../../lib/business-time.js';
import { manualClock } from '../../workers/clock.js';
import { jobIds } from '../../workers/jobs.js';
import { startWorkerRuntime, type WorkerRuntime } from '../../workers/runtime.js';
import { fireSlaTimer, recomputeOrg, recomputeSla, slaSweep } from '../../workers/sla.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { box, logger, loopbackOnly, testDeps, uniquePrefix, until } from './support.js';

const db = useTestDb();
const clock = manualClock();
let env: ReturnType<typeof testDeps>;
beforeAll(() => {
  env = testDeps(db.app, uniquePrefix(), { clock });
});
afterAll(async () => {
  await env.close();
});

const BERLIN: { timezone: string; weeklyHours: Record<string, [number, number][]>; holidays: string[] } = {
  timezone: 'Europe/Berlin',
  weeklyHours: {
    mon: [[540, 1080]],
    tue: [[540, 1080]],
    wed: [[540, 1080]],
    thu: [[540, 1080]],
    fri: [[540, 1020]],
  },
  holidays: ['2026-12-25'],
};

describe('business time', () => {
  it('turns local wall times into instants across DST, including the gap and the overlap', () => {
    // Europe/Berlin leaves summer time on 2026-10-25 at 03:00 CEST -> 02:00 CET.
    expect(new Date(zonedTimeToInstant(2026, 10, 23, 9 * 60, 'Europe/Berlin')).toISOString()).toBe(
      '2026-10-23T07:00:00.000Z',
    );
    expect(new Date(zonedTimeToInstant(2026, 10, 26, 9 * 60, 'Europe/Berlin')).toISOString()).toBe(
      '2026-10-26T08:00:00.000Z',
    );
    // 02:30 happens twice on 25 Oct: the earlier (CEST) one is taken.
    expect(new Date(zonedTimeToInstant(2026, 10, 25, 150, 'Europe/Berlin')).toISOString()).toBe(
      '2026-10-25T00:30:00.000Z',
    );
    // 02:30 does not exist on 29 Mar: it reads as 03:30 CEST.
    expect(new Date(zonedTimeToInstant(2026, 3, 29, 150, 'Europe/Berlin')).toISOString()).toBe(
      '2026-03-29T01:30:00.000Z',
    );
    // New York springs forward on 2026-03-08.
    expect(new Date(zonedTimeToInstant(2026, 3, 9, 9 * 60, 'America/New_York')).toISOString()).toBe(
      '2026-03-09T13:00:00.000Z',
    );
  });

  it('adds working minutes over a weekend with a DST change and over a holiday', () => {
    // Friday 23 Oct 16:00 CEST + 2 h: one hour on Friday (until 17:00), one on Monday 9–10 CET.
    expect(addBusinessMinutes(new Date('2026-10-23T14:00:00Z'), 120, BERLIN)?.toISOString()).toBe(
      '2026-10-26T09:00:00.000Z',
    );
    // The same span counted back is two working hours, though 67 wall-clock hours passed.
    expect(
      businessMinutesBetween(new Date('2026-10-23T14:00:00Z'), new Date('2026-10-26T09:00:00Z'), BERLIN),
    ).toBe(120);
    // Thursday 24 Dec 17:00 CET + 2 h: 17–18 on Thursday, Friday 25 is a holiday, Monday 28 9–10.
    expect(addBusinessMinutes(new Date('2026-12-24T16:00:00Z'), 120, BERLIN)?.toISOString()).toBe(
      '2026-12-28T09:00:00.000Z',
    );
    // Starting at night counts from the next opening; no calendar means wall-clock time.
    expect(addBusinessMinutes(new Date('2026-10-27T02:00:00Z'), 30, BERLIN)?.toISOString()).toBe(
      '2026-10-27T08:30:00.000Z',
    );
    expect(addBusinessMinutes(new Date('2026-10-27T02:00:00Z'), 30, null)?.toISOString()).toBe(
      '2026-10-27T02:30:00.000Z',
    );
  });
});

describe('targets beyond the calendar horizon', () => {
  it('treats a target further than the walk can reach as never due instead of throwing', async () => {
    // 525,600 working minutes on 9–17 Monday to Friday is more than four years away.
    const office = {
      timezone: 'UTC',
      weeklyHours: { mon: [[540, 1020]] as [number, number][] },
      holidays: [],
    };
    expect(addBusinessMinutes(new Date('2026-10-23T14:00:00Z'), 525_600, office)).toBeNull();
    const s = await setup({ firstResponseMinutes: 525_600, resolutionMinutes: null, withCalendar: true });
    await withTenant(db.app, s.org.orgId, (tx) =>
      updatePolicy(
        tx,
        {
          id: s.policy.id,
          policy: {
            name: 'Slow',
            priority: 'normal',
            firstResponseMinutes: 525_600,
            warnBeforeMinutes: 60,
            businessCalendarId: s.policy.businessCalendarId,
          },
        },
        s.org.owner,
      ),
    );
    const t = await s.open();
    const snap = await recomputeSla(env.deps, { orgId: s.org.orgId, ticketId: t.id });
    expect(snap?.metrics[0]).toMatchObject({ metric: 'first_response', state: 'active', dueAt: null });
    const row = await db.admin.query('select sla_due_at from tickets where id = $1', [t.id]);
    expect(row.rows[0]?.sla_due_at).toBeNull();
  });
});

async function setup(policy: Partial<SlaPolicy> & { withCalendar?: boolean } = {}) {
  const org = await makeOrg(db.app);
  const cal = policy.withCalendar
    ? await withTenant(db.app, org.orgId, (tx) =>
        createCalendar(tx, { name: 'Berlin office', ...BERLIN }, org.owner),
      )
    : undefined;
  const team = await withTenant(db.app, org.orgId, (tx) =>
    createTeam(tx, { name: 'Escalations' }, org.owner),
  );
  const p = await withTenant(db.app, org.orgId, (tx) =>
    createPolicy(
      tx,
      {
        name: 'Normal',
        priority: policy.priority === undefined ? 'normal' : policy.priority,
        firstResponseMinutes: policy.firstResponseMinutes === undefined ? 120 : policy.firstResponseMinutes,
        nextResponseMinutes: policy.nextResponseMinutes ?? null,
        resolutionMinutes: policy.resolutionMinutes === undefined ? 600 : policy.resolutionMinutes,
        warnBeforeMinutes: policy.warnBeforeMinutes ?? null,
        businessCalendarId: cal?.id ?? null,
        escalatePriority: policy.escalatePriority ?? false,
        escalationTeamId: policy.escalationTeamId === undefined ? null : team.id,
      },
      org.owner,
    ),
  );
  const open = async (createdAt?: Date) => {
    const { ticket } = await withTenant(db.app, org.orgId, (tx) =>
      openTicket(tx, { subject: 'Stuck in loading screen', origin: 'discord' }, { type: 'system' }),
    );
    if (createdAt)
      await db.admin.query('update tickets set created_at = $2 where id = $1', [ticket.id, createdAt]);
    return ticket;
  };
  const events = (ticketId: string) => withTenant(db.app, org.orgId, (tx) => slaEvents(tx, ticketId));
  /** Moves the latest status-change history entry to `at` (status times are the clock's input). */
  const backdateLastStatus = (ticketId: string, at: Date) =>
    db.admin.query(
      `update ticket_events set created_at = $2 where id = (
         select max(id) from ticket_events where ticket_id = $1 and type in ('ticket.status_changed', 'ticket.reopened'))`,
      [ticketId, at],
    );
  return { org, policy: p, team, cal, open, events, backdateLastStatus };
}

describe('policies and calendars', () => {
  it('validates calendars and policies', async () => {
    const org = await makeOrg(db.app);
    await expect(
      withTenant(db.app, org.orgId, (tx) =>
        createCalendar(
          tx,
          { name: 'x', timezone: 'Mars/Olympus', weeklyHours: { mon: [[540, 1080]] } },
          org.owner,
        ),
      ),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(
      withTenant(db.app, org.orgId, (tx) =>
        createCalendar(
          tx,
          { name: 'x', timezone: 'UTC', weeklyHours: { mon: [[600, 540]] as [number, number][] } },
          org.owner,
        ),
      ),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(
      withTenant(db.app, org.orgId, (tx) => createPolicy(tx, { name: 'empty' }, org.owner)),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    const cal = await withTenant(db.app, org.orgId, (tx) =>
      createCalendar(
        tx,
        { name: 'UTC', timezone: 'UTC', weeklyHours: { mon: [[0, 1440]] }, holidays: ['2026-12-25'] },
        org.owner,
      ),
    );
    expect(cal.holidays).toEqual(['2026-12-25']);
    await withTenant(db.app, org.orgId, (tx) =>
      createPolicy(tx, { name: 'uses it', resolutionMinutes: 60, businessCalendarId: cal.id }, org.owner),
    );
    await expect(
      withTenant(db.app, org.orgId, (tx) => deleteCalendar(tx, cal.id, org.owner)),
    ).rejects.toMatchObject({ code: 'conflict' });
  });
});

describe('SLA clocks', () => {
  it('computes due times in business hours across a DST change and a holiday', async () => {
    const s = await setup({
      withCalendar: true,
      firstResponseMinutes: 120,
      resolutionMinutes: 600,
      warnBeforeMinutes: 30,
    });
    // Friday 23 Oct 2026 16:00 in Berlin (CEST), the weekend of the switch to CET.
    const t1 = await s.open(new Date('2026-10-23T14:00:00Z'));
    clock.set(new Date('2026-10-23T14:05:00Z'));
    const snap = await recomputeSla(env.deps, { orgId: s.org.orgId, ticketId: t1.id });
    const first = snap?.metrics.find((m) => m.metric === 'first_response');
    expect(first?.dueAt?.toISOString()).toBe('2026-10-26T09:00:00.000Z');
    expect(first?.warnAt?.toISOString()).toBe('2026-10-26T08:30:00.000Z');
    // 10 h: 1 h Fri, 9 h Mon (9–18 CET), so Monday 18:00 CET.
    expect(snap?.metrics.find((m) => m.metric === 'resolution')?.dueAt?.toISOString()).toBe(
      '2026-10-26T17:00:00.000Z',
    );
    // Timers are delayed jobs named by ticket, metric and due time.
    const timers = env.deps.queues.get('timers');
    const breach = await timers.getJob(
      jobIds.slaFire(t1.id, 'first_response', 'breach', new Date('2026-10-26T09:00:00Z')),
    );
    expect(breach?.opts.delay).toBe(new Date('2026-10-26T09:00:00Z').getTime() - clock.now().getTime());
    expect(
      await timers.getJob(jobIds.slaFire(t1.id, 'first_response', 'warn', new Date('2026-10-26T09:00:00Z'))),
    ).toBeDefined();

    // Christmas Eve 17:00 CET: the holiday on Friday is skipped.
    const t2 = await s.open(new Date('2026-12-24T16:00:00Z'));
    const snap2 = await recomputeSla(env.deps, { orgId: s.org.orgId, ticketId: t2.id });
    expect(snap2?.metrics.find((m) => m.metric === 'first_response')?.dueAt?.toISOString()).toBe(
      '2026-12-28T09:00:00.000Z',
    );
    const log = await s.events(t2.id);
    expect(log.map((e) => [e.metric, e.kind])).toEqual([
      ['first_response', 'activate'],
      ['resolution', 'activate'],
    ]);
    // Recomputing with nothing changed appends nothing.
    await recomputeSla(env.deps, { orgId: s.org.orgId, ticketId: t2.id });
    expect(await s.events(t2.id)).toHaveLength(2);
  });

  it('pauses in pending and on hold and resumes with the remaining time', async () => {
    const s = await setup({ firstResponseMinutes: null, resolutionMinutes: 60 });
    const t0 = new Date(Date.now() - 3600_000);
    const t = await s.open(t0);
    const run = () => recomputeSla(env.deps, { orgId: s.org.orgId, ticketId: t.id });
    const resolution = async () => (await run())?.metrics.find((m) => m.metric === 'resolution');
    expect((await resolution())?.dueAt?.getTime()).toBe(t0.getTime() + 60 * 60_000);

    await withTenant(db.app, s.org.orgId, (tx) =>
      setStatus(tx, { ticketId: t.id, status: 'pending' }, s.org.owner),
    );
    await s.backdateLastStatus(t.id, new Date(t0.getTime() + 10 * 60_000));
    expect(await resolution()).toMatchObject({ state: 'paused', dueAt: null });

    await withTenant(db.app, s.org.orgId, (tx) =>
      setStatus(tx, { ticketId: t.id, status: 'on_hold' }, s.org.owner),
    );
    await s.backdateLastStatus(t.id, new Date(t0.getTime() + 20 * 60_000));
    expect(await resolution()).toMatchObject({ state: 'paused' });

    await withTenant(db.app, s.org.orgId, (tx) =>
      setStatus(tx, { ticketId: t.id, status: 'open' }, s.org.owner),
    );
    await s.backdateLastStatus(t.id, new Date(t0.getTime() + 40 * 60_000));
    // 10 min used before the pause, 50 left from the resume at +40: due at +90.
    expect((await resolution())?.dueAt?.getTime()).toBe(t0.getTime() + 90 * 60_000);

    await withTenant(db.app, s.org.orgId, (tx) =>
      setStatus(tx, { ticketId: t.id, status: 'solved' }, s.org.owner),
    );
    expect(await resolution()).toMatchObject({ state: 'fulfilled' });
    expect((await s.events(t.id)).map((e) => e.kind)).toEqual(['activate', 'pause', 'resume', 'fulfil']);
  });

  it('fulfils first response on a staff reply and runs next response on each player message', async () => {
    const s = await setup({
      firstResponseMinutes: 30,
      nextResponseMinutes: 20,
      resolutionMinutes: null,
    });
    const player = await withTenant(db.app, s.org.orgId, async (tx) => {
      const r = await tx.query<{ id: string }>(
        `insert into player_profiles (org_id, display_name) values ($1, 'P') returning id`,
        [tx.orgId],
      );
      return { type: 'player' as const, id: r.rows[0]?.id as string };
    });
    const t = await s.open();
    const run = async () => (await recomputeSla(env.deps, { orgId: s.org.orgId, ticketId: t.id }))?.metrics;
    expect((await run())?.map((m) => m.state)).toEqual(['active', 'none', 'none']);
    await withTenant(db.app, s.org.orgId, (tx) =>
      reply(tx, { ticketId: t.id, body: 'Hi!', origin: 'panel' }, s.org.owner),
    );
    expect((await run())?.map((m) => m.state)).toEqual(['fulfilled', 'fulfilled', 'none']);
    // Someone other than the ticket's player writing in its Discord forum post waits for nothing.
    await withTenant(db.app, s.org.orgId, async (tx) => {
      const r = await tx.query<{ id: string }>(
        `insert into player_profiles (org_id, display_name) values ($1, 'Bystander') returning id`,
        [tx.orgId],
      );
      await reply(
        tx,
        {
          ticketId: t.id,
          body: 'same here',
          origin: 'discord',
          externalId: '1234567890123456789',
          participant: true,
        },
        { type: 'player', id: r.rows[0]?.id as string },
      );
    });
    expect((await run())?.map((m) => m.state)).toEqual(['fulfilled', 'fulfilled', 'none']);
    await withTenant(db.app, s.org.orgId, (tx) =>
      reply(tx, { ticketId: t.id, body: 'Still broken', origin: 'game' }, player),
    );
    const m = await run();
    expect(m?.[1]?.state).toBe('active');
    // A first-response timer fired now finds its clock gone: nothing is recorded.
    const stale = await fireSlaTimer(env.deps, {
      orgId: s.org.orgId,
      ticketId: t.id,
      metric: 'first_response',
      kind: 'breach',
      dueAt: new Date().toISOString(),
    });
    expect(stale).toBe('stale');
  });

  it('records a warning, then a breach with escalation, each exactly once', async () => {
    // Any priority, so the same policy still applies after the escalation raised it.
    const s = await setup({
      priority: null,
      firstResponseMinutes: 60,
      warnBeforeMinutes: 15,
      escalatePriority: true,
      escalationTeamId: 'x' as never,
    });
    const t0 = new Date(Date.now() - 5 * 60_000);
    const t = await s.open(t0);
    const snap = await recomputeSla(env.deps, { orgId: s.org.orgId, ticketId: t.id });
    const dueAt = (snap?.metrics[0]?.dueAt ?? new Date(0)).toISOString();
    const fire = (kind: 'warn' | 'breach') =>
      fireSlaTimer(env.deps, { orgId: s.org.orgId, ticketId: t.id, metric: 'first_response', kind, dueAt });
    clock.set(new Date(t0.getTime() + 10 * 60_000));
    await expect(fire('warn')).rejects.toThrow(/early/);
    clock.set(new Date(t0.getTime() + 45 * 60_000));
    expect(await fire('warn')).toBe('recorded');
    expect(await fire('warn')).toBe('duplicate');
    clock.set(new Date(t0.getTime() + 60 * 60_000));
    expect(await fire('breach')).toBe('recorded');
    expect(await fire('breach')).toBe('duplicate');
    const out = await db.admin.query<{ event_type: string; payload: Record<string, unknown> }>(
      `select event_type, payload from outbox where aggregate_id = $1 and event_type like 'ticket.%' order by id`,
      [t.id],
    );
    expect(out.rows.map((r) => r.event_type)).toEqual([
      'ticket.created',
      'ticket.sla_warning',
      'ticket.sla_breached',
      'ticket.priority_changed',
      'ticket.assigned',
    ]);
    expect(out.rows[2]?.payload).toMatchObject({ metric: 'first_response', dueAt });
    const history = await db.admin.query<{ type: string }>(
      `select type from ticket_events where ticket_id = $1 and type like 'ticket.sla%' order by id`,
      [t.id],
    );
    expect(history.rows.map((r) => r.type)).toEqual(['ticket.sla_warning', 'ticket.sla_breached']);
    const ticket = await db.admin.query(
      'select priority, team_id, sla_breached_at from tickets where id = $1',
      [t.id],
    );
    expect(ticket.rows[0]).toMatchObject({ priority: 'high', team_id: s.team.id });
    expect(ticket.rows[0]?.sla_breached_at).not.toBeNull();
    expect((await s.events(t.id)).filter((e) => e.kind === 'breach')).toHaveLength(1);
  });
});

describe('escalation', () => {
  it('does not cascade: a breach that raises the priority into a stricter, already-overdue policy fires no second breach', async () => {
    const s = await setup({
      priority: 'normal',
      firstResponseMinutes: 60,
      resolutionMinutes: null,
      escalatePriority: true,
    });
    // High priority: 30 minutes, counted from creation, so already overdue when the escalation lands.
    await withTenant(db.app, s.org.orgId, (tx) =>
      createPolicy(
        tx,
        { name: 'High', priority: 'high', firstResponseMinutes: 30, escalatePriority: true, position: 1 },
        s.org.owner,
      ),
    );
    const t0 = new Date(Date.now() - 5 * 60_000);
    const t = await s.open(t0);
    const snap = await recomputeSla(env.deps, { orgId: s.org.orgId, ticketId: t.id });
    const dueAt = (snap?.metrics[0]?.dueAt ?? new Date(0)).toISOString();
    clock.set(new Date(t0.getTime() + 61 * 60_000));
    const fire = (d: string) =>
      fireSlaTimer(env.deps, {
        orgId: s.org.orgId,
        ticketId: t.id,
        metric: 'first_response',
        kind: 'breach',
        dueAt: d,
      });
    expect(await fire(dueAt)).toBe('recorded');
    // The escalation's own events recompute the clock under the high-priority policy.
    const after = await recomputeSla(env.deps, { orgId: s.org.orgId, ticketId: t.id });
    const newDue = after?.metrics[0]?.dueAt as Date;
    expect(newDue.getTime()).toBe(t0.getTime() + 30 * 60_000);
    // No breach timer is scheduled for the new due time, and firing it anyway records nothing.
    const timers = env.deps.queues.get('timers');
    expect(await timers.getJob(jobIds.slaFire(t.id, 'first_response', 'breach', newDue))).toBeUndefined();
    expect(await fire(newDue.toISOString())).toBe('duplicate');
    const ticket = await db.admin.query<{ priority: string }>('select priority from tickets where id = $1', [
      t.id,
    ]);
    expect(ticket.rows[0]?.priority).toBe('high');
    expect((await s.events(t.id)).filter((e) => e.kind === 'breach')).toHaveLength(1);
  });
});

describe('late warnings', () => {
  it('neither schedules nor records a warning once its due time has passed', async () => {
    const s = await setup({ firstResponseMinutes: 60, resolutionMinutes: null, warnBeforeMinutes: 15 });
    const t0 = new Date(Date.now() - 2 * 3600_000);
    const t = await s.open(t0);
    clock.set(new Date());
    const snap = await recomputeSla(env.deps, { orgId: s.org.orgId, ticketId: t.id });
    const dueAt = snap?.metrics[0]?.dueAt as Date;
    const timers = env.deps.queues.get('timers');
    expect(await timers.getJob(jobIds.slaFire(t.id, 'first_response', 'breach', dueAt))).toBeDefined();
    expect(await timers.getJob(jobIds.slaFire(t.id, 'first_response', 'warn', dueAt))).toBeUndefined();
    const fire = (kind: 'warn' | 'breach') =>
      fireSlaTimer(env.deps, {
        orgId: s.org.orgId,
        ticketId: t.id,
        metric: 'first_response',
        kind,
        dueAt: dueAt.toISOString(),
      });
    // A warning job left from earlier that runs before the breach job says nothing either.
    expect(await fire('warn')).toBe('stale');
    expect(await fire('breach')).toBe('recorded');
    expect((await s.events(t.id)).filter((e) => e.kind === 'warn')).toHaveLength(0);
  });
});

describe('policy changes', () => {
  it('recomputes the open tickets of the org when a policy changes', async () => {
    const s = await setup({ firstResponseMinutes: 60, resolutionMinutes: null });
    const t = await s.open(new Date(Date.now() - 10 * 60_000));
    const before = (await recomputeSla(env.deps, { orgId: s.org.orgId, ticketId: t.id }))?.metrics[0]?.dueAt;
    await withTenant(db.app, s.org.orgId, (tx) =>
      updatePolicy(
        tx,
        { id: s.policy.id, policy: { name: 'Faster', priority: 'normal', firstResponseMinutes: 30 } },
        s.org.owner,
      ),
    );
    const ev = await db.admin.query<{ id: number }>(
      `select id from outbox where org_id = $1 and event_type = 'sla.settings_changed' order by id desc limit 1`,
      [s.org.orgId],
    );
    const outboxId = Number(ev.rows[0]?.id);
    expect(await recomputeOrg(env.deps, { orgId: s.org.orgId, outboxId })).toBe(1);
    const job = await env.deps.queues.get('timers').getJob(jobIds.slaRecomputeOrgTicket(outboxId, t.id));
    expect(job?.data).toEqual({ orgId: s.org.orgId, ticketId: t.id });
    const after = (await recomputeSla(env.deps, job?.data))?.metrics[0]?.dueAt;
    expect((before as Date).getTime() - (after as Date).getTime()).toBe(30 * 60_000);
    // The superseded timer is removed rather than left in Redis until its old due time.
    const timers = env.deps.queues.get('timers');
    expect(
      await timers.getJob(jobIds.slaFire(t.id, 'first_response', 'breach', before as Date)),
    ).toBeUndefined();
    expect(
      await timers.getJob(jobIds.slaFire(t.id, 'first_response', 'breach', after as Date)),
    ).toBeDefined();
    expect((await s.events(t.id)).map((e) => e.kind)).toEqual(['activate', 'activate']);
  });
});

describe('SLA sweep', () => {
  it('re-creates a timer job that Redis lost', async () => {
    const s = await setup({ firstResponseMinutes: 30, resolutionMinutes: null });
    const t = await s.open(new Date(Date.now() - 25 * 60_000));
    clock.set(new Date());
    const snap = await recomputeSla(env.deps, { orgId: s.org.orgId, ticketId: t.id });
    const dueAt = snap?.metrics[0]?.dueAt ?? new Date(0);
    const timers = env.deps.queues.get('timers');
    const fireId = jobIds.slaFire(t.id, 'first_response', 'breach', dueAt);
    await (await timers.getJob(fireId))?.remove();
    expect(await timers.getJob(fireId)).toBeUndefined();
    expect(await slaSweep(env.deps)).toBeGreaterThanOrEqual(1);
    const recompute = (await timers.getJobs(['waiting', 'prioritized'])).find(
      (j) => j.name === 'sla.recompute' && j.data.ticketId === t.id,
    );
    expect(recompute?.id).toMatch(/^ss-/);
    await recomputeSla(env.deps, recompute?.data);
    expect((await timers.getJob(fireId))?.data).toMatchObject({ ticketId: t.id, kind: 'breach' });
  });
});

describe('SLA sweep and breached tickets', () => {
  it('moves sla_due_at past a breached metric so the sweep reaches tickets about to fall due', async () => {
    const s = await setup({ firstResponseMinutes: 30, resolutionMinutes: 600 });
    clock.set(new Date());
    const old = await s.open(new Date(Date.now() - 60 * 60_000));
    const snap = await recomputeSla(env.deps, { orgId: s.org.orgId, ticketId: old.id });
    const firstDue = snap?.metrics[0]?.dueAt as Date;
    expect(
      await fireSlaTimer(env.deps, {
        orgId: s.org.orgId,
        ticketId: old.id,
        metric: 'first_response',
        kind: 'breach',
        dueAt: firstDue.toISOString(),
      }),
    ).toBe('recorded');
    const row = await db.admin.query<{ sla_due_at: Date; sla_breached_at: Date | null }>(
      'select sla_due_at, sla_breached_at from tickets where id = $1',
      [old.id],
    );
    // Next due is the resolution clock; the breach is kept in sla_breached_at.
    expect(row.rows[0]?.sla_due_at.getTime()).toBe(snap?.metrics[2]?.dueAt?.getTime());
    expect(row.rows[0]?.sla_breached_at).not.toBeNull();
    const soon = await s.open(new Date(Date.now() - 25 * 60_000));
    await recomputeSla(env.deps, { orgId: s.org.orgId, ticketId: soon.id });
    const due = await withTenant(db.app, s.org.orgId, (tx) =>
      ticketsDueBefore(tx, new Date(Date.now() + 10 * 60_000), new Date(Date.now() - 24 * 3600_000), 1),
    );
    expect(due).toEqual([soon.id]);
  });
});

describe('timers across a restart', () => {
  let runtime: WorkerRuntime | undefined;
  afterEach(async () => {
    await runtime?.stop();
    runtime = undefined;
  });

  it('a breach scheduled by one worker fires once on the next', async () => {
    const s = await setup({ firstResponseMinutes: 1, resolutionMinutes: null });
    // Due a minute ago. The first worker's clock runs ten minutes behind, so it schedules the
    // breach nine minutes out: it cannot fire before that worker stops, however loaded the machine.
    const t = await s.open(new Date(Date.now() - 2 * 60_000));
    const prefix = uniquePrefix();
    const start = (clock?: ReturnType<typeof manualClock>) =>
      startWorkerRuntime({
        pool: db.app,
        redisUrl: inject('services').redisUrl,
        logger,
        box,
        webhookTargets: loopbackOnly,
        prefix,
        schedulers: false,
        relay: { pollMs: 100 },
        ...(clock ? { clock } : {}),
      });
    runtime = await start(manualClock(new Date(Date.now() - 10 * 60_000)));
    const job = await until(async () => {
      const jobs = await runtime?.queues.get('timers').getDelayed();
      return jobs?.find((j) => j.name === 'sla.fire' && j.data.kind === 'breach' && j.data.ticketId === t.id);
    });
    expect(job.delay).toBeGreaterThan(8 * 60_000);
    await runtime.stop();
    // The next worker, on the real clock, finds the job in Redis; its nine minutes are let pass at
    // once (BullMQ's promote: due now), and it fires as it would have then.
    runtime = await start();
    const timers = runtime.queues.get('timers');
    expect(await timers.getJobState(job.id as string)).toBe('delayed');
    await (await timers.getJob(job.id as string))?.promote();
    await until(async () => (await s.events(t.id)).some((e) => e.kind === 'breach'));
    // Firing the same timer again, as a redelivered job would, changes nothing (on a clock past
    // the due time, as the redelivered job's worker would have).
    clock.set(new Date());
    expect(await fireSlaTimer(env.deps, job.data)).toBe('duplicate');
    await runtime.queues.get('timers').add('sla.fire', job.data, { jobId: `${job.id}-again` });
    await until(async () => (await runtime?.queues.get('timers').getJob(`${job.id}-again`))?.finishedOn);
    expect((await s.events(t.id)).filter((e) => e.kind === 'breach')).toHaveLength(1);
    const out = await db.admin.query(
      `select 1 from outbox where aggregate_id = $1 and event_type = 'ticket.sla_breached'`,
      [t.id],
    );
    expect(out.rowCount).toBe(1);
  });
  it('a breach whose worker is killed while firing it is recorded once by the next worker', async () => {
    const s = await setup({ firstResponseMinutes: 1, resolutionMinutes: null });
    const t = await s.open(new Date(Date.now() - 2 * 60_000));
    const prefix = uniquePrefix();
    // Schedules the (already due) breach as a job in this prefix; nothing processes it yet.
    const producer = testDeps(db.app, prefix, { clock: { now: () => new Date() } });
    await recomputeSla(producer.deps, { orgId: s.org.orgId, ticketId: t.id });
    // Hold the ticket's row so the worker's fire blocks inside its transaction.
    const holder = await db.admin.connect();
    await holder.query('begin');
    await holder.query('select 1 from tickets where id = $1 for update', [t.id]);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./crash-worker.ts', import.meta.url))],
      {
        env: {
          PATH: process.env.PATH,
          CRASH_DATABASE_URL: db.appUrl,
          CRASH_REDIS_URL: inject('services').redisUrl,
          CRASH_PREFIX: prefix,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const timers = producer.deps.queues.get('timers');
      const active = await until(async () => (await timers.getActive()).find((j) => j.name === 'sla.fire'));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      await holder.query('commit');
      // The job's lock lapses and the next worker takes the stalled job up again.
      runtime = await startWorkerRuntime({
        pool: db.app,
        redisUrl: inject('services').redisUrl,
        logger,
        box,
        webhookTargets: loopbackOnly,
        prefix,
        schedulers: false,
        relay: { enabled: false },
        stalled: { lockDurationMs: 2_000, checkEveryMs: 500 },
      });
      await until(async () => (await timers.getJob(active.id as string))?.finishedOn, 30_000);
      expect(await timers.getJobState(active.id as string)).toBe('completed');
      expect((await s.events(t.id)).filter((e) => e.kind === 'breach')).toHaveLength(1);
      const out = await db.admin.query(
        `select 1 from outbox where aggregate_id = $1 and event_type = 'ticket.sla_breached'`,
        [t.id],
      );
      expect(out.rowCount).toBe(1);
    } finally {
      child.kill('SIGKILL');
      await holder.query('rollback').catch(() => {});
      holder.release();
      await producer.close();
    }
  }, 60_000);
});
