import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../db/changes.js';
import { assignInTeam, chooseWithReason, teamCandidates } from '../../db/rule-assign.js';
import * as tickets from '../../db/tickets.js';
import { getWorkingHours, inWorkingHours, setWorkingHours } from '../../db/working-hours.js';
import { useTestDb } from '../support/db.js';
import { rulesOrg } from './rules-support.js';

const db = useTestDb();

describe('assign_in_team keeps the member working the ticket', () => {
  it('auto-assignment does not take a ticket away from the team member working it', async () => {
    const s = await rulesOrg(db, 2);
    await s.rule({
      trigger: 'message.player',
      conditions: [{ kind: 'team', in: [s.team.id] }],
      actions: [{ type: 'assign_in_team', teamId: s.team.id, strategy: 'round_robin' }],
    });
    const t = await s.open('lost items');
    await s.tx((tx) => tickets.transfer(tx, { ticketId: t.id, teamId: s.team.id }, s.owner));
    const start = await s.lastOutboxId();
    await s.tx((tx) =>
      tickets.reply(tx, { ticketId: t.id, body: 'still there?', origin: 'discord' }, s.playerActor),
    );
    await s.drain(start);
    const first = (await s.tx((tx) => tickets.getTicket(tx, t.id))).assigneeId;
    expect(first).not.toBeNull();
    const mid = await s.lastOutboxId();
    await s.tx((tx) =>
      tickets.reply(tx, { ticketId: t.id, body: 'hello??', origin: 'discord' }, s.playerActor),
    );
    await s.drain(mid);
    expect((await s.tx((tx) => tickets.getTicket(tx, t.id))).assigneeId).toBe(first);
  });
});

describe('working hours', () => {
  // Monday 2026-12-07 10:00 in Berlin (09:00 UTC).
  const monday10 = new Date('2026-12-07T09:00:00Z');
  const berlin9to17 = { timeZone: 'Europe/Berlin', week: { mon: [[540, 1020]] as [number, number][] } };

  it('reads shifts in the member’s own zone, end exclusive, days left out off', () => {
    expect(inWorkingHours(berlin9to17, monday10)).toBe(true);
    expect(inWorkingHours(berlin9to17, new Date('2026-12-07T16:00:00Z'))).toBe(false);
    expect(inWorkingHours(berlin9to17, new Date('2026-12-08T09:00:00Z'))).toBe(false);
    // 23:30 on Sunday in Los Angeles is Monday morning in UTC: Sunday's shift counts.
    const night = { timeZone: 'America/Los_Angeles', week: { sun: [[1380, 1440]] as [number, number][] } };
    expect(inWorkingHours(night, new Date('2026-12-07T07:30:00Z'))).toBe(true);
    expect(inWorkingHours(null, monday10)).toBe(true);
  });

  it('auto-assignment gives tickets only to members in their working hours, else leaves it in the team saying why', async () => {
    const s = await rulesOrg(db, 2);
    const [day, night] = s.agentIds as [string, string];
    await s.tx(async (tx) => {
      await setWorkingHours(tx, day, { workingHours: berlin9to17 }, s.owner);
      await setWorkingHours(
        tx,
        night,
        { workingHours: { timeZone: 'Europe/Berlin', week: { mon: [[1320, 1440]] } } },
        s.owner,
      );
    });
    const t = await s.open('who is at work');
    const did = await s.tx(async (tx) => {
      const c = await teamCandidates(tx, s.team.id);
      return chooseWithReason(c, 'least_loaded', { online: null, at: monday10 });
    });
    expect(did).toEqual({ userId: day });
    const late = new Date('2026-12-07T21:30:00Z');
    expect(
      await s.tx(async (tx) =>
        chooseWithReason(await teamCandidates(tx, s.team.id), 'round_robin', { online: null, at: late }),
      ),
    ).toEqual({ userId: night });
    // Online counts only for members the caller says are online.
    expect(
      await s.tx(async (tx) =>
        chooseWithReason(await teamCandidates(tx, s.team.id), 'round_robin', {
          online: new Set([night]),
          at: monday10,
        }),
      ),
    ).toEqual({ reason: 'no member of the team is online in their working hours' });
    // Through the rule: Tuesday is nobody's day, so the ticket waits in the team, logged.
    await s.tx((tx) => setWorkingHours(tx, night, { workingHours: berlin9to17 }, s.owner));
    const tuesday = new Date('2026-12-08T09:00:00Z');
    const said = await s.tx((tx) =>
      assignInTeam(tx, t.id, { teamId: s.team.id, strategy: 'round_robin' }, SYSTEM, {
        online: null,
        at: tuesday,
      }),
    );
    expect(said).toBe(': no member of the team is in their working hours, left unassigned in the team');
    expect(await s.tx((tx) => tickets.getTicket(tx, t.id))).toMatchObject({
      teamId: s.team.id,
      assigneeId: null,
    });
  });

  it('refuses hours that make no sense, naming the field, and audits a change', async () => {
    const s = await rulesOrg(db, 1);
    const [agent] = s.agentIds as [string];
    const bad = (week: unknown, timeZone = 'UTC') =>
      s
        .tx((tx) => setWorkingHours(tx, agent, { workingHours: { timeZone, week } as never }, s.owner))
        .catch((e) => e);
    expect(await bad({ mon: [[600, 540]] })).toMatchObject({ code: 'validation_failed' });
    expect(
      await bad({
        mon: [
          [0, 600],
          [500, 700],
        ],
      }),
    ).toMatchObject({ code: 'validation_failed' });
    expect(await bad({ funday: [[0, 60]] })).toMatchObject({ code: 'validation_failed' });
    expect((await bad({}, 'Mars/Olympus')).message).toMatch(/timeZone/);
    await s.tx((tx) =>
      setWorkingHours(
        tx,
        agent,
        { workingHours: { timeZone: 'europe/berlin', week: { fri: [[0, 1440]] } } },
        s.owner,
      ),
    );
    expect(await s.tx((tx) => getWorkingHours(tx, agent))).toEqual({
      timeZone: 'Europe/Berlin',
      week: { fri: [[0, 1440]] },
    });
    const audit = await db.admin.query<{ data: { to: unknown } }>(
      `select data from audit_logs where org_id = $1 and action = 'member.working_hours_set'`,
      [s.orgId],
    );
    expect(audit.rows[0]?.data.to).toMatchObject({ timeZone: 'Europe/Berlin' });
  });
});
