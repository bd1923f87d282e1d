import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCalendar, deleteCalendar, setDefaultCalendar } from '../../db/sla-calendars.js';
import { slaSnapshot } from '../../db/sla-clocks.js';
import { createPolicy } from '../../db/sla-policies.js';
import { createTeam, deleteTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { manualClock } from '../../workers/clock.js';
import { jobIds } from '../../workers/jobs.js';
import { recomputeOrg, recomputeSla } from '../../workers/sla.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { testDeps, uniquePrefix } from './support.js';

// Deleting what a ticket's due time depends on (the default calendar, the team a policy is
// scoped to) moves that due time: the deletion tells the workers so, as an update would.

const db = useTestDb();
const clock = manualClock();
let env: ReturnType<typeof testDeps>;
beforeAll(() => {
  env = testDeps(db.app, uniquePrefix(), { clock });
});
afterAll(async () => {
  await env.close();
});

async function scene() {
  const org = await makeOrg(db.app);
  clock.set(new Date());
  const tx = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(db.app, org.orgId, fn);
  const lastOutboxId = async () => {
    const r = await db.admin.query<{ id: string }>(
      'select coalesce(max(id), 0) as id from outbox where org_id = $1',
      [org.orgId],
    );
    return Number(r.rows[0]?.id);
  };
  /** What the workers do with the `sla.settings_changed` event after `after`; undefined when there is none. */
  const settle = async (after: number, ticketId: string) => {
    const ev = await db.admin.query<{ id: string }>(
      `select id from outbox where org_id = $1 and id > $2 and event_type = 'sla.settings_changed' order by id limit 1`,
      [org.orgId, after],
    );
    const outboxId = ev.rows[0] ? Number(ev.rows[0].id) : undefined;
    if (outboxId === undefined) return undefined;
    await recomputeOrg(env.deps, { orgId: org.orgId, outboxId });
    const job = await env.deps.queues.get('timers').getJob(jobIds.slaRecomputeOrgTicket(outboxId, ticketId));
    await recomputeSla(env.deps, job?.data);
    return outboxId;
  };
  /** The stored next due time and the one the ticket's clocks give now. */
  const dues = async (ticketId: string) => {
    const stored = await db.admin.query<{ due: Date | null }>(
      'select sla_due_at as due from tickets where id = $1',
      [ticketId],
    );
    const snap = await tx((t) => slaSnapshot(t, ticketId));
    return { stored: stored.rows[0]?.due ?? null, real: snap.metrics[0]?.dueAt ?? null };
  };
  return { org, tx, lastOutboxId, settle, dues };
}

describe('deleting the default calendar', () => {
  it('recomputes due times in calendar time', async () => {
    const s = await scene();
    // Open one minute a week: an hour's target is more than a year of weeks away.
    const cal = await s.tx(async (t) => {
      const c = await createCalendar(
        t,
        { name: 'Barely', timezone: 'UTC', weeklyHours: { mon: [[540, 541]] }, holidays: [] },
        s.org.owner,
      );
      await setDefaultCalendar(t, c.id, s.org.owner);
      await createPolicy(t, { name: 'Any', priority: null, firstResponseMinutes: 60 }, s.org.owner);
      return c;
    });
    const { ticket } = await s.tx((t) =>
      openTicket(t, { subject: 'Crash', origin: 'discord' }, { type: 'system' }),
    );
    await recomputeSla(env.deps, { orgId: s.org.orgId, ticketId: ticket.id });
    const far = (await s.dues(ticket.id)).stored as Date;
    expect(far.getTime()).toBeGreaterThan(Date.now() + 300 * 24 * 3600_000);

    const before = await s.lastOutboxId();
    await s.tx((t) => deleteCalendar(t, cal.id, s.org.owner));
    expect(await s.settle(before, ticket.id)).toBeDefined();
    const { stored, real } = await s.dues(ticket.id);
    expect(real?.getTime()).toBeLessThan(Date.now() + 61 * 60_000);
    expect(stored?.getTime()).toBe(real?.getTime());
  });
});

describe('deleting a team a policy is scoped to', () => {
  it("recomputes its tickets' due times under the policy that applies now", async () => {
    const s = await scene();
    const team = await s.tx(async (t) => {
      const team = await createTeam(t, { name: 'Billing' }, s.org.owner);
      await createPolicy(
        t,
        { name: 'Billing', priority: null, teamId: team.id, firstResponseMinutes: 525_600, position: 0 },
        s.org.owner,
      );
      await createPolicy(
        t,
        { name: 'Any', priority: null, firstResponseMinutes: 60, position: 1 },
        s.org.owner,
      );
      return team;
    });
    const { ticket } = await s.tx((t) =>
      openTicket(t, { subject: 'Refund', origin: 'discord', teamId: team.id }, { type: 'system' }),
    );
    await recomputeSla(env.deps, { orgId: s.org.orgId, ticketId: ticket.id });
    expect(((await s.dues(ticket.id)).stored as Date).getTime()).toBeGreaterThan(
      Date.now() + 300 * 24 * 3600_000,
    );

    const before = await s.lastOutboxId();
    await s.tx((t) => deleteTeam(t, team.id, s.org.owner));
    expect(await s.settle(before, ticket.id)).toBeDefined();
    const { stored, real } = await s.dues(ticket.id);
    expect(real?.getTime()).toBeLessThan(Date.now() + 61 * 60_000);
    expect(stored?.getTime()).toBe(real?.getTime());
  });
});
