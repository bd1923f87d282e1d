import { REST } from '@discordjs/rest';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitEvent } from '../../db/changes.js';
import { addInboundAddress } from '../../db/email-addresses.js';
import { addMember, changeRole } from '../../db/memberships.js';
import { updatePrefs } from '../../db/notification-prefs.js';
import { listNotifications } from '../../db/notifications.js';
import { upsertPlayer } from '../../db/players.js';
import { createRole } from '../../db/roles.js';
import { executeAction } from '../../db/rule-actions.js';
import { createRule } from '../../db/rules.js';
import { addTeamMember, createTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import { summary } from '../../db/ticket-rows.js';
import * as tickets from '../../db/tickets.js';
import { upsertDiscordUser } from '../../db/users.js';
import { createMailer } from '../../workers/email-outbound.js';
import { impliedJobs } from '../../workers/event-jobs.js';
import { notifyForEvent } from '../../workers/notifications.js';
import { startSmtpSink } from '../email/support.js';
import { useTestDb } from '../support/db.js';
import { type FakeDiscord, startFakeDiscord } from '../support/fake-discord/index.js';
import { makeOrg } from '../support/fixtures.js';
import { testDeps, uniquePrefix } from './support.js';

const db = useTestDb();
let fake: FakeDiscord;
let env: ReturnType<typeof testDeps>;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;

beforeAll(async () => {
  fake = await startFakeDiscord();
  sink = await startSmtpSink();
  env = testDeps(db.app, uniquePrefix());
  env.deps.discord = new REST({ api: `${fake.url}/api`, retries: 0, timeout: 5_000 }).setToken(fake.botToken);
  env.deps.mailer = createMailer(`smtp://127.0.0.1:${sink.port}`);
});
afterAll(async () => {
  env.deps.mailer?.close();
  await env.close();
  await fake.close();
  await sink.close();
});

let n = 0;
/** An org whose support team is Ana and Cy (agents, on Discord) and Bo (no tickets.read). */
async function desk() {
  const o = await makeOrg(db.app, 'Desk');
  const person = async (name: string) => {
    const d = fake.addUser({ username: `${name.toLowerCase()}${++n}` });
    const u = await upsertDiscordUser(db.app, {
      discordUserId: d.id,
      username: d.username,
      email: `${name.toLowerCase()}${n}@staff.example`,
    });
    // The address staff gave at sign-up (the Discord profile does not carry one here).
    await db.admin.query('update users set email = $2 where id = $1', [
      u.id,
      `${name.toLowerCase()}${n}@staff.example`,
    ]);
    return {
      id: u.id,
      discordId: d.id,
      email: `${name.toLowerCase()}${n}@staff.example`,
      username: d.username,
    };
  };
  const ana = await person('Ana');
  const cy = await person('Cy');
  const bo = await person('Bo');
  fake.addGuild({ name: 'Studio', members: [ana.discordId, cy.discordId, bo.discordId] });
  const tx = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(db.app, o.orgId, fn);
  const { team, player } = await tx(async (t) => {
    await addMember(t, { userId: ana.id, role: 'agent' }, o.owner);
    await addMember(t, { userId: cy.id, role: 'agent' }, o.owner);
    const role = await createRole(t, { key: 'billing', name: 'Billing', permissions: ['org.read'] }, o.owner);
    await addMember(t, { userId: bo.id, role: role.key }, o.owner);
    const team = await createTeam(t, { name: 'Support' }, o.owner);
    for (const u of [ana, cy, bo]) await addTeamMember(t, { teamId: team.id, userId: u.id }, o.owner);
    await addInboundAddress(t, { address: `support@desk-${o.orgId.slice(0, 8)}.localhost` }, o.owner);
    const player = await upsertPlayer(t, { displayName: 'Player', discordUserId: '223456789012345678' });
    return { team, player };
  });
  const lastOutbox = async () =>
    Number((await db.admin.query('select coalesce(max(id), 0) as id from outbox')).rows[0].id);
  /** Runs the notification job for every event since `after`, twice (a replay), as the relay would. */
  const deliverSince = async (after: number) => {
    const rows = await db.admin.query<{ id: string }>(
      'select id from outbox where org_id = $1 and id > $2 order by id',
      [o.orgId, after],
    );
    for (const r of rows.rows) {
      await notifyForEvent(env.deps, { orgId: o.orgId, outboxId: Number(r.id) });
      await notifyForEvent(env.deps, { orgId: o.orgId, outboxId: Number(r.id) });
    }
  };
  const dmsTo = (discordId: string) =>
    fake
      .requests({ method: 'POST', route: '/channels/:channel_id/messages', status: 200 })
      .filter((r) => fake.state.channels.get(r.path.split('/').at(-2) ?? '')?.recipients?.[0] === discordId)
      .map((r) => String((r.body as { content: string }).content));
  const mailsTo = (address: string) =>
    Promise.all(
      sink.mails.filter((m) => m.to.includes(address)).map(async (m) => (await simpleParser(m.raw)).subject),
    );
  const list = (userId: string) => tx((t) => listNotifications(t, userId, { limit: 100 }));
  const prefs = (userId: string, p: Parameters<typeof updatePrefs>[2]) =>
    tx((t) => updatePrefs(t, userId, p, { type: 'user', id: userId }));
  const open = (extra: Record<string, unknown> = {}) =>
    tx((t) =>
      tickets.openTicket(
        t,
        { subject: 'Lost my sword', body: 'help', origin: 'discord', requesterId: player.id, ...extra },
        { type: 'player', id: player.id },
      ),
    ).then((r) => r.ticket);
  return { ...o, ana, cy, bo, team, player, tx, lastOutbox, deliverSince, dmsTo, mailsTo, list, prefs, open };
}

const ALL_ON = { panel: true, discord: true, email: true };
const everything = {
  assigned: ALL_ON,
  mentioned: ALL_ON,
  player_replied: ALL_ON,
  sla_warning: ALL_ON,
  sla_breached: ALL_ON,
  new_in_queue: ALL_ON,
  rule: ALL_ON,
};

/** Each notifying event, as db/ writes it, on one ticket of `d`'s team assigned to Ana. */
async function everyEvent(d: Awaited<ReturnType<typeof desk>>) {
  const t = await d.open({ teamId: d.team.id });
  await d.tx((tx) => tickets.assign(tx, { ticketId: t.id, assigneeId: d.ana.id }, d.owner));
  await d.tx((tx) =>
    tickets.addNote(tx, { ticketId: t.id, body: `@${d.ana.username} and @${d.bo.username} look` }, d.owner),
  );
  await d.tx((tx) =>
    tickets.reply(
      tx,
      { ticketId: t.id, body: 'still broken', origin: 'discord' },
      { type: 'player', id: d.player.id },
    ),
  );
  const current = await d.tx((tx) => tickets.getTicket(tx, t.id));
  // The SLA events as db/sla-clocks.ts writes them when a timer fires.
  for (const type of ['ticket.sla_warning', 'ticket.sla_breached'])
    await d.tx((tx) =>
      emitEvent(tx, {
        type,
        aggregateType: 'ticket',
        aggregateId: t.id,
        payload: {
          ticket: summary(current),
          metric: 'first_response',
          dueAt: '2026-01-01T10:00:00.000Z',
          policy: null,
        },
      }),
    );
  const rule = await d.tx((tx) =>
    createRule(
      tx,
      {
        name: 'VIP',
        trigger: 'ticket.updated',
        actions: [{ type: 'notify', to: 'assignee', message: 'VIP waiting' }],
      },
      d.owner,
    ),
  );
  await d.tx((tx) =>
    executeAction(
      tx,
      t.id,
      { type: 'notify', to: 'assignee', message: 'VIP waiting' },
      { type: 'rule', id: rule.id, depth: 1 },
      rule,
    ),
  );
  return t;
}

describe('staff notifications', () => {
  it('bring each event to each channel the member enabled, once', async () => {
    const d = await desk();
    await d.prefs(d.ana.id, { events: everything });
    const start = await d.lastOutbox();
    const t = await everyEvent(d);
    await d.deliverSince(start);
    const titles = (await d.list(d.ana.id)).map((x) => x.title).reverse();
    const ref = `ticket #${t.number}`;
    const expected = [
      `New ${ref} in your team's queue`,
      `Ticket #${t.number} is yours`,
      `You were mentioned on ${ref}`,
      `The player replied on ${ref}`,
      `SLA warning on ${ref}`,
      `SLA breached on ${ref}`,
      `Rule "VIP" on ${ref}`,
    ];
    expect(titles).toEqual(expected);
    expect(d.dmsTo(d.ana.discordId).map((c) => c.split('\n')[0])).toEqual(expected.map((e) => `🔔 **${e}**`));
    expect(await d.mailsTo(d.ana.email)).toEqual(expected);
    // The panel's live event, one per notification, for Ana alone.
    const live = await db.admin.query<{ payload: { userId: string } }>(
      `select payload from outbox where org_id = $1 and event_type = 'notification.created'`,
      [d.orgId],
    );
    expect(live.rows.filter((r) => r.payload.userId === d.ana.id)).toHaveLength(7);
    // Cy, on defaults: every team event in the panel, a DM for the SLA ones only, no mail.
    expect((await d.list(d.cy.id)).map((x) => x.event).reverse()).toEqual([
      'new_in_queue',
      'sla_warning',
      'sla_breached',
    ]);
    expect(d.dmsTo(d.cy.discordId)).toHaveLength(2);
    expect(await d.mailsTo(d.cy.email)).toEqual([]);
    // The owner caused most of it and is on no team: nothing.
    expect(await d.list(d.ownerId)).toEqual([]);
  });

  it('send nothing on a disabled channel or in quiet hours, and nothing to a member without access', async () => {
    const d = await desk();
    const now = env.deps.clock.now();
    const minute = now.getUTCHours() * 60 + now.getUTCMinutes();
    // Ana is in her quiet hours now (UTC); Cy turned every channel off for assignments.
    await d.prefs(d.ana.id, {
      events: everything,
      timeZone: 'UTC',
      quietStart: (minute + 1440 - 30) % 1440,
      quietEnd: (minute + 30) % 1440,
    });
    await d.prefs(d.cy.id, { events: { assigned: { panel: false, discord: false, email: false } } });
    const start = await d.lastOutbox();
    await everyEvent(d);
    const t2 = await d.open();
    await d.tx((tx) => tickets.assign(tx, { ticketId: t2.id, assigneeId: d.cy.id }, d.owner));
    await d.deliverSince(start);
    // Quiet hours: the panel keeps them, nothing leaves it.
    expect(await d.list(d.ana.id)).toHaveLength(7);
    expect(d.dmsTo(d.ana.discordId)).toEqual([]);
    expect(await d.mailsTo(d.ana.email)).toEqual([]);
    const skipped = await db.admin.query<{ reason: string }>(
      `select d.reason from notification_deliveries d join notifications n on n.id = d.notification_id
       where n.user_id = $1`,
      [d.ana.id],
    );
    expect(skipped.rows).toHaveLength(14);
    expect(new Set(skipped.rows.map((r) => r.reason))).toEqual(new Set(['quiet hours']));
    // Cy's assignment: every channel off, so no notification at all.
    expect((await d.list(d.cy.id)).map((x) => x.event)).not.toContain('assigned');
    expect(d.dmsTo(d.cy.discordId)).toHaveLength(2);
    // Bo is on the team and was mentioned but cannot read tickets.
    const bo = await db.admin.query('select 1 from notifications where user_id = $1', [d.bo.id]);
    expect(bo.rowCount).toBe(0);
    expect(d.dmsTo(d.bo.discordId)).toEqual([]);
  });

  it('are asked of the relay for the events that may notify, one job per event', () => {
    const row = (eventType: string, aggregateType: string, payload: Record<string, unknown> = {}) => ({
      id: 41,
      orgId: '00000000-0000-4000-8000-000000000001',
      eventType,
      aggregateType,
      aggregateId: '00000000-0000-4000-8000-000000000002',
      payload,
      createdAt: new Date(),
    });
    const jobs = (r: ReturnType<typeof row>) =>
      impliedJobs(r)
        .filter((j) => j.name === 'notify.fanout')
        .map((j) => j.opts?.jobId);
    for (const type of [
      'ticket.created',
      'ticket.assigned',
      'note.created',
      'ticket.sla_warning',
      'ticket.sla_breached',
      'rule.notify',
    ])
      expect(jobs(row(type, 'ticket'))).toEqual(['nt-41']);
    expect(jobs(row('message.created', 'ticket', { message: { authorType: 'player' } }))).toEqual(['nt-41']);
    // Staff replies, messages outside tickets and unrelated events notify nobody.
    expect(jobs(row('message.created', 'ticket', { message: { authorType: 'user' } }))).toEqual([]);
    expect(jobs(row('message.created', 'channel', { message: { authorType: 'player' } }))).toEqual([]);
    // Nor does someone other than the ticket's player writing in a public forum post.
    expect(
      jobs(row('message.created', 'ticket', { message: { authorType: 'player' }, participant: true })),
    ).toEqual([]);
    expect(jobs(row('ticket.closed', 'ticket'))).toEqual([]);
    expect(jobs(row('notification.created', 'notification'))).toEqual([]);
  });

  it('record a DM the member refuses as skipped, without retrying it', async () => {
    const d = await desk();
    fake.state.dmsClosed.add(d.ana.discordId);
    const start = await d.lastOutbox();
    const t = await d.open();
    await d.tx((tx) => tickets.assign(tx, { ticketId: t.id, assigneeId: d.ana.id }, d.owner));
    await d.deliverSince(start);
    const r = await db.admin.query<{ status: string; reason: string }>(
      `select d.status, d.reason from notification_deliveries d join notifications n on n.id = d.notification_id
       where n.user_id = $1`,
      [d.ana.id],
    );
    expect(r.rows).toEqual([{ status: 'skipped', reason: 'the member takes no DMs from the bot' }]);
    expect(await d.list(d.ana.id)).toHaveLength(1);
  });

  it("DM each member in their own language, else the server's, while the panel and mail keep English", async () => {
    const d = await desk();
    // The ticket's server speaks German; Ana was last seen here with a French client (the
    // player profile of her Discord account); Cy has no language of his own here.
    const guild = fake.addGuild({ name: 'Serveur', members: [d.ana.discordId, d.cy.discordId] });
    const g = fake.state.guilds.get(guild.id);
    if (g) g.preferred_locale = 'de';
    await db.admin.query(
      `insert into player_profiles (org_id, display_name, discord_user_id, locale) values ($1, 'Ana', $2, 'fr')`,
      [d.orgId, d.ana.discordId],
    );
    for (const u of [d.ana, d.cy]) await d.prefs(u.id, { events: everything });
    const start = await d.lastOutbox();
    const t = await d.open({ teamId: d.team.id, discordGuildId: guild.id });
    const current = await d.tx((tx) => tickets.getTicket(tx, t.id));
    await d.tx((tx) =>
      emitEvent(tx, {
        type: 'ticket.sla_warning',
        aggregateType: 'ticket',
        aggregateId: t.id,
        payload: {
          ticket: summary(current),
          metric: 'first_response',
          dueAt: '2026-01-01T10:00:00.000Z',
          policy: null,
        },
      }),
    );
    await d.deliverSince(start);
    expect(d.dmsTo(d.ana.discordId)).toEqual([
      `🔔 **Nouveau ticket #${t.number} dans la file de votre équipe**\nLost my sword`,
      `🔔 **Alerte SLA sur le ticket #${t.number}**\nPremière réponse attendue le 1 janv. 2026, 10:00 UTC : Lost my sword`,
    ]);
    expect(d.dmsTo(d.cy.discordId)).toEqual([
      `🔔 **Neues Ticket #${t.number} in der Warteschlange deines Teams**\nLost my sword`,
      `🔔 **SLA-Warnung für Ticket #${t.number}**\nErste Antwort fällig am 01.01.2026, 10:00 UTC: Lost my sword`,
    ]);
    // What the panel lists and the mail says stay English.
    expect((await d.list(d.cy.id)).map((x) => [x.title, x.body]).reverse()).toEqual([
      [`New ticket #${t.number} in your team's queue`, 'Lost my sword'],
      [`SLA warning on ticket #${t.number}`, 'first response due 2026-01-01T10:00:00.000Z: Lost my sword'],
    ]);
    expect(await d.mailsTo(d.cy.email)).toEqual([
      `New ticket #${t.number} in your team's queue`,
      `SLA warning on ticket #${t.number}`,
    ]);
  });

  it('check access and the member’s wishes again on a retry, and skip what is no longer owed', async () => {
    const d = await desk();
    for (const u of [d.ana, d.cy])
      await d.prefs(u.id, { events: { assigned: { discord: true, email: true } } });
    // Discord and the relay are away: the first attempt leaves both deliveries pending.
    const { discord, mailer } = env.deps;
    env.deps.discord = new REST({ api: 'http://127.0.0.1:9/api', retries: 0, timeout: 2_000 }).setToken(
      fake.botToken,
    );
    env.deps.mailer = createMailer('smtp://127.0.0.1:9');
    const start = await d.lastOutbox();
    const t1 = await d.open();
    const t2 = await d.open();
    await d.tx((tx) => tickets.assign(tx, { ticketId: t1.id, assigneeId: d.ana.id }, d.owner));
    await d.tx((tx) => tickets.assign(tx, { ticketId: t2.id, assigneeId: d.cy.id }, d.owner));
    const events = await db.admin.query<{ id: string }>(
      'select id from outbox where org_id = $1 and id > $2 order by id',
      [d.orgId, start],
    );
    const runAll = async () => {
      for (const r of events.rows)
        await notifyForEvent(env.deps, { orgId: d.orgId, outboxId: Number(r.id) }).catch(() => null);
    };
    await runAll();
    env.deps.mailer?.close();
    env.deps.discord = discord;
    env.deps.mailer = mailer;
    const statuses = async (userId: string) =>
      (
        await db.admin.query<{ channel: string; status: string; reason: string | null }>(
          `select d.channel, d.status, d.reason from notification_deliveries d
           join notifications n on n.id = d.notification_id where n.user_id = $1 order by d.channel`,
          [userId],
        )
      ).rows;
    expect((await statuses(d.ana.id)).map((r) => r.status)).toEqual(['pending', 'pending']);
    expect((await statuses(d.cy.id)).map((r) => r.status)).toEqual(['pending', 'pending']);
    // Meanwhile Ana loses tickets.read, and Cy turns email off for assignments.
    await d.tx((tx) => changeRole(tx, { userId: d.ana.id, role: 'billing' }, d.owner));
    await d.prefs(d.cy.id, { events: { assigned: { email: false } } });
    await runAll();
    expect(d.dmsTo(d.ana.discordId)).toEqual([]);
    expect(await d.mailsTo(d.ana.email)).toEqual([]);
    for (const r of await statuses(d.ana.id)) {
      expect(r.status).toBe('skipped');
      expect(r.reason).toMatch(/access|tickets/);
    }
    expect(d.dmsTo(d.cy.discordId)).toEqual([`🔔 **Ticket #${t2.number} is yours**\nLost my sword`]);
    expect(await d.mailsTo(d.cy.email)).toEqual([]);
    expect(await statuses(d.cy.id)).toEqual([
      { channel: 'discord', status: 'sent', reason: null },
      { channel: 'email', status: 'skipped', reason: expect.stringMatching(/email/) },
    ]);
  });
});
