import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../db/tenant.js';
import { openTicket, reply, setStatus } from '../../db/tickets.js';
import { autoCloseSweep } from '../../workers/auto-close.js';
import { manualClock } from '../../workers/clock.js';
import { impliedJobs } from '../../workers/event-jobs.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
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

async function setup(limitHours: number | null) {
  const org = await makeOrg(db.app);
  await db.admin.query('update organizations set inactivity_close_hours = $2 where id = $1', [
    org.orgId,
    limitHours,
  ]);
  const player = await withTenant(db.app, org.orgId, async (tx) => {
    const r = await tx.query<{ id: string }>(
      `insert into player_profiles (org_id, display_name) values ($1, 'Quiet player') returning id`,
      [tx.orgId],
    );
    return { type: 'player' as const, id: r.rows[0]?.id as string };
  });
  /** A ticket a staff member answered and set to pending: waiting on the player from now on. */
  const waiting = async () =>
    withTenant(db.app, org.orgId, async (tx) => {
      const { ticket } = await openTicket(
        tx,
        { subject: 'Refund?', body: 'I want a refund', origin: 'game' },
        player,
      );
      await reply(
        tx,
        { ticketId: ticket.id, body: 'Which order?', origin: 'panel', status: 'pending' },
        org.owner,
      );
      return ticket;
    });
  const state = async (ticketId: string) => {
    const t = await db.admin.query<{ status: string; close_reason: string | null }>(
      'select status, close_reason from tickets where id = $1',
      [ticketId],
    );
    const msgs = await db.admin.query<{ body: string; author_type: string }>(
      `select body, author_type from messages where ticket_id = $1 and author_type = 'system' order by created_at`,
      [ticketId],
    );
    return { ...t.rows[0], warnings: msgs.rows.length };
  };
  /** Moves the ticket's whole past `hours` back, as if it had been waiting that long. */
  const age = async (ticketId: string, hours: number) => {
    const shift = `${hours} hours`;
    await db.admin.query(
      `update tickets set created_at = created_at - $2::interval,
         last_staff_message_at = last_staff_message_at - $2::interval,
         last_player_message_at = last_player_message_at - $2::interval,
         pending_since = pending_since - $2::interval,
         inactivity_warned_at = inactivity_warned_at - $2::interval where id = $1`,
      [ticketId, shift],
    );
    await db.admin.query(
      `update ticket_events set created_at = created_at - $2::interval,
         data = case when data ? 'warnedAt' then jsonb_set(data, '{warnedAt}',
           to_jsonb(((data->>'warnedAt')::timestamptz - $2::interval))) else data end
       where ticket_id = $1`,
      [ticketId, shift],
    );
  };
  return { org, player, waiting, state, age };
}

