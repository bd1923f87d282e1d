import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tickets from '../../db/tickets.js';
import { setWorkingHours } from '../../db/working-hours.js';
import { choosePresence, touchPresence } from '../../lib/presence.js';
import { manualClock } from '../../workers/clock.js';
import { reassignSweep } from '../../workers/reassign.js';
import { runRulesJob } from '../../workers/rules.js';
import { rulesOrg } from '../db/rules-support.js';
import { useTestDb } from '../support/db.js';
import { testDeps, uniquePrefix } from './support.js';

const db = useTestDb();
const clock = manualClock();
let rig: ReturnType<typeof testDeps>;
beforeAll(() => {
  rig = testDeps(db.app, uniquePrefix(), { clock });
  rig.deps.presence = { redis: rig.connection };
});
afterAll(() => rig.close());

const minutes = (n: number) => n * 60_000;

/** Sets when a member was last seen, earlier than their latest sighting (touchPresence keeps the latest). */
const lastSeen = (orgId: string, userId: string, at: Date, chosen?: 'away') =>
  rig.connection.hset(`gm:staff-presence:${orgId}`, userId, JSON.stringify({ at: at.getTime(), chosen }));

describe('handing on tickets of offline assignees', () => {
  it('moves open team tickets of an assignee offline past the setting to members online, once, as the system', async () => {
    const s = await rulesOrg(db, 4);
    const [gone, b, c, away] = s.agentIds as [string, string, string, string];
    const held = async (subject: string, assigneeId: string) => {
      const t = await s.open(subject);
      await s.tx(async (tx) => {
        await tickets.transfer(tx, { ticketId: t.id, teamId: s.team.id }, s.owner);
        await tickets.assign(tx, { ticketId: t.id, assigneeId }, s.owner);
      });
      return t.id;
    };
    const [t1, t2, t3, t4] = [
      await held('one', gone),
      await held('two', gone),
      await held('three', b),
      await held('four', away),
    ];
    // Given two hours ago; the setting is off at first.
    await db.admin.query(
      `update ticket_assignments set assigned_at = now() - interval '2 hours' where org_id = $1`,
      [s.orgId],
    );
    const now = new Date();
    await touchPresence(rig.connection, s.orgId, gone, 'panel', new Date(now.getTime() - minutes(90)));
    for (const id of [b, c, away]) await touchPresence(rig.connection, s.orgId, id, 'discord', now);
    await choosePresence(rig.connection, s.orgId, away, 'away');
    expect(await reassignSweep(rig.deps)).toEqual({ reassigned: 0 });

    await db.admin.query('update organizations set reassign_offline_minutes = 30 where id = $1', [s.orgId]);
    const before = await s.lastOutboxId();
    expect(await reassignSweep(rig.deps)).toEqual({ reassigned: 2 });
    const assignee = async (id: string) => (await s.tx((tx) => tickets.getTicket(tx, id))).assigneeId;
    // Least loaded: c (none) first, then b and c tie on one each and b waited longest.
    expect([await assignee(t1), await assignee(t2)]).toEqual([c, b]);
    // Online or away-by-choice assignees keep theirs; the away member is given nothing.
    expect([await assignee(t3), await assignee(t4)]).toEqual([b, away]);
    const events = await s.events(before);
    expect(events.map((e) => [e.type, e.payload.actor])).toEqual([
      ['ticket.assigned', { type: 'system', id: null }],
      ['ticket.assigned', { type: 'system', id: null }],
    ]);
    const audit = await db.admin.query<{ action: string; actor_type: string; data: Record<string, unknown> }>(
      `select action, actor_type, data from audit_logs where org_id = $1 and target_id = $2 order by id`,
      [s.orgId, t1],
    );
    expect(audit.rows.slice(-2)).toMatchObject([
      { action: 'ticket.assigned', actor_type: 'system' },
      { action: 'ticket.reassigned_offline', data: { from: gone, to: c, offlineMinutes: 30 } },
    ]);
    // Moved once: the new assignees have not been offline at all, so the next pass leaves them.
    expect(await reassignSweep(rig.deps)).toEqual({ reassigned: 0 });

    // An hour later only b is online (and the away member still around): c's ticket goes to b,
    // never back to the member it left.
    const anHourAgo = async () => {
      await db.admin.query(
        `update ticket_assignments set assigned_at = assigned_at - interval '60 minutes' where org_id = $1`,
        [s.orgId],
      );
      await lastSeen(s.orgId, c, new Date(Date.now() - minutes(60)));
    };
    await anHourAgo();
    expect(await reassignSweep(rig.deps)).toEqual({ reassigned: 1 });
    expect(await assignee(t1)).toBe(b);

    // Nobody online: the tickets stay where they are and the next pass tries again.
    await anHourAgo();
    await lastSeen(s.orgId, b, new Date(Date.now() - minutes(60)));
    await lastSeen(s.orgId, away, new Date(Date.now() - minutes(60)), 'away');
    expect(await reassignSweep(rig.deps)).toEqual({ reassigned: 0 });
    expect([await assignee(t1), await assignee(t2), await assignee(t3)]).toEqual([b, b, b]);
  });
});

