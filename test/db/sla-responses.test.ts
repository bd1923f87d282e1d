import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCannedReply } from '../../db/canned-replies.js';
import { fireDueWaits } from '../../db/rule-timers.js';
import { slaSnapshot } from '../../db/sla-clocks.js';
import { createPolicy } from '../../db/sla-policies.js';
import * as tickets from '../../db/tickets.js';
import { useTestDb } from '../support/db.js';
import { until } from '../workers/support.js';
import { rulesOrg } from './rules-support.js';

const db = useTestDb();

describe('an automatic acknowledgement sent by a rule', () => {
  it('does not fulfil the first-response SLA: no person has answered the player', async () => {
    const s = await rulesOrg(db);
    const canned = await s.tx(async (tx) => {
      await createPolicy(tx, { name: 'Any', priority: null, firstResponseMinutes: 60 }, s.owner);
      return createCannedReply(
        tx,
        {
          shortcut: 'ack',
          title: 'Ack',
          body: 'Thanks {player}, we got ticket #{ticket} and will answer soon.',
        },
        s.owner,
      );
    });
    await s.rule({
      trigger: 'ticket.created',
      actions: [{ type: 'canned_reply', cannedReplyId: canned.id }],
    });
    const before = await s.lastOutboxId();
    const t = await s.open('Cannot log in');
    await s.drain(before);
    const convo = await s.tx((tx) => tickets.conversation(tx, t.id));
    expect(convo.at(-1)?.authorType).toBe('system');
    const after = await s.tx((tx) => tickets.getTicket(tx, t.id));
    const snap = await s.tx((tx) => slaSnapshot(tx, t.id));
    expect({
      firstResponseAt: after.firstResponseAt,
      lastStaffMessageAt: after.lastStaffMessageAt,
      firstResponse: snap.metrics[0]?.state,
    }).toEqual({ firstResponseAt: null, lastStaffMessageAt: null, firstResponse: 'active' });
    // Rules waiting for a staff reply still see the player waiting.
    await s.rule({
      trigger: 'ticket.waiting',
      wait: { for: 'staff_reply', hours: 1 },
      actions: [{ type: 'note', body: 'nobody has answered yet' }],
    });
    // Two hours on the database's clock, which the waits are measured on.
    await db.admin.query(
      "update tickets set last_player_message_at = last_player_message_at - interval '2 hours' where id = $1",
      [t.id],
    );
    expect(await s.tx((tx) => fireDueWaits(tx))).toBe(1);
  });

  it("is answered by a member's reply or an integration's (API token) reply afterwards", async () => {
    const s = await rulesOrg(db);
    await s.tx((tx) =>
      createPolicy(
        tx,
        { name: 'Any', priority: null, firstResponseMinutes: 60, nextResponseMinutes: 30 },
        s.owner,
      ),
    );
    const t = await s.open('Cannot log in');
    await s.tx((tx) =>
      tickets.reply(tx, { ticketId: t.id, body: 'We are on it', origin: 'api' }, { type: 'system' }),
    );
    const ack = await s.tx((tx) => slaSnapshot(tx, t.id));
    expect(ack.metrics.find((m) => m.metric === 'first_response')?.state).toBe('active');
    await s.tx((tx) =>
      tickets.reply(
        tx,
        { ticketId: t.id, body: 'Try this', origin: 'api' },
        { type: 'user', id: s.agentIds[0] as string },
      ),
    );
    await s.tx((tx) =>
      tickets.reply(tx, { ticketId: t.id, body: 'Still broken', origin: 'discord' }, s.playerActor),
    );
    await s.tx((tx) =>
      tickets.reply(
        tx,
        { ticketId: t.id, body: 'Fixed on our side', origin: 'api' },
        { type: 'token', id: randomUUID() },
      ),
    );
    const snap = await s.tx((tx) => slaSnapshot(tx, t.id));
    expect(snap.metrics.filter((m) => m.metric !== 'resolution').map((m) => [m.metric, m.state])).toEqual([
      ['first_response', 'fulfilled'],
      ['next_response', 'fulfilled'],
    ]);
  });
});

describe('a staff reply that waited for the ticket behind a player message', () => {
  it('answers that message: next response is fulfilled', async () => {
    const s = await rulesOrg(db);
    const agent = { type: 'user' as const, id: s.agentIds[0] as string };
    await s.tx((tx) =>
      createPolicy(
        tx,
        { name: 'Any', priority: null, firstResponseMinutes: 60, nextResponseMinutes: 30 },
        s.owner,
      ),
    );
    const t = await s.open('Cannot log in');
    await s.tx((tx) => tickets.reply(tx, { ticketId: t.id, body: 'Which server?', origin: 'api' }, agent));
    // The player's message holds the ticket first; the staff reply's transaction starts meanwhile
    // and waits for it, then writes after the player's message is in.
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let held = () => {};
    const holding = new Promise<void>((r) => {
      held = r;
    });
    const player = s.tx(async (tx) => {
      await tx.query('select 1 from tickets where org_id = $1::uuid and id = $2::uuid for update', [
        tx.orgId,
        t.id,
      ]);
      held();
      await gate;
      return tickets.reply(tx, { ticketId: t.id, body: 'EU west', origin: 'discord' }, s.playerActor);
    });
    await holding;
    const staff = s.tx((tx) =>
      tickets.reply(tx, { ticketId: t.id, body: 'Fixed there', origin: 'api' }, agent),
    );
    await until(async () => {
      const r = await db.admin.query(
        `select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
      );
      return (r.rowCount ?? 0) > 0;
    });
    release();
    await player;
    await staff;
    const convo = await s.tx((tx) => tickets.conversation(tx, t.id));
    expect(convo.at(-1)?.body).toBe('Fixed there');
    const snap = await s.tx((tx) => slaSnapshot(tx, t.id));
    expect(snap.metrics.find((m) => m.metric === 'next_response')?.state).toBe('fulfilled');
  });
});
