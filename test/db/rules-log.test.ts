import { describe, expect, it } from 'vitest';
import { listRuns, runRulesForEvent } from '../../db/rule-runs.js';
import { deleteRule, type Rule, reorderRules, updateRule } from '../../db/rules.js';
import * as tickets from '../../db/tickets.js';
import { countingPool } from '../support/counting-pool.js';
import { useTestDb } from '../support/db.js';
import { rulesOrg } from './rules-support.js';

const db = useTestDb();

/** Opens a ticket and runs the rules on its ticket.created event; the rules that ran, in order. */
async function openAndRun(s: Awaited<ReturnType<typeof rulesOrg>>, subject: string) {
  const before = await s.lastOutboxId();
  const t = await s.open(subject);
  const created = (await s.events(before, t.id)).find((e) => e.type === 'ticket.created');
  const summary = await s.run(created?.id as number);
  return { ticket: t, eventId: created?.id as number, summary };
}

describe('the rules run log and the kept rule sets', () => {
  it("logs the rules that did not run on the next matching rule's row, or one row after the last; listed per rule, filtered by rule, paged whole", async () => {
    const s = await rulesOrg(db);
    const miss = (i: number) =>
      s.rule({
        trigger: 'ticket.created',
        conditions: [{ kind: 'text', contains: [`word${i}`] }],
        actions: [{ type: 'set_priority', priority: 'high' }],
      });
    const misses: Rule[] = [];
    for (let i = 0; i < 5; i++) misses.push(await miss(i));
    const hit = await s.rule({
      trigger: 'ticket.created',
      actions: [{ type: 'set_priority', priority: 'low' }],
    });
    const after = [await miss(5), await miss(6)];
    const { ticket, eventId, summary } = await openAndRun(s, 'hello');
    expect(summary.ran.map((r) => r.outcome)).toEqual([
      ...misses.map(() => 'not_matched'),
      'applied',
      'not_matched',
      'not_matched',
    ]);
    const rows = await db.admin.query('select 1 from rule_runs where ticket_id = $1', [ticket.id]);
    expect(rows.rowCount).toBe(2);
    const inOrder = [...misses, hit, ...after].map((m) => m.id);
    expect((await s.runs(ticket.id)).map((r) => r.rule_id)).toEqual(inOrder);

    // A replay finds the claims and logs nothing more.
    expect((await s.run(eventId)).ran).toEqual([]);
    expect((await db.admin.query('select 1 from rule_runs where ticket_id = $1', [ticket.id])).rowCount).toBe(
      2,
    );

    const all = await s.tx((tx) => listRuns(tx, { ticketId: ticket.id }));
    expect(all.map((r) => r.ruleId)).toEqual([...inOrder].reverse());
    expect(all.map((r) => r.outcome)).toEqual([
      'not_matched',
      'not_matched',
      'applied',
      ...misses.map(() => 'not_matched'),
    ]);
    expect(all.find((r) => r.ruleId === misses[2]?.id)).toMatchObject({
      ruleName: misses[2]?.name,
      reason: 'condition 1 (text) did not hold',
      trigger: 'ticket.created',
      ticketId: ticket.id,
    });
    expect(all.find((r) => r.ruleId === hit.id)).toMatchObject({
      ruleName: hit.name,
      actions: ['set priority low'],
    });
    const one = await s.tx((tx) => listRuns(tx, { ruleId: misses[3]?.id }));
    expect(one.map((r) => [r.ruleId, r.outcome])).toEqual([[misses[3]?.id, 'not_matched']]);
    const own = await s.tx((tx) => listRuns(tx, { ruleId: hit.id }));
    expect(own.map((r) => [r.ruleId, r.outcome])).toEqual([[hit.id, 'applied']]);

    // A page ends at a row boundary: a row is never cut, and `before` picks up after it.
    const page = await s.tx((tx) => listRuns(tx, { ticketId: ticket.id, limit: 1 }));
    expect(page.map((r) => r.ruleId)).toEqual([after[1]?.id, after[0]?.id]);
    const next = await s.tx((tx) => listRuns(tx, { ticketId: ticket.id, limit: 1, before: page[1]?.id }));
    expect(next.map((r) => r.ruleId)).toEqual(all.slice(2).map((r) => r.ruleId));
    expect(await s.tx((tx) => listRuns(tx, { ticketId: ticket.id, before: next[5]?.id }))).toEqual([]);

    // A deleted rule keeps its name in the log and loses its id, in a stretch as on its own row.
    await s.tx((tx) => deleteRule(tx, misses[1]?.id as string, s.owner));
    await s.tx((tx) => deleteRule(tx, hit.id, s.owner));
    const later = await s.tx((tx) => listRuns(tx, { ticketId: ticket.id }));
    expect(later.filter((r) => r.ruleId === null).map((r) => r.ruleName)).toEqual([
      hit.name,
      misses[1]?.name,
    ]);
    expect(later.filter((r) => r.ruleId !== null)).toHaveLength(6);
  });

  it('sees every change to the rules on the next event: edit, disable, reorder, delete, create', async () => {
    const s = await rulesOrg(db);
    const a = await s.rule({
      trigger: 'ticket.created',
      actions: [{ type: 'set_priority', priority: 'high' }],
    });
    const b = await s.rule({
      trigger: 'ticket.created',
      actions: [{ type: 'set_priority', priority: 'low' }],
    });
    const priority = async (subject: string) => {
      const { ticket } = await openAndRun(s, subject);
      return (await s.tx((tx) => tickets.getTicket(tx, ticket.id))).priority;
    };
    expect(await priority('one')).toBe('low');
    await s.tx((tx) =>
      updateRule(tx, b.id, { actions: [{ type: 'set_priority', priority: 'urgent' }] }, s.owner),
    );
    expect(await priority('two')).toBe('urgent');
    await s.tx((tx) => reorderRules(tx, { ruleIds: [b.id, a.id] }, s.owner));
    expect(await priority('three')).toBe('high');
    await s.tx((tx) => updateRule(tx, a.id, { enabled: false }, s.owner));
    expect(await priority('four')).toBe('urgent');
    await s.tx((tx) => deleteRule(tx, b.id, s.owner));
    expect(await priority('five')).toBe('normal');
    await s.rule({ trigger: 'ticket.created', actions: [{ type: 'set_priority', priority: 'low' }] });
    expect(await priority('six')).toBe('low');
    // A change rolled back leaves the rules (and what the next event runs) as they were.
    await expect(
      s.tx(async (tx) => {
        await updateRule(tx, a.id, { enabled: true }, s.owner);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await priority('seven')).toBe('low');
  });
  it('settles an event whose rule matches in one transaction of 9 statements, the event and the rules read in it', async () => {
    const s = await rulesOrg(db);
    await s.rule({
      trigger: 'ticket.created',
      conditions: [{ kind: 'text', contains: ['nomatch'] }],
      actions: [{ type: 'set_priority', priority: 'high' }],
    });
    await s.rule({ trigger: 'ticket.created', actions: [{ type: 'set_priority', priority: 'low' }] });
    const before = await s.lastOutboxId();
    const t = await s.open('one transaction');
    const created = (await s.events(before, t.id)).find((e) => e.type === 'ticket.created');
    const { pool, sent, release } = await countingPool(db.app);
    try {
      const summary = await runRulesForEvent(pool, s.orgId, created?.id as number);
      expect(summary.ran.map((r) => r.outcome)).toEqual(['not_matched', 'applied']);
    } finally {
      release();
    }
    expect(sent.filter((q) => q.startsWith('begin'))).toHaveLength(1);
    expect(sent.filter((q) => q === 'commit')).toHaveLength(1);
    // The event and its org's rule-set version in one statement; no look for an earlier run
    // before the actions (the log row's insert finds a replay and rolls the actions back).
    expect(sent.filter((q) => q.includes('from rule_sets'))).toHaveLength(1);
    expect(sent.filter((q) => q.startsWith('select 1 from rule_runs'))).toHaveLength(0);
    // begin, the event, the rules (first sight of this version), the ticket, the action's
    // three, the log row, commit.
    expect(sent).toHaveLength(9);
  });
});