describe('handing on every ticket an absent assignee still holds', () => {
  it('moves pending and on-hold team tickets too, never solved or closed ones', async () => {
    const s = await rulesOrg(db, 2);
    const [gone, here] = s.agentIds as [string, string];
    const held = async (status: 'open' | 'pending' | 'on_hold' | 'solved' | 'closed') => {
      const t = await s.open(status);
      await s.tx(async (tx) => {
        await tickets.transfer(tx, { ticketId: t.id, teamId: s.team.id }, s.owner);
        await tickets.assign(tx, { ticketId: t.id, assigneeId: gone }, s.owner);
        if (status !== 'open') await tickets.setStatus(tx, { ticketId: t.id, status }, s.owner);
      });
      return [status, t.id] as const;
    };
    const all = [
      await held('open'),
      await held('pending'),
      await held('on_hold'),
      await held('solved'),
      await held('closed'),
    ];
    await db.admin.query(
      `update ticket_assignments set assigned_at = now() - interval '2 hours' where org_id = $1`,
      [s.orgId],
    );
    await db.admin.query('update organizations set reassign_offline_minutes = 30 where id = $1', [s.orgId]);
    await touchPresence(rig.connection, s.orgId, here, 'panel', new Date());
    const before = await s.lastOutboxId();
    expect(await reassignSweep(rig.deps)).toEqual({ reassigned: 3 });
    const now = await s.tx(async (tx) => {
      const out: Record<string, string | null> = {};
      for (const [status, id] of all) out[status] = (await tickets.getTicket(tx, id)).assigneeId;
      return out;
    });
    expect(now).toEqual({ open: here, pending: here, on_hold: here, solved: gone, closed: gone });
    // Each move is one ticket.assigned event by the system and audited with why, as for open ones.
    expect((await s.events(before)).map((e) => [e.type, e.payload.actor])).toEqual(
      Array(3).fill(['ticket.assigned', { type: 'system', id: null }]),
    );
    const audit = await db.admin.query<{ target_id: string }>(
      `select target_id from audit_logs where org_id = $1 and action = 'ticket.reassigned_offline' order by id`,
      [s.orgId],
    );
    expect(audit.rows.map((r) => r.target_id).sort()).toEqual(
      all
        .slice(0, 3)
        .map(([, id]) => id)
        .sort(),
    );
  });
});

