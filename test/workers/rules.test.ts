import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import * as tickets from '../../db/tickets.js';
import { createSubscription } from '../../db/webhooks.js';
import { runRulesJob } from '../../workers/rules.js';
import { startWorkerRuntime, type WorkerRuntime } from '../../workers/runtime.js';
import { rulesOrg } from '../db/rules-support.js';
import { useTestDb } from '../support/db.js';
import { box, logger, loopbackOnly, startReceiver, uniquePrefix, until } from './support.js';

const db = useTestDb();
let runtime: WorkerRuntime | undefined;
const receivers: { close(): Promise<void> }[] = [];

afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});
afterAll(async () => {
  for (const r of receivers) await r.close();
});

describe('rules from the outbox', () => {
  it('runs rules on the events the relay hands over, chains them, and sends their webhook events', async () => {
    const s = await rulesOrg(db);
    const rx = await startReceiver();
    receivers.push(rx);
    await s.tx((tx) => createSubscription(tx, { url: rx.url, eventTypes: ['rule.event'] }, s.owner, box));
    const escalate = await s.rule({
      trigger: 'message.player',
      conditions: [{ kind: 'text', in: 'message', contains: ['refund'] }],
      actions: [
        { type: 'set_priority', priority: 'urgent' },
        { type: 'webhook', label: 'refund.escalated' },
      ],
    });
    const tag = await s.rule({
      trigger: 'ticket.updated',
      conditions: [{ kind: 'priority', in: ['urgent'] }],
      actions: [{ type: 'set_tags', add: ['escalated'], remove: [] }],
    });
    const staffRule = await s.rule({
      trigger: 'message.staff',
      actions: [{ type: 'note', body: 'staff answered' }],
    });
    runtime = await startWorkerRuntime({
      pool: db.app,
      redisUrl: inject('services').redisUrl,
      logger,
      box,
      webhookTargets: loopbackOnly,
      prefix: uniquePrefix(),
      schedulers: false,
      relay: { pollMs: 100 },
    });
    const t = await s.open('Payment');
    await s.tx((tx) =>
      tickets.reply(tx, { ticketId: t.id, body: 'I want a REFUND', origin: 'discord' }, s.playerActor),
    );
    await until(async () => (await s.tx((tx) => tickets.getTicket(tx, t.id))).tags.includes('escalated'));
    const after = await s.tx((tx) => tickets.getTicket(tx, t.id));
    expect(after.priority).toBe('urgent');
    const delivered = await until(async () => rx.requests.find((r) => r.body.includes('refund.escalated')));
    expect(JSON.parse(delivered.body)).toMatchObject({
      type: 'rule.event',
      data: { label: 'refund.escalated' },
    });
    const runs = await until(async () => {
      const r = await s.runs(t.id);
      return r.some((x) => x.rule_id === tag.id && x.outcome === 'applied') ? r : undefined;
    });
    expect(runs.find((r) => r.rule_id === escalate.id && r.outcome === 'applied')?.depth).toBe(1);
    expect(runs.find((r) => r.rule_id === tag.id && r.outcome === 'applied')?.depth).toBe(2);
    // A staff reply fires the staff-message rule, not the player one.
    await s.tx((tx) =>
      tickets.reply(tx, { ticketId: t.id, body: 'refund on its way', origin: 'panel' }, s.owner),
    );
    await until(async () => (await s.tx((tx) => tickets.listNotes(tx, t.id))).length === 1);
    expect((await s.runs(t.id)).filter((r) => r.rule_id === staffRule.id).map((r) => r.outcome)).toEqual([
      'applied',
    ]);

    // The same event processed again (a job whose lock was lost) changes nothing.
    const historyBefore = (await s.tx((tx) => tickets.ticketHistory(tx, t.id))).length;
    const runsBefore = (await s.runs(t.id)).length;
    const message = (await s.events(0, t.id)).find((e) => e.type === 'message.created');
    await runRulesJob(runtime.deps, { orgId: s.orgId, outboxId: message?.id as number });
    expect((await s.tx((tx) => tickets.ticketHistory(tx, t.id))).length).toBe(historyBefore);
    expect((await s.runs(t.id)).length).toBe(runsBefore);
  });
});