describe('auto-close', () => {
  it('warns after the inactivity limit, then closes as inactive after the grace period', async () => {
    const s = await setup(48);
    const t = await s.waiting();
    await s.age(t.id, 47);
    await autoCloseSweep(env.deps);
    expect(await s.state(t.id)).toMatchObject({ status: 'pending', warnings: 0 });

    await s.age(t.id, 1.1);
    await autoCloseSweep(env.deps);
    expect(await s.state(t.id)).toMatchObject({ status: 'pending', warnings: 1 });
    // A second pass (another worker, a restart) does not warn twice.
    await autoCloseSweep(env.deps);
    expect(await s.state(t.id)).toMatchObject({ warnings: 1 });
    // The warning is a message event: it goes out to Discord like a staff reply.
    const ev = await db.admin.query<{
      id: number;
      org_id: string;
      event_type: string;
      aggregate_type: string;
      aggregate_id: string;
      payload: Record<string, unknown>;
      created_at: Date;
    }>(
      `select * from outbox where aggregate_id = $1 and event_type = 'message.created' order by id desc limit 1`,
      [t.id],
    );
    const row = ev.rows[0];
    if (!row) throw new Error('no warning event');
    expect(
      impliedJobs({
        id: Number(row.id),
        orgId: row.org_id,
        eventType: row.event_type,
        aggregateType: row.aggregate_type,
        aggregateId: row.aggregate_id,
        payload: row.payload,
        createdAt: row.created_at,
      }).map((j) => j.name),
    ).toContain('discord.message');

    await s.age(t.id, 23);
    await autoCloseSweep(env.deps);
    expect(await s.state(t.id)).toMatchObject({ status: 'pending' });
    await s.age(t.id, 1.02);
    expect(await autoCloseSweep(env.deps)).toMatchObject({ closed: 1 });
    expect(await s.state(t.id)).toMatchObject({ status: 'closed', close_reason: 'inactive' });
    const history = await db.admin.query<{ type: string }>(
      `select type from ticket_events where ticket_id = $1 order by id`,
      [t.id],
    );
    expect(history.rows.map((r) => r.type).slice(-2)).toEqual(['ticket.inactivity_warning', 'ticket.closed']);
  });

  it('a player reply after the warning cancels the close', async () => {
    const s = await setup(24);
    const t = await s.waiting();
    await s.age(t.id, 25);
    await autoCloseSweep(env.deps);
    expect(await s.state(t.id)).toMatchObject({ warnings: 1 });
    await withTenant(db.app, s.org.orgId, (tx) =>
      reply(tx, { ticketId: t.id, body: 'Order 1234', origin: 'game' }, s.player),
    );
    await s.age(t.id, 60);
    await autoCloseSweep(env.deps);
    expect(await s.state(t.id)).toMatchObject({ status: 'open', warnings: 1 });
  });

  it('a staff reply that keeps it pending restarts the wait; no limit means never', async () => {
    const s = await setup(24);
    const t = await s.waiting();
    await s.age(t.id, 25);
    await autoCloseSweep(env.deps);
    expect(await s.state(t.id)).toMatchObject({ warnings: 1 });
    // Staff write again (still waiting on the player): the old warning no longer counts, so a
    // day later the ticket is warned again rather than closed.
    await withTenant(db.app, s.org.orgId, (tx) =>
      reply(tx, { ticketId: t.id, body: 'Any news?', origin: 'panel', status: 'pending' }, s.org.owner),
    );
    await s.age(t.id, 24.02);
    await autoCloseSweep(env.deps);
    expect(await s.state(t.id)).toMatchObject({ status: 'pending', warnings: 2 });

    const none = await setup(null);
    const t2 = await none.waiting();
    await none.age(t2.id, 1000);
    await autoCloseSweep(env.deps);
    expect(await none.state(t2.id)).toMatchObject({ status: 'pending', warnings: 0 });
    await withTenant(db.app, none.org.orgId, (tx) =>
      setStatus(tx, { ticketId: t2.id, status: 'solved' }, none.org.owner),
    );
  });

  it("counts the wait on the database's clock: a worker whose clock runs ahead neither warns nor closes early", async () => {
    const s = await setup(24);
    const t = await s.waiting();
    await s.age(t.id, 23);
    // This worker's clock is 2 hours ahead of the database's: the ticket has really waited 23 of 24 hours.
    clock.set(new Date(Date.now() + 2 * HOUR));
    await autoCloseSweep(env.deps);
    expect(await s.state(t.id)).toMatchObject({ status: 'pending', warnings: 0 });

    await s.age(t.id, 1.1);
    await autoCloseSweep(env.deps);
    expect(await s.state(t.id)).toMatchObject({ status: 'pending', warnings: 1 });
    // The warning is dated by the database, so the grace is a full day of the database's time.
    const warned = await db.admin.query<{ drift: number }>(
      'select abs(extract(epoch from inactivity_warned_at - now()))::float8 as drift from tickets where id = $1',
      [t.id],
    );
    expect(warned.rows[0]?.drift).toBeLessThan(60);
    await s.age(t.id, 23);
    await autoCloseSweep(env.deps);
    expect(await s.state(t.id)).toMatchObject({ status: 'pending', warnings: 1 });
    await s.age(t.id, 1.1);
    expect(await autoCloseSweep(env.deps)).toMatchObject({ closed: 1 });
    expect(await s.state(t.id)).toMatchObject({ status: 'closed', close_reason: 'inactive' });
  });

  it('finds a ticket due for a warning however many pending tickets are not due yet', async () => {
    const s = await setup(48);
    const t = await s.waiting();
    await s.age(t.id, 49);
    // 2,100 pending tickets that have not waited long, all touched before the due one.
    await db.admin.query(
      `insert into tickets (org_id, number, subject, status, origin, updated_at)
       select $1, 100000 + g, 'Waiting', 'pending', 'api', now() - interval '1 day' from generate_series(1, 2100) g`,
      [s.org.orgId],
    );
    await autoCloseSweep(env.deps);
    expect(await s.state(t.id)).toMatchObject({ status: 'pending', warnings: 1 });
  });
});