describe("the hand-on's clock", () => {
  it("measures how long an assignee has been offline on the database's clock, whatever the worker's says", async () => {
    const real = clock.now();
    try {
      // Hours behind, the worker saw the absent assignee as still online; hours ahead, it saw the
      // member at work as long gone (and, were they online, would hand on a ticket just given).
      for (const off of [-6, 6]) {
        const s = await rulesOrg(db, 3);
        const [gone, here, fresh] = s.agentIds as [string, string, string];
        const held = async (subject: string, assigneeId: string) => {
          const t = await s.open(subject);
          await s.tx(async (tx) => {
            await tickets.transfer(tx, { ticketId: t.id, teamId: s.team.id }, s.owner);
            await tickets.assign(tx, { ticketId: t.id, assigneeId }, s.owner);
          });
          return t.id;
        };
        const old = await held('given two hours ago', gone);
        await db.admin.query(
          `update ticket_assignments set assigned_at = now() - interval '2 hours' where org_id = $1`,
          [s.orgId],
        );
        // Given a minute ago to a member who is not online: too soon to hand on.
        const recent = await held('given just now', fresh);
        await db.admin.query('update organizations set reassign_offline_minutes = 30 where id = $1', [
          s.orgId,
        ]);
        await touchPresence(rig.connection, s.orgId, gone, 'panel', new Date(Date.now() - minutes(90)));
        await touchPresence(rig.connection, s.orgId, here, 'panel', new Date());
        clock.set(new Date(Date.now() + off * 3600_000));
        expect({ off, ...(await reassignSweep(rig.deps)) }).toEqual({ off, reassigned: 1 });
        const assignee = async (id: string) => (await s.tx((tx) => tickets.getTicket(tx, id))).assigneeId;
        expect([await assignee(old), await assignee(recent)]).toEqual([here, fresh]);
        clock.set(real);
      }
    } finally {
      clock.set(real);
    }
  });
});

describe('rules assign only to members online', () => {
  it('assign_in_team picks a member online, and with nobody online leaves the ticket in the team saying why', async () => {
    const s = await rulesOrg(db, 2);
    // The one round-robin would pick first (never assigned, lowest id) is offline.
    const [first, second] = [...s.agentIds].sort() as [string, string];
    await s.rule({
      trigger: 'ticket.created',
      actions: [{ type: 'assign_in_team', teamId: s.team.id, strategy: 'round_robin' }],
    });
    await touchPresence(rig.connection, s.orgId, second, 'panel', clock.now());
    const run = async (subject: string) => {
      const start = await s.lastOutboxId();
      const t = await s.open(subject);
      for (const e of await s.events(start, t.id))
        await runRulesJob(rig.deps, { orgId: s.orgId, outboxId: e.id });
      return t.id;
    };
    const t1 = await run('one');
    expect((await s.tx((tx) => tickets.getTicket(tx, t1))).assigneeId).toBe(second);
    await choosePresence(rig.connection, s.orgId, second, 'away');
    const t2 = await run('two');
    expect(await s.tx((tx) => tickets.getTicket(tx, t2))).toMatchObject({
      teamId: s.team.id,
      assigneeId: null,
    });
    expect((await s.runs(t2))[0]?.actions[0]).toMatch(
      /no member of the team is online in their working hours/,
    );
    expect(first).not.toBe(second);
  });
  it("judges working hours on the database's clock, not the worker's", async () => {
    const s = await rulesOrg(db, 1);
    const [agent] = s.agentIds as [string];
    // A shift around the database's now (UTC): in hours whatever the worker's clock says.
    const r = await db.admin.query<{ dow: number; minute: number }>(
      `select extract(isodow from now() at time zone 'UTC')::int as dow,
         (extract(hour from now() at time zone 'UTC') * 60 + extract(minute from now() at time zone 'UTC'))::int as minute`,
    );
    const { dow, minute } = r.rows[0] as { dow: number; minute: number };
    const day = (['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const)[dow - 1] as 'mon';
    const shift: [number, number] = [Math.max(0, minute - 60), Math.min(1440, minute + 60)];
    await s.tx((tx) =>
      setWorkingHours(tx, agent, { workingHours: { timeZone: 'UTC', week: { [day]: [shift] } } }, s.owner),
    );
    await s.rule({
      trigger: 'ticket.created',
      actions: [{ type: 'assign_in_team', teamId: s.team.id, strategy: 'round_robin' }],
    });
    // The worker's clock is twelve hours off: by it, the member is off shift.
    const real = clock.now();
    clock.set(new Date(Date.now() + 12 * 3600_000));
    try {
      await touchPresence(rig.connection, s.orgId, agent, 'panel', clock.now());
      const start = await s.lastOutboxId();
      const t = await s.open('on shift?');
      for (const e of await s.events(start, t.id))
        await runRulesJob(rig.deps, { orgId: s.orgId, outboxId: e.id });
      expect((await s.tx((tx) => tickets.getTicket(tx, t.id))).assigneeId).toBe(agent);
    } finally {
      clock.set(real);
    }
  });
});
