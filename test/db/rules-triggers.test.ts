import { describe, expect, it } from 'vitest';
import { createGame } from '../../db/games.js';
import { reportFromGame } from '../../db/player-reports.js';
import { foldReports } from '../../db/report-fold.js';
import { recordTimer, slaSnapshot } from '../../db/sla-clocks.js';
import * as tickets from '../../db/tickets.js';
import { useTestDb } from '../support/db.js';
import { rulesOrg } from './rules-support.js';

const db = useTestDb();

/** Each trigger's rule runs on its own event and not on the others'. */
describe('rule triggers on the events the system writes', () => {
  it('runs SLA warning, SLA breach and player-report rules on the events of sla-clocks and player-reports', async () => {
    const s = await rulesOrg(db);
    const warn = await s.rule({
      trigger: 'sla.warning',
      actions: [{ type: 'set_tags', add: ['sla-warned'], remove: [] }],
    });
    const breach = await s.rule({
      trigger: 'sla.breach',
      actions: [{ type: 'set_priority', priority: 'urgent' }],
    });
    const report = await s.rule({
      trigger: 'player.reported',
      conditions: [{ kind: 'tags', all: ['report'] }],
      actions: [{ type: 'assign_in_team', teamId: s.team.id, strategy: 'least_loaded' }],
    });
    const t = await s.open('Slow answer');
    const start = await s.lastOutboxId();
    await s.tx(async (tx) => {
      const snap = await slaSnapshot(tx, t.id);
      await recordTimer(tx, snap, 'first_response', 'warn', new Date(), { id: t.id });
    });
    await s.drain(start);
    expect((await s.tx((tx) => tickets.getTicket(tx, t.id))).tags).toEqual(['sla-warned']);
    const mid = await s.lastOutboxId();
    await s.tx(async (tx) => {
      const snap = await slaSnapshot(tx, t.id);
      await recordTimer(tx, snap, 'first_response', 'breach', new Date(), { id: t.id });
    });
    await s.drain(mid);
    expect((await s.tx((tx) => tickets.getTicket(tx, t.id))).priority).toBe('urgent');
    const applied = (await s.runs(t.id)).filter((r) => r.outcome === 'applied').map((r) => r.rule_id);
    expect(applied).toEqual([warn.id, breach.id]);

    const before = await s.lastOutboxId();
    const { report: filed } = await s.tx(async (tx) => {
      const game = await createGame(tx, { name: 'Arena', slug: 'arena' }, s.owner);
      return reportFromGame(tx, game.id, {
        reporter: { id: 'p-1', name: 'Reporter' },
        reported: { id: 'p-2', name: 'Cheater' },
        reason: 'cheating',
      });
    });
    await s.tx((tx) => foldReports(tx));
    await s.drain(before);
    const reported = await s.tx((tx) => tickets.getTicket(tx, filed.ticketId));
    expect(reported).toMatchObject({ teamId: s.team.id });
    expect(s.agentIds).toContain(reported.assigneeId);
    expect((await s.runs(filed.ticketId)).map((r) => [r.rule_id, r.outcome])).toEqual([
      [report.id, 'applied'],
    ]);
  });
});
