import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slaEvents } from '../../db/sla-clocks.js';
import { createPolicy } from '../../db/sla-policies.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket, setStatus } from '../../db/tickets.js';
import { manualClock } from '../../workers/clock.js';
import { jobIds } from '../../workers/jobs.js';
import { fireSlaTimer, recomputeSla } from '../../workers/sla.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { testDeps, uniquePrefix } from './support.js';

// First response and resolution count from the ticket's creation, so a reopened ticket is still
// in the cycle it breached in: the breach (and its escalation) happened once and stays done.

const db = useTestDb();
const clock = manualClock();
let env: ReturnType<typeof testDeps>;
beforeAll(() => {
  env = testDeps(db.app, uniquePrefix(), { clock });
});
afterAll(async () => {
  await env.close();
});

describe('a breached ticket solved and reopened', () => {
  it('does not breach or escalate again', async () => {
    const org = await makeOrg(db.app);
    const tx = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(db.app, org.orgId, fn);
    await tx((t) =>
      createPolicy(
        t,
        {
          name: 'Any',
          priority: null,
          firstResponseMinutes: null,
          resolutionMinutes: 60,
          escalatePriority: true,
        },
        org.owner,
      ),
    );
    const { ticket } = await tx((t) =>
      openTicket(t, { subject: 'Lost my items', origin: 'discord' }, { type: 'system' }),
    );
    const created = new Date(Date.now() - 3 * 3600_000);
    await db.admin.query('update tickets set created_at = $2 where id = $1', [ticket.id, created]);
    clock.set(new Date());
    const ids = { orgId: org.orgId, ticketId: ticket.id };
    const resolutionDue = async () => {
      const snap = await recomputeSla(env.deps, ids);
      return snap?.metrics.find((m) => m.metric === 'resolution')?.dueAt ?? null;
    };
    const fire = (dueAt: Date) =>
      fireSlaTimer(env.deps, { ...ids, metric: 'resolution', kind: 'breach', dueAt: dueAt.toISOString() });

    const due = (await resolutionDue()) as Date;
    expect(await fire(due)).toBe('recorded');
    await tx((t) => setStatus(t, { ticketId: ticket.id, status: 'solved' }, org.owner));
    await resolutionDue();
    await tx((t) => setStatus(t, { ticketId: ticket.id, status: 'open' }, org.owner));
    const again = (await resolutionDue()) as Date;

    const timers = env.deps.queues.get('timers');
    const scheduled =
      (await timers.getJob(jobIds.slaFire(ticket.id, 'resolution', 'breach', again))) !== undefined;
    const fired = await fire(again);
    const stored = await db.admin.query<{ priority: string; sla_due_at: Date | null }>(
      'select priority, sla_due_at from tickets where id = $1',
      [ticket.id],
    );
    const outbox = await db.admin.query(
      `select 1 from outbox where org_id = $1 and aggregate_id = $2 and event_type = 'ticket.sla_breached'`,
      [org.orgId, ticket.id],
    );
    const events = await tx((t) => slaEvents(t, ticket.id));
    expect({
      scheduled,
      fired,
      breaches: events.filter((e) => e.kind === 'breach').length,
      webhooks: outbox.rowCount,
      priority: stored.rows[0]?.priority,
      slaDueAt: stored.rows[0]?.sla_due_at ?? null,
    }).toEqual({
      scheduled: false,
      fired: 'duplicate',
      breaches: 1,
      webhooks: 1,
      priority: 'high',
      slaDueAt: null,
    });
  });
});
