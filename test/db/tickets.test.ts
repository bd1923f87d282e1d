import { describe, expect, it } from 'vitest';
import { addMember } from '../../db/memberships.js';
import { upsertPlayer } from '../../db/players.js';
import { createTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import { STATUSES, type Status, TRANSITIONS } from '../../db/ticket-rules.js';
import { searchTickets } from '../../db/ticket-search.js';
import * as tickets from '../../db/tickets.js';
import { createUser } from '../../db/users.js';
import { countingPool } from '../support/counting-pool.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

const db = useTestDb();

async function setup() {
  const org = await makeOrg(db.app);
  const player = await withTenant(db.app, org.orgId, (tx) =>
    upsertPlayer(tx, { displayName: 'Player One', discordUserId: '123456789012345678' }),
  );
  return { ...org, player, playerActor: { type: 'player' as const, id: player.id } };
}

async function outboxTypes(orgId: string, ticketId: string) {
  const r = await db.admin.query<{ event_type: string }>(
    'select event_type from outbox where org_id = $1 and aggregate_id = $2 order by id',
    [orgId, ticketId],
  );
  return r.rows.map((x) => x.event_type);
}

/** Drives a new ticket into `status` through allowed transitions. */
async function ticketIn(orgId: string, actor: Parameters<typeof tickets.openTicket>[2], status: Status) {
  return withTenant(db.app, orgId, async (tx) => {
    const { ticket } = await tickets.openTicket(tx, { subject: `to ${status}`, origin: 'panel' }, actor);
    if (status === 'open') return ticket;
    if (status === 'closed' || status === 'solved' || status === 'pending' || status === 'on_hold') {
      return tickets.setStatus(tx, { ticketId: ticket.id, status }, actor);
    }
    return ticket;
  });
}

describe('ticket lifecycle', () => {
  it('opens a ticket with its first message, history, audit and outbox rows in one commit', async () => {
    const s = await setup();
    const { ticket, created } = await withTenant(db.app, s.orgId, (tx) =>
      tickets.openTicket(
        tx,
        {
          subject: 'Cannot log in',
          body: 'Error 42 at start',
          origin: 'discord',
          requesterId: s.player.id,
          tags: ['Login'],
        },
        s.playerActor,
      ),
    );
    expect(created).toBe(true);
    expect(ticket).toMatchObject({
      number: 1,
      status: 'open',
      priority: 'normal',
      origin: 'discord',
      tags: ['login'],
    });
    expect(ticket.lastPlayerMessageAt).toBeInstanceOf(Date);
    const convo = await withTenant(db.app, s.orgId, (tx) => tickets.conversation(tx, ticket.id));
    expect(convo.map((m) => [m.authorType, m.body])).toEqual([['player', 'Error 42 at start']]);
    expect(await outboxTypes(s.orgId, ticket.id)).toEqual(['ticket.created']);
    // A player is not staff: history yes, audit no.
    const audit = await db.admin.query('select 1 from audit_logs where org_id = $1 and target_id = $2', [
      s.orgId,
      ticket.id,
    ]);
    expect(audit.rowCount).toBe(0);
    const events = await withTenant(db.app, s.orgId, (tx) => tickets.ticketHistory(tx, ticket.id));
    expect(events.map((e) => e.type)).toEqual(['ticket.created']);
  });

  it('records staff reply as first response, notes stay internal, and every staff action is audited', async () => {
    const s = await setup();
    const t = await withTenant(db.app, s.orgId, async (tx) => {
      const { ticket } = await tickets.openTicket(
        tx,
        { subject: 'Refund', body: 'please', origin: 'game' },
        s.playerActor,
      );
      await tickets.addNote(tx, { ticketId: ticket.id, body: 'check payment logs' }, s.owner);
      const r = await tickets.reply(
        tx,
        { ticketId: ticket.id, body: 'Looking into it', origin: 'panel', status: 'pending' },
        s.owner,
      );
      return r.ticket;
    });
    expect(t.firstResponseAt).toBeInstanceOf(Date);
    expect(t.status).toBe('pending');
    const convo = await withTenant(db.app, s.orgId, (tx) => tickets.conversation(tx, t.id));
    expect(convo.map((m) => m.body)).toEqual(['please', 'Looking into it']);
    expect(await outboxTypes(s.orgId, t.id)).toEqual([
      'ticket.created',
      'note.created',
      'message.created',
      'ticket.status_changed',
    ]);
    const audit = await db.admin.query<{ action: string }>(
      'select action from audit_logs where org_id = $1 and target_id = $2 order by id',
      [s.orgId, t.id],
    );
    expect(audit.rows.map((r) => r.action)).toEqual([
      'note.created',
      'message.created',
      'ticket.status_changed',
    ]);
    // The player answers: a pending ticket goes back to open.
    const back = await withTenant(db.app, s.orgId, (tx) =>
      tickets.reply(tx, { ticketId: t.id, body: 'here is the receipt', origin: 'game' }, s.playerActor),
    );
    expect(back.ticket.status).toBe('open');
  });

  it('replies are idempotent on their external id', async () => {
    const s = await setup();
    const { ticket } = await withTenant(db.app, s.orgId, (tx) =>
      tickets.openTicket(tx, { subject: 'x', origin: 'discord' }, s.owner),
    );
    const a = await withTenant(db.app, s.orgId, (tx) =>
      tickets.reply(
        tx,
        { ticketId: ticket.id, body: 'hi', origin: 'discord', externalId: '1111111111111111111' },
        s.playerActor,
      ),
    );
    const b = await withTenant(db.app, s.orgId, (tx) =>
      tickets.reply(
        tx,
        { ticketId: ticket.id, body: 'hi', origin: 'discord', externalId: '1111111111111111111' },
        s.playerActor,
      ),
    );
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.message.id).toBe(a.message.id);
    const n = await db.admin.query('select count(*)::int as n from messages where ticket_id = $1', [
      ticket.id,
    ]);
    expect(n.rows[0].n).toBe(1);
  });

  const pairs = STATUSES.flatMap((from) =>
    STATUSES.filter((to) => to !== from).map((to) => [from, to] as const),
  );
  it.each(pairs)('status %s -> %s follows the transition table', async (from, to) => {
    const s = await setup();
    const t = await ticketIn(s.orgId, s.owner, from);
    expect(t.status).toBe(from);
    const before = await db.admin.query('select count(*)::int as n from outbox where aggregate_id = $1', [
      t.id,
    ]);
    const attempt = withTenant(db.app, s.orgId, (tx) =>
      tickets.setStatus(tx, { ticketId: t.id, status: to, reason: 'r' }, s.owner),
    );
    if (TRANSITIONS[from].includes(to)) {
      const after = await attempt;
      expect(after.status).toBe(to);
      expect(after.closedAt !== null).toBe(to === 'closed');
      if (to !== 'closed') expect(after.solvedAt !== null).toBe(to === 'solved');
      expect(after.closeReason).toBe(to === 'closed' ? 'r' : null);
    } else {
      await expect(attempt).rejects.toMatchObject({ code: 'invalid_transition' });
      const row = await db.admin.query<{ status: string }>('select status from tickets where id = $1', [
        t.id,
      ]);
      expect(row.rows[0]?.status).toBe(from);
      const unchanged = await db.admin.query(
        'select count(*)::int as n from outbox where aggregate_id = $1',
        [t.id],
      );
      expect(unchanged.rows[0].n).toBe(before.rows[0].n);
    }
  });

  it('close and reopen emit their own events; setting the same status is a no-op', async () => {
    const s = await setup();
    const t = await ticketIn(s.orgId, s.owner, 'open');
    await withTenant(db.app, s.orgId, async (tx) => {
      await tickets.close(tx, { ticketId: t.id, reason: 'fixed' }, s.owner);
      await tickets.close(tx, { ticketId: t.id, reason: 'fixed' }, s.owner);
      const r = await tickets.reopen(tx, t.id, s.owner);
      expect(r).toMatchObject({ status: 'open', closedAt: null, closeReason: null });
    });
    expect(await outboxTypes(s.orgId, t.id)).toEqual(['ticket.created', 'ticket.closed', 'ticket.reopened']);
    await expect(
      withTenant(db.app, s.orgId, (tx) => tickets.reopen(tx, t.id, s.owner)),
    ).rejects.toMatchObject({
      code: 'invalid_transition',
    });
    await expect(
      withTenant(db.app, s.orgId, (tx) =>
        tickets.reply(tx, { ticketId: (t as { id: string }).id, body: 'x', origin: 'panel' }, s.owner),
      ),
    ).resolves.toBeDefined();
  });

  it('refuses replies on a closed ticket', async () => {
    const s = await setup();
    const t = await ticketIn(s.orgId, s.owner, 'closed');
    await expect(
      withTenant(db.app, s.orgId, (tx) =>
        tickets.reply(tx, { ticketId: t.id, body: 'late', origin: 'discord' }, s.playerActor),
      ),
    ).rejects.toMatchObject({ code: 'invalid_transition' });
  });

  it('assigns, claims, transfers, with assignment history, and refuses non-members', async () => {
    const s = await setup();
    const agent = await createUser(db.app, { displayName: 'Agent' });
    const outsider = await createUser(db.app, { displayName: 'Outsider' });
    const t = await ticketIn(s.orgId, s.owner, 'open');
    const result = await withTenant(db.app, s.orgId, async (tx) => {
      await addMember(tx, { userId: agent.id, role: 'agent' }, s.owner);
      const team = await createTeam(tx, { name: 'Billing' }, s.owner);
      await tickets.assign(tx, { ticketId: t.id, assigneeId: agent.id }, s.owner);
      await tickets.claim(tx, t.id, s.owner);
      return tickets.transfer(tx, { ticketId: t.id, teamId: team.id }, s.owner);
    });
    expect(result.assigneeId).toBeNull();
    expect(result.teamId).not.toBeNull();
    const hist = await db.admin.query<{ user_id: string | null; open: boolean }>(
      'select user_id, unassigned_at is null as open from ticket_assignments where ticket_id = $1 order by assigned_at, id',
      [t.id],
    );
    expect(hist.rows.map((r) => r.open)).toEqual([false, false, true]);
    expect(hist.rows[0]?.user_id).toBe(agent.id);
    await expect(
      withTenant(db.app, s.orgId, (tx) =>
        tickets.assign(tx, { ticketId: t.id, assigneeId: outsider.id }, s.owner),
      ),
    ).rejects.toMatchObject({ code: 'not_found' });
  });

  it('changes priority, tags, subject and custom fields', async () => {
    const s = await setup();
    const t = await ticketIn(s.orgId, s.owner, 'open');
    const after = await withTenant(db.app, s.orgId, async (tx) => {
      await tickets.setPriority(tx, { ticketId: t.id, priority: 'urgent' }, s.owner);
      await tickets.updateFields(
        tx,
        { ticketId: t.id, addTags: ['bug', 'crash'], customFields: { build: '1.2', os: 'win' } },
        s.owner,
      );
      return tickets.updateFields(
        tx,
        { ticketId: t.id, subject: 'Crash on start', removeTags: ['bug'], customFields: { os: null } },
        s.owner,
      );
    });
    expect(after).toMatchObject({
      priority: 'urgent',
      tags: ['crash'],
      subject: 'Crash on start',
      customFields: { build: '1.2' },
    });
    expect(await outboxTypes(s.orgId, t.id)).toEqual([
      'ticket.created',
      'ticket.priority_changed',
      'ticket.updated',
      'ticket.updated',
    ]);
  });

  it('merges two tickets: conversation moves, the source closes pointing at the target', async () => {
    const s = await setup();
    const [a, b] = await withTenant(db.app, s.orgId, async (tx) => [
      (
        await tickets.openTicket(
          tx,
          { subject: 'a', body: 'first', origin: 'discord', tags: ['x'] },
          s.playerActor,
        )
      ).ticket,
      (await tickets.openTicket(tx, { subject: 'b', body: 'second', origin: 'email' }, s.playerActor)).ticket,
    ]);
    if (!a || !b) throw new Error('setup');
    const { source, target } = await withTenant(db.app, s.orgId, (tx) =>
      tickets.merge(tx, { sourceId: a.id, targetId: b.id }, s.owner),
    );
    expect(source).toMatchObject({
      status: 'closed',
      mergedIntoId: b.id,
      closeReason: `merged into #${b.number}`,
    });
    expect(target.tags).toEqual(['x']);
    const convo = await withTenant(db.app, s.orgId, (tx) => tickets.conversation(tx, b.id));
    expect(convo.map((m) => m.body).sort()).toEqual(['first', 'second']);
    await expect(
      withTenant(db.app, s.orgId, (tx) => tickets.merge(tx, { sourceId: a.id, targetId: b.id }, s.owner)),
    ).rejects.toMatchObject({ code: 'invalid_transition' });
    await expect(
      withTenant(db.app, s.orgId, (tx) => tickets.merge(tx, { sourceId: b.id, targetId: b.id }, s.owner)),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('takes one CSAT rating, only once the ticket is solved or closed', async () => {
    const s = await setup();
    const { ticket } = await withTenant(db.app, s.orgId, (tx) =>
      tickets.openTicket(tx, { subject: 'r', origin: 'discord', requesterId: s.player.id }, s.playerActor),
    );
    const rate = () =>
      withTenant(db.app, s.orgId, (tx) =>
        tickets.rate(tx, { ticketId: ticket.id, rating: 5, comment: 'great' }, s.playerActor),
      );
    await expect(rate()).rejects.toMatchObject({ code: 'invalid_transition' });
    await withTenant(db.app, s.orgId, (tx) => tickets.close(tx, { ticketId: ticket.id }, s.owner));
    expect((await rate()).rating).toBe(5);
    await expect(rate()).rejects.toMatchObject({ code: 'already_rated' });
    await expect(
      withTenant(db.app, s.orgId, (tx) =>
        tickets.rate(tx, { ticketId: ticket.id, rating: 9 }, s.playerActor),
      ),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it("sends a message in 6 round trips, the ticket's email thread told in its insert", async () => {
    const s = await setup();
    const open = async (email: boolean) => {
      const { ticket } = await withTenant(db.app, s.orgId, (tx) =>
        tickets.openTicket(tx, { subject: 'trips', origin: 'panel' }, s.owner),
      );
      if (email)
        await db.admin.query(
          `insert into email_threads (org_id, ticket_id, token, player_address, subject)
           values ($1, $2, 'tripstoken0000000001', 'p@players.example', 'trips')`,
          [s.orgId, ticket.id],
        );
      return ticket.id;
    };
    for (const email of [true, false]) {
      const ticketId = await open(email);
      const { pool, sent, release } = await countingPool(db.app);
      try {
        await withTenant(pool, s.orgId, (tx) =>
          tickets.reply(tx, { ticketId, body: 'answer', origin: 'panel' }, s.owner),
        );
      } finally {
        release();
      }
      // begin + tenant, the ticket's lock, the message (and whether the ticket has an email
      // thread), the ticket's update, its history/audit/outbox, commit.
      expect(sent, email ? 'on an email ticket' : 'on another').toHaveLength(6);
      const event = await db.admin.query(
        `select payload -> 'ticket' ->> 'emailThread' as mail from outbox
          where aggregate_id = $1 and event_type = 'message.created'`,
        [ticketId],
      );
      // The relay queues an email reply from the event alone.
      expect(event.rows).toEqual([{ mail: String(email) }]);
    }
  });

  it('validates input and names the field', async () => {
    const s = await setup();
    const err = await withTenant(db.app, s.orgId, (tx) =>
      tickets.openTicket(tx, { subject: '', origin: 'fax' as 'api' }, s.owner),
    ).catch((e) => e);
    expect(err).toMatchObject({ code: 'validation_failed', status: 422 });
    expect(err.details.map((d: { path: string }) => d.path).sort()).toEqual(['origin', 'subject']);
  });

  it('lists the inbox (searchTickets, what the API serves) with filters and keyset pagination', async () => {
    const s = await setup();
    await withTenant(db.app, s.orgId, async (tx) => {
      for (let i = 0; i < 5; i++)
        await tickets.openTicket(
          tx,
          { subject: `t${i}`, origin: 'panel', priority: i % 2 ? 'high' : 'low' },
          s.owner,
        );
    });
    const page1 = await withTenant(db.app, s.orgId, (tx) => searchTickets(tx, { limit: 2 }));
    expect(page1.tickets).toHaveLength(2);
    const page2 = await withTenant(db.app, s.orgId, (tx) =>
      searchTickets(tx, { limit: 2, after: page1.next ?? '' }),
    );
    const page3 = await withTenant(db.app, s.orgId, (tx) =>
      searchTickets(tx, { limit: 2, after: page2.next ?? '' }),
    );
    const all = [...page1.tickets, ...page2.tickets, ...page3.tickets].map((t) => t.number);
    expect(new Set(all).size).toBe(5);
    expect(page3.next).toBeNull();
    const high = await withTenant(db.app, s.orgId, (tx) => searchTickets(tx, { priority: 'high' }));
    expect(high.tickets.map((t) => t.priority)).toEqual(['high', 'high']);
  });
});