describe('solved tickets close by themselves', () => {
  async function solvedSetup(solvedHours: number | null) {
    const s = await setup(null);
    await db.admin.query('update organizations set solved_close_hours = $2 where id = $1', [
      s.org.orgId,
      solvedHours,
    ]);
    const solved = async () =>
      withTenant(db.app, s.org.orgId, async (tx) => {
        const { ticket } = await openTicket(
          tx,
          { subject: 'Stuck in the wall', body: 'I fell through the map', origin: 'game' },
          s.player,
        );
        await reply(
          tx,
          { ticketId: ticket.id, body: 'Moved you out, try again', origin: 'panel', status: 'solved' },
          s.org.owner,
        );
        return ticket;
      });
    /** Moves the solve `hours` back, as if the player had been silent that long since. */
    const ageSolve = (ticketId: string, hours: number) =>
      db.admin.query('update tickets set solved_at = solved_at - $2::interval where id = $1', [
        ticketId,
        `${hours} hours`,
      ]);
    return { ...s, solved, ageSolve };
  }

  it("closes a solved ticket after the org's delay, tells the player and audits the timer", async () => {
    const s = await solvedSetup(72);
    const t = await s.solved();
    await s.ageSolve(t.id, 71);
    await autoCloseSweep(env.deps);
    expect(await s.state(t.id)).toMatchObject({ status: 'solved', warnings: 0 });
    await s.ageSolve(t.id, 1.1);
    expect(await autoCloseSweep(env.deps)).toMatchObject({ solvedClosed: 1 });
    expect(await s.state(t.id)).toMatchObject({ status: 'closed', warnings: 1 });
    const closed = await db.admin.query<{ close_reason: string }>(
      'select close_reason from tickets where id = $1',
      [t.id],
    );
    expect(closed.rows[0]?.close_reason).toMatch(/solved/i);
    // The timer is the actor of the history and of the audit entries.
    const audit = await db.admin.query<{ action: string; actor_type: string }>(
      `select action, actor_type from audit_logs where target_id = $1::text and action like 'ticket.%'
        and created_at > now() - interval '1 minute' order by id`,
      [t.id],
    );
    expect(audit.rows.slice(-2)).toEqual([
      { action: 'ticket.solved_close', actor_type: 'system' },
      { action: 'ticket.closed', actor_type: 'system' },
    ]);
    // The notice is a system message: the game reads it, an email player gets it by mail.
    const ev = await db.admin.query<{ payload: { message: { authorType: string } } }>(
      `select payload from outbox where aggregate_id = $1 and event_type = 'message.created' order by id desc limit 1`,
      [t.id],
    );
    expect(ev.rows[0]?.payload.message.authorType).toBe('system');
    // A second pass finds nothing more to do.
    expect(await autoCloseSweep(env.deps)).toMatchObject({ solvedClosed: 0 });
  });

  it('a player reply before the deadline reopens it; no delay set means solved stays solved', async () => {
    const s = await solvedSetup(24);
    const t = await s.solved();
    await s.ageSolve(t.id, 20);
    await withTenant(db.app, s.org.orgId, (tx) =>
      reply(tx, { ticketId: t.id, body: 'Still stuck', origin: 'game' }, s.player),
    );
    await s.ageSolve(t.id, 100);
    await autoCloseSweep(env.deps);
    expect(await s.state(t.id)).toMatchObject({ status: 'open', warnings: 0 });

    const none = await solvedSetup(null);
    const t2 = await none.solved();
    await none.ageSolve(t2.id, 10_000);
    await autoCloseSweep(env.deps);
    expect(await none.state(t2.id)).toMatchObject({ status: 'solved', warnings: 0 });
  });

  it('tells an email player by mail, and a Discord player in the thread through the ticket sync', async () => {
    const s = await solvedSetup(24);
    const byMail = await s.solved();
    const onDiscord = await s.solved();
    await db.admin.query(`update tickets set origin = 'email' where id = $1`, [byMail.id]);
    // An email ticket has its thread: the reply address the notice is mailed through.
    await db.admin.query(
      `insert into email_threads (org_id, ticket_id, token, player_address, subject)
       select org_id, id, 'autoclosetoken0000001', 'ana@players.example', subject from tickets where id = $1`,
      [byMail.id],
    );
    await db.admin.query(`update tickets set discord_channel_id = '990001' where id = $1`, [onDiscord.id]);
    await s.ageSolve(byMail.id, 25);
    await s.ageSolve(onDiscord.id, 25);
    const before = await db.admin.query<{ id: string }>('select coalesce(max(id), 0) as id from outbox');
    expect(await autoCloseSweep(env.deps)).toMatchObject({ solvedClosed: 2 });
    const jobsOf = async (ticketId: string) => {
      const rows = await db.admin.query<{
        id: number;
        org_id: string;
        event_type: string;
        aggregate_type: string;
        aggregate_id: string;
        payload: Record<string, unknown>;
        created_at: Date;
      }>('select * from outbox where aggregate_id = $1 and id > $2', [ticketId, before.rows[0]?.id]);
      return rows.rows.flatMap((r) =>
        impliedJobs({
          id: Number(r.id),
          orgId: r.org_id,
          eventType: r.event_type,
          aggregateType: r.aggregate_type,
          aggregateId: r.aggregate_id,
          payload: r.payload,
          createdAt: r.created_at,
        }).map((j) => j.name),
      );
    };
    expect(await jobsOf(byMail.id)).toContain('email.reply');
    // The thread's closing message gives the reason; no separate message races the lock.
    expect(await s.state(onDiscord.id)).toMatchObject({ status: 'closed', warnings: 0 });
    const discordJobs = await jobsOf(onDiscord.id);
    expect(discordJobs).toContain('discord.ticket_sync');
    expect(discordJobs).not.toContain('discord.message');
  });
});
