import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../../db/permissions.js';
import { dryRun, dryRunOnTicket } from '../../db/rule-dry-run.js';
import { runRuleNow } from '../../db/rule-runs.js';
import { updateRule } from '../../db/rules.js';
import * as tickets from '../../db/tickets.js';
import { manualClock } from '../../workers/clock.js';
import { ruleTimerSweep } from '../../workers/rule-timers.js';
import { rulesOrg } from '../db/rules-support.js';
import { useTestDb } from '../support/db.js';
import { testDeps, uniquePrefix } from './support.js';

const db = useTestDb();
const clock = manualClock();
let env: ReturnType<typeof testDeps>;
beforeAll(() => {
  env = testDeps(db.app, uniquePrefix(), { clock });
});
afterAll(async () => {
  await env.close();
});

const HOUR = 3600_000;

/** A ticket's wait columns as the database wrote them (its clock, not the test's). */
async function times(ticketId: string) {
  const r = await db.admin.query<{ pending_since: Date | null; last_player_message_at: Date | null }>(
    'select pending_since, last_player_message_at from tickets where id = $1',
    [ticketId],
  );
  return r.rows[0] as { pending_since: Date | null; last_player_message_at: Date | null };
}

/**
 * Moves a ticket's past `hours` back (its wait starts, and the waits already fired for it) instead
 * of moving a clock forward: the sweep measures waits on the database's clock.
 */
async function age(ticketId: string, hours: number) {
  const back = `${hours} hours`;
  await db.admin.query(
    `update tickets set created_at = created_at - $2::interval, pending_since = pending_since - $2::interval,
       last_player_message_at = last_player_message_at - $2::interval,
       last_staff_message_at = last_staff_message_at - $2::interval where id = $1`,
    [ticketId, back],
  );
  await db.admin.query(
    `update rule_timer_fires set since = since - $2::interval, fired_at = fired_at - $2::interval
      where ticket_id = $1`,
    [ticketId, back],
  );
}

/**
 * One sweep, then the rules job on what it fired, as the relay would hand it over at once (a
 * timer's rule checks the wait again when it runs, and `age` moves the wait's start).
 */
async function sweepAndRun(s: {
  lastOutboxId: () => Promise<number>;
  drain: (after: number) => Promise<void>;
}) {
  const from = await s.lastOutboxId();
  const fired = await ruleTimerSweep(env.deps);
  await s.drain(from);
  return fired;
}

