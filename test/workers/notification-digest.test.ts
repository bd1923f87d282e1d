import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addInboundAddress } from '../../db/email-addresses.js';
import { addMember, changeRole } from '../../db/memberships.js';
import { updatePrefs } from '../../db/notification-prefs.js';
import { upsertPlayer } from '../../db/players.js';
import { createRole } from '../../db/roles.js';
import { addTeamMember, createTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import * as tickets from '../../db/tickets.js';
import { createUser } from '../../db/users.js';
import { manualClock } from '../../workers/clock.js';
import { createMailer } from '../../workers/email-outbound.js';
import { jobIds } from '../../workers/jobs.js';
import { digestSweep, sendDigest } from '../../workers/notification-digest.js';
import { notifyForEvent } from '../../workers/notifications.js';
import { startSmtpSink } from '../email/support.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { testDeps, uniquePrefix } from './support.js';

/**
 * The daily email digest against a loopback SMTP sink: held items go out as one mail at the
 * member's hour in their own zone, once per day however often the sweep and the job run.
 */
const db = useTestDb();
const clock = manualClock(new Date('2026-03-10T11:00:00Z'));
let env: ReturnType<typeof testDeps>;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;

beforeAll(async () => {
  sink = await startSmtpSink();
  env = testDeps(db.app, uniquePrefix(), { clock });
  env.deps.mailer = createMailer(`smtp://127.0.0.1:${sink.port}`);
  env.deps.panelUrl = 'https://gm.studio.example';
});
afterAll(async () => {
  env.deps.mailer?.close();
  await env.close();
  await sink.close();
});

let n = 0;
async function desk() {
  const o = await makeOrg(db.app, 'Digest desk');
  const tx = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(db.app, o.orgId, fn);
  const ana = (await createUser(db.app, { displayName: `Ana ${++n}` })).id;
  const email = `ana${n}-${o.orgId.slice(0, 8)}@staff.example`;
  await db.admin.query('update users set email = $2 where id = $1', [ana, email]);
  const { team, player } = await tx(async (t) => {
    await addMember(t, { userId: ana, role: 'agent' }, o.owner);
    const team = await createTeam(t, { name: 'Support' }, o.owner);
    await addTeamMember(t, { teamId: team.id, userId: ana }, o.owner);
    await addInboundAddress(t, { address: `support@digest-${o.orgId.slice(0, 8)}.localhost` }, o.owner);
    const player = await upsertPlayer(t, { displayName: 'Player', discordUserId: '423456789012345678' });
    return { team, player };
  });
  // New York is UTC-4 in March 2026 (summer time from the 8th): 08:00 there is 12:00 UTC.
  await tx((t) =>
    updatePrefs(
      t,
      ana,
      {
        timeZone: 'America/New_York',
        emailDigest: true,
        digestHour: 8,
        events: { assigned: { email: true }, new_in_queue: { email: true } },
      },
      { type: 'user', id: ana },
    ),
  );
  const lastOutbox = async () =>
    Number((await db.admin.query('select coalesce(max(id), 0) as id from outbox')).rows[0].id);
  const deliverSince = async (after: number) => {
    const rows = await db.admin.query<{ id: string }>(
      'select id from outbox where org_id = $1 and id > $2 order by id',
      [o.orgId, after],
    );
    for (const r of rows.rows) await notifyForEvent(env.deps, { orgId: o.orgId, outboxId: Number(r.id) });
  };
  const open = async (subject: string) => {
    const start = await lastOutbox();
    const t = await tx((x) =>
      tickets.openTicket(
        x,
        { subject, body: 'help', origin: 'discord', requesterId: player.id, teamId: team.id },
        { type: 'player', id: player.id },
      ),
    ).then((r) => r.ticket);
    await tx((x) => tickets.assign(x, { ticketId: t.id, assigneeId: ana }, o.owner));
    await deliverSince(start);
    return t;
  };
  const mails = () =>
    Promise.all(sink.mails.filter((m) => m.to.includes(email)).map((m) => simpleParser(m.raw)));
  /** The sweep, then each job it enqueued, as the queue would run them; returns the jobs' days. */
  const sweepAndRun = async () => {
    const before = await env.deps.queues.get('email').getJobs(['waiting', 'delayed', 'prioritized']);
    const queued = await digestSweep(env.deps);
    const jobs = (await env.deps.queues.get('email').getJobs(['waiting', 'delayed', 'prioritized'])).filter(
      (j) => !before.some((b) => b.id === j.id) && j.data.orgId === o.orgId,
    );
    for (const j of jobs) {
      await sendDigest(env.deps, j.data);
      await j.remove();
    }
    return { queued, days: jobs.map((j) => j.data.day as string), ids: jobs.map((j) => j.id) };
  };
  return { ...o, ana, email, team, tx, open, mails, sweepAndRun };
}

describe('the daily digest', () => {
  it('holds the chosen email for one mail a day at the member’s hour, in their zone, sent once', async () => {
    clock.set(new Date('2026-03-10T11:00:00Z'));
    const d = await desk();
    const t1 = await d.open('Lost my sword');
    const t2 = await d.open('Cannot log in');
    // Held, not mailed one by one.
    expect(await d.mails()).toEqual([]);
    const held = await db.admin.query<{ status: string }>(
      `select d.status from notification_deliveries d join notifications n on n.id = d.notification_id
       where n.user_id = $1 and d.channel = 'email'`,
      [d.ana],
    );
    expect(held.rows.map((r) => r.status)).toEqual(['digest', 'digest', 'digest', 'digest']);
    // 07:00 in New York: not yet.
    expect((await d.sweepAndRun()).days).toEqual([]);
    clock.set(new Date('2026-03-10T12:05:00Z'));
    const first = await d.sweepAndRun();
    expect(first.days).toEqual(['2026-03-10']);
    expect(first.ids).toEqual([jobIds.digest(d.orgId, d.ana, '2026-03-10')]);
    const [mail, ...more] = await d.mails();
    expect(more).toEqual([]);
    expect(mail?.subject).toBe('Your daily digest for 2026-03-10: 4 notifications');
    expect(mail?.headers.get('auto-submitted')).toBe('auto-generated');
    for (const t of [t1, t2]) {
      expect(mail?.text).toContain(`New ticket #${t.number} in your team's queue`);
      expect(mail?.text).toContain(`Ticket #${t.number} is yours`);
      expect(mail?.text).toContain(`https://gm.studio.example/o/${d.orgId}/t/${t.id}`);
    }
    // A retried job, a second sweep the same day: nothing more.
    expect(await sendDigest(env.deps, { orgId: d.orgId, userId: d.ana, day: '2026-03-10' })).toBe(
      'already done',
    );
    clock.set(new Date('2026-03-10T20:00:00Z'));
    expect((await d.sweepAndRun()).days).toEqual([]);
    expect(await d.mails()).toHaveLength(1);
    // What happens after today's digest waits for tomorrow's.
    const t3 = await d.open('Refund please');
    expect((await d.sweepAndRun()).days).toEqual([]);
    clock.set(new Date('2026-03-11T11:59:00Z'));
    expect((await d.sweepAndRun()).days).toEqual([]);
    clock.set(new Date('2026-03-11T12:00:00Z'));
    expect((await d.sweepAndRun()).days).toEqual(['2026-03-11']);
    const all = await d.mails();
    expect(all).toHaveLength(2);
    expect(all[1]?.subject).toBe('Your daily digest for 2026-03-11: 2 notifications');
    expect(all[1]?.text).toContain(`Ticket #${t3.number} is yours`);
    expect(all[1]?.text).not.toContain(`Ticket #${t1.number} is yours`);
    const sent = await db.admin.query<{ status: string }>(
      `select d.status from notification_deliveries d join notifications n on n.id = d.notification_id
       where n.user_id = $1 and d.channel = 'email'`,
      [d.ana],
    );
    expect(new Set(sent.rows.map((r) => r.status))).toEqual(new Set(['sent']));
  });

  it('retries a relay failure without sending twice, and lets one of two racing attempts send', async () => {
    clock.set(new Date('2026-04-02T07:00:00Z'));
    const d = await desk();
    await d.open('Lag in ranked');
    clock.set(new Date('2026-04-02T12:30:00Z'));
    const job = { orgId: d.orgId, userId: d.ana, day: '2026-04-02' };
    // The relay is away: the job fails (the queue retries it) and the digest stays owed.
    const good = env.deps.mailer;
    env.deps.mailer = createMailer('smtp://127.0.0.1:9');
    await expect(sendDigest(env.deps, job)).rejects.toThrow();
    env.deps.mailer?.close();
    env.deps.mailer = good;
    expect(await d.mails()).toEqual([]);
    // Two attempts at once (a stalled job's rerun beside the retry): one sends, one stands back.
    const results = await Promise.allSettled([sendDigest(env.deps, job), sendDigest(env.deps, job)]);
    const outcomes = results.map((r) => (r.status === 'fulfilled' ? r.value : 'thrown'));
    expect(outcomes.filter((x) => x === 'sent')).toHaveLength(1);
    // The other saw the fresh claim (and threw, to retry later) or, if it came later, the day done.
    expect(outcomes.filter((x) => x !== 'sent')).toEqual([expect.stringMatching(/^(thrown|already done)$/)]);
    expect(await sendDigest(env.deps, job)).toBe('already done');
    const mails = await d.mails();
    expect(mails).toHaveLength(1);
    expect(mails[0]?.subject).toBe('Your daily digest for 2026-04-02: 2 notifications');
  });

  it('checks access and the member’s wishes again when the digest goes out, not only when held', async () => {
    const day = '2026-05-06';
    const held = async (userId: string) =>
      (
        await db.admin.query<{ status: string; reason: string | null; title: string }>(
          `select d.status, d.reason, n.title from notification_deliveries d
           join notifications n on n.id = d.notification_id
           where n.user_id = $1 and d.channel = 'email' order by n.title`,
          [userId],
        )
      ).rows;
    // Four members, each with two held items at 07:00 in New York; each then loses the right or
    // the wish to get them before 08:00.
    clock.set(new Date('2026-05-06T11:00:00Z'));
    const demoted = await desk();
    const disabled = await desk();
    const unsubscribed = await desk();
    const fewer = await desk();
    for (const d of [demoted, disabled, unsubscribed, fewer])
      await d.open(`Secret plans ${d.ana.slice(0, 4)}`);
    await demoted.tx(async (t) => {
      const role = await createRole(
        t,
        { key: 'billing', name: 'Billing', permissions: ['org.read'] },
        demoted.owner,
      );
      await changeRole(t, { userId: demoted.ana, role: role.key }, demoted.owner);
    });
    await db.admin.query('update users set disabled_at = now() where id = $1', [disabled.ana]);
    await unsubscribed.tx((t) =>
      updatePrefs(t, unsubscribed.ana, { emailDigest: false }, { type: 'user', id: unsubscribed.ana }),
    );
    await fewer.tx((t) =>
      updatePrefs(t, fewer.ana, { events: { assigned: { email: false } } }, { type: 'user', id: fewer.ana }),
    );
    clock.set(new Date('2026-05-06T12:10:00Z'));
    // One sweep finds all four due (their items are still held); each job then decides.
    await digestSweep(env.deps);
    const run = async (d: typeof fewer) => {
      const job = await env.deps.queues.get('email').getJob(jobIds.digest(d.orgId, d.ana, day));
      expect(job?.data).toEqual({ orgId: d.orgId, userId: d.ana, day });
      await sendDigest(env.deps, job?.data);
      await job?.remove();
    };
    for (const d of [demoted, disabled, unsubscribed]) {
      await run(d);
      expect(await sendDigest(env.deps, { orgId: d.orgId, userId: d.ana, day })).toBe('already done');
      expect(await d.mails()).toEqual([]);
      const rows = await held(d.ana);
      expect(rows).toHaveLength(2);
      for (const r of rows) {
        expect(r.status).toBe('skipped');
        expect(r.reason).toMatch(d === unsubscribed ? /digest/ : /access|tickets/);
      }
    }
    // Still a reader who still wants the queue's news: only that is mailed.
    await run(fewer);
    const [mail, ...more] = await fewer.mails();
    expect(more).toEqual([]);
    expect(mail?.subject).toBe(`Your daily digest for ${day}: 1 notification`);
    expect(mail?.text).toContain("in your team's queue");
    expect(mail?.text).not.toContain('is yours');
    expect((await held(fewer.ana)).map((r) => [r.status, r.reason])).toEqual(
      expect.arrayContaining([
        ['sent', null],
        ['skipped', expect.stringMatching(/email/)],
      ]),
    );
  });

  it('is not stopped for the whole org by one member’s zone PostgreSQL does not know', async () => {
    clock.set(new Date('2026-06-02T11:00:00Z'));
    const d = await desk();
    const bea = (await createUser(db.app, { displayName: `Bea ${++n}` })).id;
    const beaEmail = `bea${n}-${d.orgId.slice(0, 8)}@staff.example`;
    await db.admin.query('update users set email = $2 where id = $1', [bea, beaEmail]);
    await d.tx(async (t) => {
      await addMember(t, { userId: bea, role: 'agent' }, d.owner);
      await addTeamMember(t, { teamId: d.team.id, userId: bea }, d.owner);
      await updatePrefs(
        t,
        bea,
        {
          timeZone: 'Europe/Berlin',
          emailDigest: true,
          digestHour: 8,
          events: { new_in_queue: { email: true } },
        },
        { type: 'user', id: bea },
      );
    });
    // Stored before zones were checked against PostgreSQL's list.
    await db.admin.query(
      `update notification_settings set time_zone = 'US/Pacific-New' where org_id = $1 and user_id = $2`,
      [d.orgId, d.ana],
    );
    await d.open('Crash on start');
    // 13:00 in Berlin: Bea's digest is due, whatever Ana's zone does.
    clock.set(new Date('2026-06-02T11:10:00Z'));
    const run = await d.sweepAndRun();
    expect(run.ids).toContain(jobIds.digest(d.orgId, bea, '2026-06-02'));
    const beaMails = sink.mails.filter((m) => m.to.includes(beaEmail));
    expect(beaMails).toHaveLength(1);
    // Ana's unknown zone is read as UTC (11:10 there, past her 08:00): hers goes out too.
    expect(run.ids).toContain(jobIds.digest(d.orgId, d.ana, '2026-06-02'));
    expect(await d.mails()).toHaveLength(1);
  });
});
