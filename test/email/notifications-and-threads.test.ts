import { rmSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from '../../db/memberships.js';
import { updatePrefs } from '../../db/notification-prefs.js';
import { listNotifications } from '../../db/notifications.js';
import { getOutboxRow } from '../../db/outbox.js';
import { erasePlayer } from '../../db/player-privacy.js';
import { withTenant } from '../../db/tenant.js';
import { merge } from '../../db/ticket-merge.js';
import * as tickets from '../../db/tickets.js';
import { upsertDiscordUser } from '../../db/users.js';
import { intakeEmail, REPLY_TO_NOTIFICATION } from '../../workers/email-intake.js';
import { createMailer, sendEmailReply } from '../../workers/email-outbound.js';
import { impliedJobs } from '../../workers/event-jobs.js';
import { notifyForEvent } from '../../workers/notifications.js';
import { emailOrg, plainMail, quietLogger, startSmtpSink, tempStorage } from '../email/support.js';
import { useTestDb } from '../support/db.js';
import { testDeps, uniquePrefix } from '../workers/support.js';

const db = useTestDb();
const { dir, storage } = tempStorage();
let env: ReturnType<typeof testDeps>;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
let org: Awaited<ReturnType<typeof emailOrg>>;
let mod: { id: string; email: string };
const ON = { panel: true, discord: false, email: true };

beforeAll(async () => {
  sink = await startSmtpSink();
  env = testDeps(db.app, uniquePrefix());
  env.deps.mailer = createMailer(`smtp://127.0.0.1:${sink.port}`);
  env.deps.panelUrl = 'https://desk.example/';
  org = await emailOrg(db.app);
  const u = await upsertDiscordUser(db.app, { discordUserId: '323456789012345678', username: 'modmo' });
  mod = { id: u.id, email: `mo@staff-${org.orgId.slice(0, 8)}.example` };
  await db.admin.query('update users set email = $2 where id = $1', [u.id, mod.email]);
  await withTenant(db.app, org.orgId, async (tx) => {
    await addMember(tx, { userId: u.id, role: 'agent' }, org.owner);
    await updatePrefs(tx, u.id, { events: { player_replied: ON, assigned: ON, new_in_queue: ON } } as never, {
      type: 'user',
      id: u.id,
    });
  });
});
afterAll(async () => {
  env.deps.mailer?.close();
  await env.close();
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
});
const deps = () => ({ pool: db.app, storage, logger: quietLogger() });
const tx = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(db.app, org.orgId, fn);
const lastOutbox = async () =>
  Number((await db.admin.query('select coalesce(max(id), 0) as id from outbox')).rows[0].id);
const notifySince = async (after: number) => {
  const rows = await db.admin.query<{ id: string }>(
    'select id from outbox where org_id = $1 and id > $2 order by id',
    [org.orgId, after],
  );
  for (const r of rows.rows) await notifyForEvent(env.deps, { orgId: org.orgId, outboxId: Number(r.id) });
};
const mailIn = (from: string, subject: string, body: string, to = org.address, extra: string[] = []) =>
  intakeEmail(deps(), org.orgId, plainMail({ from, to, subject, body, extraHeaders: extra }), {
    mailFrom: from.replace(/.*</, '').replace('>', ''),
    rcptTo: [to],
    via: 'smtp',
  });

/**
 * Where the email bridge meets the rest: staff notifications (their mail, and what an erase
 * leaves of them), strangers writing into a ticket's thread, and merged email tickets.
 */
describe('email bridge and staff notifications', () => {
  it('erasing a player leaves none of their words in staff notifications', async () => {
    const opened = await mailIn(
      'Eve Player <eve@players.example>',
      'My home address is 12 Secret Lane',
      'hi',
    );
    await tx((t) => tickets.assign(t, { ticketId: opened.ticketId!, assigneeId: mod.id }, org.owner));
    const before = await lastOutbox();
    await mailIn(
      'Eve Player <eve@players.example>',
      `Re: x [#${opened.ticketNumber}]`,
      'my phone is 555-0199-SECRET',
    );
    await notifySince(before - 5);
    const t = await tx((x) => tickets.getTicket(x, opened.ticketId!));
    await tx((x) => erasePlayer(x, t.requesterId!, org.owner));
    const after = await tx((x) => listNotifications(x, mod.id, { limit: 100 }));
    const text = after.filter((n) => n.ticketId === opened.ticketId).map((n) => `${n.title} | ${n.body}`);
    expect(text).toContain(`The player replied on ticket #${opened.ticketNumber} | null`);
    expect(text.join('\n')).not.toMatch(/555-0199-SECRET|12 Secret Lane/);
  });

  it('a member answering a notification mail opens no ticket and becomes no player; the mail links the ticket', async () => {
    const opened = await mailIn('Finn <finn@players.example>', 'Cannot log in', 'help me');
    await tx((t) => tickets.assign(t, { ticketId: opened.ticketId!, assigneeId: mod.id }, org.owner));
    const before = await lastOutbox();
    sink.mails.length = 0;
    await mailIn(
      'Finn <finn@players.example>',
      `Re: Cannot log in [#${opened.ticketNumber}]`,
      'still broken',
    );
    await notifySince(before);
    const note = sink.mails.find((m) => m.to.includes(mod.email));
    expect(note, 'the notification mail').toBeTruthy();
    const parsed = await simpleParser(note!.raw);
    expect(parsed.text).toContain(`https://desk.example/o/${org.orgId}/t/${opened.ticketId}`);
    const replyTo = (parsed.replyTo?.value[0]?.address ?? parsed.from?.value[0]?.address)!;
    const answer = await intakeEmail(
      deps(),
      org.orgId,
      plainMail({
        from: `Mo <${mod.email}>`,
        to: replyTo,
        subject: `Re: ${parsed.subject}`,
        inReplyTo: parsed.messageId!.replace(/[<>]/g, ''),
        body: 'Try resetting your password.\n\nOn Mon, 7 Dec 2026 at 10:00, Support wrote:\n> still broken',
      }),
      { mailFrom: mod.email, rcptTo: [replyTo], via: 'smtp' },
    );
    expect(answer).toMatchObject({ status: 'ignored', ticketId: null, reason: REPLY_TO_NOTIFICATION });
    const profiles = await db.admin.query(
      'select 1 from player_email_addresses where org_id = $1 and address = $2',
      [org.orgId, mod.email],
    );
    expect(profiles.rows).toEqual([]);
  });

  it('an email ticket merged into a ticket from elsewhere: the player writes and is answered by email', async () => {
    const opened = await mailIn('Ida <ida@players.example>', 'Crash', 'crash on start');
    const t = await tx((x) => tickets.getTicket(x, opened.ticketId!));
    const other = await tx((x) =>
      tickets.openTicket(
        x,
        { subject: 'Crash (from game)', body: 'crash', origin: 'api', requesterId: t.requesterId! },
        org.owner,
      ),
    );
    await tx((x) => merge(x, { sourceId: t.id, targetId: other.ticket.id }, org.owner));
    const r = await mailIn('Ida <ida@players.example>', `Re: Crash [#${t.number}]`, 'any news?');
    expect(r).toMatchObject({ status: 'reply', ticketId: other.ticket.id });
    const before = await lastOutbox();
    await tx((x) =>
      tickets.reply(
        x,
        { ticketId: other.ticket.id, body: 'Fixed in 1.2', origin: 'panel' },
        { type: 'user', id: mod.id },
      ),
    );
    const row = (await tx((x) => getOutboxRow(x, before + 1)))!;
    expect(row.eventType).toBe('message.created');
    const job = impliedJobs(row).find((j) => j.name === 'email.reply');
    expect(job, 'the email.reply job').toBeTruthy();
    sink.mails.length = 0;
    expect(await sendEmailReply(env.deps, job!.payload as { orgId: string; messageId: string })).toBe('sent');
    expect(sink.mails.map((m) => m.to)).toEqual([['ida@players.example']]);
    expect(sink.mails[0]!.raw.toString()).toContain('Fixed in 1.2');
  });

  it("the player of an email ticket merged into another player's writes there as a participant, and wakes it", async () => {
    const a = await mailIn('Jo <jo@players.example>', 'Lag', 'lag in matches');
    const b = await mailIn('Kim <kim@players.example>', 'Lag too', 'same lag here');
    await tx((x) => merge(x, { sourceId: b.ticketId!, targetId: a.ticketId! }, org.owner));
    await tx((x) =>
      tickets.reply(
        x,
        { ticketId: a.ticketId!, body: 'Fixed in 1.3.', origin: 'panel', status: 'solved' },
        { type: 'user', id: mod.id },
      ),
    );
    const before = await lastOutbox();
    const r = await mailIn('Kim <kim@players.example>', `Re: Lag too [#${b.ticketNumber}]`, 'still lagging');
    expect(r).toMatchObject({ status: 'reply', ticketId: a.ticketId });
    const row = await tx((x) => getOutboxRow(x, before + 1));
    const kinds = await db.admin.query<{ body: string; kind: string }>(
      'select body, author_kind as kind from messages where ticket_id = $1 order by created_at, id',
      [a.ticketId],
    );
    expect({
      status: (await tx((x) => tickets.getTicket(x, a.ticketId!))).status,
      participant: row?.payload.participant ?? false,
      kinds: kinds.rows.map((m) => [m.body, m.kind]),
    }).toEqual({
      status: 'open',
      participant: true,
      kinds: [
        ['lag in matches', 'player'],
        ['same lag here', 'participant'],
        ['Fixed in 1.3.', 'staff'],
        ['still lagging', 'participant'],
      ],
    });
  });

  it("someone else writing to a ticket's plus address is a participant, not the ticket's player", async () => {
    const opened = await mailIn('Gus <gus@players.example>', 'Refund please', 'refund');
    await tx((t) => tickets.assign(t, { ticketId: opened.ticketId!, assigneeId: mod.id }, org.owner));
    const thread = await db.admin.query('select token from email_threads where ticket_id = $1', [
      opened.ticketId,
    ]);
    const plus = org.address.replace('@', `+${thread.rows[0].token}@`);
    await tx((t) =>
      tickets.reply(
        t,
        { ticketId: opened.ticketId!, body: 'Refunded.', origin: 'panel', status: 'solved' },
        { type: 'user', id: mod.id },
      ),
    );
    const before = await lastOutbox();
    const r = await mailIn('Hal <hal@other.example>', 'Re: Refund please', 'lol same, also refund me', plus);
    expect(r.status).toBe('reply');
    const row = await tx((t) => getOutboxRow(t, before + 1));
    const t = await tx((x) => tickets.getTicket(x, opened.ticketId!));
    expect({ status: t.status, participant: row?.payload.participant ?? false }).toEqual({
      status: 'solved',
      participant: true,
    });
    // The ticket's own player, writing to the same address, still speaks for the ticket.
    const after = await lastOutbox();
    await mailIn('Gus <gus@players.example>', 'Re: Refund please', 'not refunded yet', plus);
    const own = await tx((x) => getOutboxRow(x, after + 1));
    expect(own?.payload.participant).toBeUndefined();
    expect((await tx((x) => tickets.getTicket(x, opened.ticketId!))).status).toBe('open');
  });

  it('queues an email reply only for a ticket with an email thread, not for every staff message', async () => {
    const staffReplyJobs = async (ticketId: string) => {
      const before = await lastOutbox();
      await tx((x) =>
        tickets.reply(x, { ticketId, body: 'On it', origin: 'panel' }, { type: 'user', id: mod.id }),
      );
      const row = (await tx((x) => getOutboxRow(x, before + 1)))!;
      expect(row.eventType).toBe('message.created');
      // An event written before the summary said so still queues the job, which looks for itself.
      const { emailThread: _, ...older } = row.payload.ticket as Record<string, unknown>;
      const legacy = impliedJobs({ ...row, payload: { ...row.payload, ticket: older } });
      expect(legacy.map((j) => j.name)).toContain('email.reply');
      return impliedJobs(row).map((j) => j.name);
    };
    const onDiscord = await tx((x) =>
      tickets.openTicket(
        x,
        {
          subject: 'Kicked',
          body: 'kicked for nothing',
          origin: 'discord',
          discordChannelId: '923456789012345678',
        },
        org.owner,
      ),
    );
    expect(await staffReplyJobs(onDiscord.ticket.id)).not.toContain('email.reply');
    const fromGame = await tx((x) =>
      tickets.openTicket(x, { subject: 'Lag', body: 'lag spikes', origin: 'game' }, org.owner),
    );
    expect(await staffReplyJobs(fromGame.ticket.id)).not.toContain('email.reply');
    const byMail = await mailIn('Jo <jo@players.example>', 'Refund', 'double charged');
    expect(await staffReplyJobs(byMail.ticketId!)).toContain('email.reply');
    // The Discord ticket takes the email ticket's thread in a merge: from then on it is mailed.
    const other = await mailIn('Jo <jo@players.example>', 'Refund again', 'still charged twice');
    await tx((x) => merge(x, { sourceId: other.ticketId!, targetId: onDiscord.ticket.id }, org.owner));
    expect(await staffReplyJobs(onDiscord.ticket.id)).toContain('email.reply');
  });
});