describe('time-based rules (ticket.waiting) on the sweep', () => {
  it('fires "pending for 48 h" once per pending episode, and again after the ticket went pending anew', async () => {
    const s = await rulesOrg(db);
    const rule = await s.rule({
      trigger: 'ticket.waiting',
      wait: { for: 'pending', hours: 48 },
      actions: [{ type: 'set_tags', add: ['stale'], remove: [] }],
    });
    const longer = await s.rule({
      trigger: 'ticket.waiting',
      wait: { for: 'pending', hours: 96 },
      actions: [{ type: 'set_priority', priority: 'low' }],
    });
    const a = await s.open('waiting on the player');
    const b = await s.open('still open');
    const start = await s.lastOutboxId();
    await s.tx((tx) => tickets.setStatus(tx, { ticketId: a.id, status: 'pending' }, s.owner));
    const since = (await times(a.id)).pending_since;

    await age(a.id, 47);
    expect(await sweepAndRun(s)).toBe(0);
    await age(a.id, 2);
    expect(await sweepAndRun(s)).toBe(1);
    expect(await sweepAndRun(s)).toBe(0);
    await age(a.id, 11);
    expect(await sweepAndRun(s)).toBe(0);
    const due = (await s.events(start)).filter((e) => e.type === 'rule.timer_due');
    expect(due.map((e) => e.payload)).toEqual([
      expect.objectContaining({ ticketId: a.id, rule: { id: rule.id, name: rule.name } }),
    ]);
    expect(await s.tx((tx) => tickets.getTicket(tx, a.id))).toMatchObject({
      tags: ['stale'],
      priority: 'normal',
    });
    expect((await s.tx((tx) => tickets.getTicket(tx, b.id))).tags).toEqual([]);
    // Only the rule whose wait is over ran on the timer's event, logged under the trigger.
    const log = await db.admin.query<{ rule_id: string; trigger: string; outcome: string }>(
      "select rule_id, trigger, outcome from rule_runs where ticket_id = $1 and trigger = 'ticket.waiting'",
      [a.id],
    );
    expect(log.rows).toEqual([{ rule_id: rule.id, trigger: 'ticket.waiting', outcome: 'applied' }]);

    // Back to open and pending again: a new episode, the same rule fires once more.
    await s.tx((tx) => tickets.setStatus(tx, { ticketId: a.id, status: 'open' }, s.owner));
    await s.tx((tx) => tickets.setStatus(tx, { ticketId: a.id, status: 'pending' }, s.owner));
    const again = (await times(a.id)).pending_since;
    expect(again?.getTime()).toBeGreaterThan(since?.getTime() as number);
    await age(a.id, 49);
    expect(await sweepAndRun(s)).toBe(1);
    await age(a.id, 48);
    // The longer wait is over for the first episode's time too, but fires once, for this episode.
    expect(await sweepAndRun(s)).toBe(1);
    expect(await s.tx((tx) => tickets.getTicket(tx, a.id))).toMatchObject({ priority: 'low' });
    const fires = await db.admin.query('select rule_id from rule_timer_fires where ticket_id = $1', [a.id]);
    expect(fires.rows.map((r) => r.rule_id).sort()).toEqual([rule.id, rule.id, longer.id].sort());
  });

  it('fires "no player reply for 3 days" and "no staff reply for 4 h" from the last message; a disabled rule never fires', async () => {
    const s = await rulesOrg(db);
    const silent = await s.rule({
      trigger: 'ticket.waiting',
      wait: { for: 'player_reply', hours: 72 },
      actions: [{ type: 'note', body: 'the player went quiet' }],
    });
    const unanswered = await s.rule({
      trigger: 'ticket.waiting',
      wait: { for: 'staff_reply', hours: 4 },
      actions: [{ type: 'set_priority', priority: 'high' }],
    });
    const off = await s.rule({
      trigger: 'ticket.waiting',
      wait: { for: 'player_reply', hours: 1 },
      actions: [{ type: 'close' }],
      enabled: false,
    });
    const t = await s.open('lost items', 'my items vanished');
    await age(t.id, 3);
    expect(await sweepAndRun(s)).toBe(0);
    await age(t.id, 2);
    expect(await sweepAndRun(s)).toBe(1);
    // Staff answer; the player writes again later: both waits start over from that message.
    await s.tx((tx) =>
      tickets.reply(tx, { ticketId: t.id, body: 'looking into it', origin: 'panel' }, s.owner),
    );
    await s.tx((tx) =>
      tickets.reply(tx, { ticketId: t.id, body: 'any news?', origin: 'discord' }, s.playerActor),
    );
    await age(t.id, 5);
    expect(await sweepAndRun(s)).toBe(1);
    await age(t.id, 68);
    expect(await sweepAndRun(s)).toBe(1);
    const fired = await db.admin.query<{ rule_id: string }>(
      'select rule_id from rule_timer_fires where ticket_id = $1 order by since, rule_id',
      [t.id],
    );
    expect(fired.rows.map((r) => r.rule_id)).toEqual(
      [unanswered.id, ...[unanswered.id, silent.id].sort()].map((x) => x),
    );
    expect(fired.rows.some((r) => r.rule_id === off.id)).toBe(false);
    expect(await s.tx((tx) => tickets.getTicket(tx, t.id))).toMatchObject({
      status: 'open',
      priority: 'high',
    });
    expect((await s.tx((tx) => tickets.listNotes(tx, t.id))).map((n) => n.body)).toEqual([
      'the player went quiet',
    ]);
  });

  it('refuses a wait on another trigger and a ticket.waiting rule without one', async () => {
    const s = await rulesOrg(db);
    await expect(s.rule({ trigger: 'ticket.waiting', actions: [{ type: 'close' }] })).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(
      s.rule({ trigger: 'ticket.created', wait: { for: 'pending', hours: 2 }, actions: [{ type: 'close' }] }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    const r = await s.rule({ trigger: 'ticket.created', actions: [{ type: 'close' }] });
    await expect(
      s.tx((tx) => updateRule(tx, r.id, { trigger: 'ticket.waiting' }, s.owner)),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    const changed = await s.tx((tx) =>
      updateRule(tx, r.id, { trigger: 'ticket.waiting', wait: { for: 'staff_reply', hours: 8 } }, s.owner),
    );
    expect(changed).toMatchObject({ trigger: 'ticket.waiting', wait: { for: 'staff_reply', hours: 8 } });
    const back = await s.tx((tx) => updateRule(tx, r.id, { trigger: 'ticket.updated' }, s.owner));
    expect(back.wait).toBeNull();
  });

  it('measures waits on the database clock, not the worker clock', async () => {
    const s = await rulesOrg(db);
    const rule = await s.rule({
      trigger: 'ticket.waiting',
      wait: { for: 'staff_reply', hours: 4 },
      actions: [{ type: 'set_priority', priority: 'urgent' }],
    });
    const t = await s.open('just now');
    // A worker whose clock runs 5 h ahead of the database's.
    const dbNow = (await db.admin.query<{ now: Date }>('select now() as now')).rows[0]?.now as Date;
    clock.set(new Date(dbNow.getTime() + 5 * HOUR));
    await ruleTimerSweep(env.deps);
    const fired = await db.admin.query(
      'select 1 from rule_timer_fires where rule_id = $1 and ticket_id = $2',
      [rule.id, t.id],
    );
    expect(fired.rowCount).toBe(0);
  });

  it('"player unanswered for 4 h" does not fire on a ticket staff solved', async () => {
    const s = await rulesOrg(db);
    const rule = await s.rule({
      trigger: 'ticket.waiting',
      wait: { for: 'staff_reply', hours: 4 },
      actions: [{ type: 'set_priority', priority: 'urgent' }],
    });
    const t = await s.open('fixed', 'thanks, that fixed it!');
    await s.tx((tx) => tickets.setStatus(tx, { ticketId: t.id, status: 'solved' }, s.owner));
    await age(t.id, 5);
    await ruleTimerSweep(env.deps);
    const fired = await db.admin.query(
      'select 1 from rule_timer_fires where rule_id = $1 and ticket_id = $2',
      [rule.id, t.id],
    );
    expect(fired.rowCount).toBe(0);
  });

  it('"no player reply for 72 h → close" leaves open a ticket the player answered before the rule ran', async () => {
    const s = await rulesOrg(db);
    const rule = await s.rule({
      trigger: 'ticket.waiting',
      wait: { for: 'player_reply', hours: 72 },
      actions: [{ type: 'close', reason: 'no answer from you in 3 days' }],
    });
    const t = await s.open('crash on start', 'the game crashes');
    await s.tx((tx) => tickets.reply(tx, { ticketId: t.id, body: 'which GPU?', origin: 'panel' }, s.owner));
    const start = await s.lastOutboxId();
    await age(t.id, 73);
    await ruleTimerSweep(env.deps);
    const due = (await s.events(start, t.id)).filter((e) => e.type === 'rule.timer_due');
    expect(due).toHaveLength(1);
    // Before the rules job reaches the event (relay behind, Redis away), the player answers.
    await s.tx((tx) =>
      tickets.reply(tx, { ticketId: t.id, body: 'an RTX 3060', origin: 'discord' }, s.playerActor),
    );
    await s.run(due[0]?.id as number);
    expect((await s.tx((tx) => tickets.getTicket(tx, t.id))).status).toBe('open');
    expect(await s.runs(t.id)).toContainEqual(
      expect.objectContaining({
        rule_id: rule.id,
        outcome: 'skipped',
        reason: expect.stringMatching(/^wait ended/),
      }),
    );
  });

  it('dry runs of a time-based rule agree with what the sweep fires', async () => {
    const s = await rulesOrg(db);
    const rule = await s.rule({
      trigger: 'ticket.waiting',
      wait: { for: 'pending', hours: 48 },
      actions: [{ type: 'close', reason: 'no answer for 2 days' }],
    });
    const open = await s.open('just opened, not pending');
    const waiting = await s.open('pending, not long');
    await s.tx((tx) => tickets.setStatus(tx, { ticketId: waiting.id, status: 'pending' }, s.owner));
    const dry = async () => {
      const all = await s.tx((tx) => dryRun(tx, { ruleId: rule.id, limit: 5 }));
      return {
        open: all.find((d) => d.ticketId === open.id),
        waiting: all.find((d) => d.ticketId === waiting.id),
      };
    };
    const ruleOn = async (ticketId: string) =>
      (await s.tx((tx) => dryRunOnTicket(tx, ticketId))).find((d) => d.ruleId === rule.id);
    const notWaiting = { matched: false, reason: 'not waiting: the ticket is not pending', actions: [] };
    expect(await dry()).toMatchObject({
      open: notWaiting,
      waiting: {
        matched: false,
        reason: expect.stringMatching(/^waiting since .* \(0 h; the rule waits 48 h\)$/),
      },
    });
    expect(await ruleOn(open.id)).toMatchObject(notWaiting);

    await age(open.id, 1000);
    await age(waiting.id, 49);
    expect(await dry()).toMatchObject({
      open: notWaiting,
      waiting: {
        matched: true,
        reason: expect.stringMatching(/^waiting since .* \(49 h; the rule waits 48 h\); /),
        actions: ['close'],
      },
    });
    expect(await ruleOn(waiting.id)).toMatchObject({ matched: true, actions: ['close'] });
    // The sweep fires exactly the ticket the dry run said; once it has, the wait is spent.
    const start = await s.lastOutboxId();
    expect(await ruleTimerSweep(env.deps)).toBe(1);
    expect((await s.events(start)).filter((e) => e.type === 'rule.timer_due')).toEqual([
      expect.objectContaining({ payload: expect.objectContaining({ ticketId: waiting.id }) }),
    ]);
    expect((await dry()).waiting).toMatchObject({
      matched: false,
      reason: expect.stringMatching(/^already ran for this wait: waiting since /),
    });
  });

  it('a time-based rule run by hand counts as run for that wait: the sweep does not run it again', async () => {
    const s = await rulesOrg(db);
    const rule = await s.rule({
      trigger: 'ticket.waiting',
      wait: { for: 'staff_reply', hours: 4 },
      actions: [{ type: 'note', body: 'waiting on us' }],
    });
    const t = await s.open('no answer yet');
    const run = await s.tx((tx) =>
      runRuleNow(tx, rule.id, { ticketId: t.id }, s.owner, new Set(PERMISSIONS)),
    );
    expect(run.outcome).toBe('applied');
    await age(t.id, 5);
    expect(await ruleTimerSweep(env.deps)).toBe(0);
    expect((await s.tx((tx) => tickets.listNotes(tx, t.id))).map((n) => n.body)).toEqual(['waiting on us']);
  });
});
