import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../db/changes.js';
import { listEmails, recordEmail } from '../../db/email-messages.js';
import { withTenant } from '../../db/tenant.js';
import { conversation, getTicket, openTicket, reply } from '../../db/tickets.js';
import { parseEmail } from '../../lib/email/parse.js';
import { stripQuoted } from '../../lib/email/thread-text.js';
import { type Envelope, intakeEmail } from '../../workers/email-intake.js';
import { sendEmailReply } from '../../workers/email-outbound.js';
import { useTestDb } from '../support/db.js';
import {
  appleReply,
  bounce,
  emailOrg,
  gmailReply,
  mid,
  outlookHtmlReply,
  outlookReply,
  outOfOffice,
  plainMail,
  quietLogger,
  tempStorage,
} from './support.js';

const db = useTestDb();
const { dir, storage } = tempStorage();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let org: Awaited<ReturnType<typeof emailOrg>>;
beforeAll(async () => {
  org = await emailOrg(db.app);
});
const deps = () => ({ pool: db.app, storage, logger: quietLogger() });
const env = (to: string, mailFrom: string | null = 'ana@players.example'): Envelope => ({
  mailFrom,
  rcptTo: [to],
  via: 'smtp',
});
const counts = async () => {
  const r = await db.admin.query<{ tickets: number; messages: number }>(
    `select (select count(*)::int from tickets where org_id = $1) as tickets,
            (select count(*)::int from messages where org_id = $1) as messages`,
    [org.orgId],
  );
  return r.rows[0]!;
};

describe('email intake', () => {
  it('opens a ticket from a first mail, keeps the raw mail, and a redelivery changes nothing', async () => {
    const messageId = mid();
    const raw = plainMail({
      to: org.address,
      subject: 'Fwd: Crash on launch',
      body: 'The game crashes.',
      messageId,
    });
    const first = await intakeEmail(deps(), org.orgId, raw, env(org.address));
    expect(first.status).toBe('new_ticket');
    const before = await counts();
    const again = await intakeEmail(deps(), org.orgId, raw, env(org.address));
    expect(again.status).toBe('duplicate');
    expect(await counts()).toEqual(before);
    await withTenant(db.app, org.orgId, async (tx) => {
      const t = await getTicket(tx, first.ticketId!);
      expect(t).toMatchObject({ subject: 'Crash on launch', origin: 'email', externalId: messageId });
      const [log] = await listEmails(tx, { ticketId: t.id, limit: 10 });
      expect(log).toMatchObject({ status: 'new_ticket', messageId, fromAddress: 'ana@players.example' });
      const stored = await storage.get(log!.rawStorageKey!);
      const chunks: Buffer[] = [];
      for await (const c of stored.body) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).equals(raw)).toBe(true);
    });
  });

  it('threads Gmail, Outlook and Apple Mail replies into the same ticket, quotes and signatures stripped', async () => {
    const firstId = mid();
    const opened = await intakeEmail(
      deps(),
      org.orgId,
      plainMail({ to: org.address, subject: 'Lost my save', body: 'My save is gone.', messageId: firstId }),
      env(org.address),
    );
    const n = opened.ticketNumber!;
    // Gmail: replies to the player's own first mail (In-Reply-To a Message-ID we received).
    const g = await intakeEmail(
      deps(),
      org.orgId,
      gmailReply({
        to: org.address,
        subject: 'Re: Lost my save',
        inReplyTo: firstId,
        references: [firstId],
        body: 'Here is more detail.',
        quoted: 'My save is gone.',
      }),
      env(org.address),
    );
    expect(g).toMatchObject({ status: 'reply', ticketId: opened.ticketId, reason: 'in_reply_to' });
    // Outlook: no In-Reply-To, but the subject carries the tag; windows-1252 text.
    const o = await intakeEmail(
      deps(),
      org.orgId,
      outlookReply({
        to: org.address,
        subject: `RE: Lost my save [#${n}]`,
        body: 'Café crashed – again',
        quoted: 'old',
      }),
      env(org.address),
    );
    expect(o).toMatchObject({ status: 'reply', ticketId: opened.ticketId, reason: 'subject_tag' });
    // Apple Mail: References only.
    const a = await intakeEmail(
      deps(),
      org.orgId,
      appleReply({
        to: org.address,
        subject: 'Re: Lost my save',
        references: [firstId],
        body: 'Thanks!',
        quoted: 'x',
      }),
      env(org.address),
    );
    expect(a).toMatchObject({ status: 'reply', ticketId: opened.ticketId, reason: 'in_reply_to' });
    await withTenant(db.app, org.orgId, async (tx) => {
      const bodies = (await conversation(tx, opened.ticketId!)).map((m) => m.body);
      expect(bodies).toEqual(['My save is gone.', 'Here is more detail.', 'Café crashed – again', 'Thanks!']);
    });
  });

  it("stores an Outlook HTML-only reply without Outlook's rule line and quoted header block", async () => {
    const opened = await intakeEmail(
      deps(),
      org.orgId,
      plainMail({ to: org.address, subject: 'Crash', body: 'It crashes.' }),
      env(org.address),
    );
    const r = await intakeEmail(
      deps(),
      org.orgId,
      outlookHtmlReply({
        to: org.address,
        subject: `RE: Crash [#${opened.ticketNumber}]`,
        body: 'Still crashing after the update.',
        quoted: 'Please try verifying the game files.',
      }),
      env(org.address),
    );
    expect(r).toMatchObject({ status: 'reply', ticketId: opened.ticketId });
    const bodies = await withTenant(db.app, org.orgId, async (tx) =>
      (await conversation(tx, opened.ticketId!)).map((m) => m.body),
    );
    expect(bodies).toEqual(['It crashes.', 'Still crashing after the update.']);
  });

  it('threads by the plus-token of the address and by the [ref:] marker in quoted text', async () => {
    const opened = await intakeEmail(
      deps(),
      org.orgId,
      plainMail({ to: org.address, subject: 'Refund', body: 'Please refund.' }),
      env(org.address),
    );
    const token = (
      await db.admin.query<{ token: string }>('select token from email_threads where ticket_id = $1', [
        opened.ticketId,
      ])
    ).rows[0]!.token;
    const plus = org.address.replace('@', `+${token}@`);
    const byToken = await intakeEmail(
      deps(),
      org.orgId,
      plainMail({ to: plus, subject: 'something else entirely', body: 'Any news?' }),
      env(plus),
    );
    expect(byToken).toMatchObject({ ticketId: opened.ticketId, reason: 'plus_token' });
    const byRef = await intakeEmail(
      deps(),
      org.orgId,
      gmailReply({
        to: org.address,
        subject: 'Re: (rewritten)',
        body: 'Hello?',
        quoted: `Earlier text\n[ref:${token}]`,
      }),
      env(org.address),
    );
    expect(byRef).toMatchObject({ ticketId: opened.ticketId, reason: 'ref_marker' });
  });

  it("threads by subject tag or In-Reply-To only mail from the ticket's own player", async () => {
    const firstId = mid();
    const opened = await intakeEmail(
      deps(),
      org.orgId,
      plainMail({
        from: 'Dee <dee@players.example>',
        to: org.address,
        subject: 'My account',
        body: 'private',
        messageId: firstId,
      }),
      env(org.address, 'dee@players.example'),
    );
    const stranger = (subject: string, inReplyTo?: string) =>
      intakeEmail(
        deps(),
        org.orgId,
        plainMail({
          from: 'Mallory <mallory@evil.example>',
          to: org.address,
          subject,
          body: 'injected',
          ...(inReplyTo ? { inReplyTo, references: [inReplyTo] } : {}),
        }),
        env(org.address, 'mallory@evil.example'),
      );
    const byTag = await stranger(`Re: [#${opened.ticketNumber}]`);
    expect(byTag.status).toBe('new_ticket');
    expect(byTag.ticketId).not.toBe(opened.ticketId);
    const byReply = await stranger('Re: My account', firstId);
    expect(byReply.status).toBe('new_ticket');
    expect(byReply.ticketId).not.toBe(opened.ticketId);
    // A ticket opened elsewhere has no email thread: its number in a subject threads nothing.
    const api = await withTenant(db.app, org.orgId, (tx) =>
      openTicket(tx, { subject: 'from the API', body: 'hello', origin: 'api' }, org.owner),
    );
    const intoApi = await stranger(`[#${api.ticket.number}]`);
    expect(intoApi.status).toBe('new_ticket');
    expect(intoApi.ticketId).not.toBe(api.ticket.id);
    // Another address of the same player still threads.
    const requester = await db.admin.query<{ requester_id: string }>(
      'select requester_id from tickets where id = $1',
      [opened.ticketId],
    );
    await db.admin.query(
      'insert into player_email_addresses (org_id, player_id, address) values ($1, $2, $3)',
      [org.orgId, requester.rows[0]!.requester_id, 'dee.work@players.example'],
    );
    const own = await intakeEmail(
      deps(),
      org.orgId,
      plainMail({
        from: 'Dee <Dee.Work@players.example>',
        to: org.address,
        subject: `Re: My account [#${opened.ticketNumber}]`,
        body: 'from work',
      }),
      env(org.address, 'dee.work@players.example'),
    );
    expect(own).toMatchObject({ status: 'reply', ticketId: opened.ticketId, reason: 'subject_tag' });
    await withTenant(db.app, org.orgId, async (tx) => {
      const bodies = (await conversation(tx, opened.ticketId!)).map((m) => m.body);
      expect(bodies).toEqual(['private', 'from work']);
    });
  });

  it('makes no ticket for an out-of-office answer or a bounce, and a bounce marks the address undeliverable', async () => {
    await intakeEmail(
      deps(),
      org.orgId,
      plainMail({ from: 'fay@players.example', to: org.address, subject: 'Hello', body: 'hi' }),
      env(org.address, 'fay@players.example'),
    );
    await intakeEmail(
      deps(),
      org.orgId,
      plainMail({ to: org.address, subject: 'Hello', body: 'hi' }),
      env(org.address),
    );
    const before = await counts();
    const ooo = await intakeEmail(deps(), org.orgId, outOfOffice({ to: org.address }), env(org.address));
    expect(ooo).toMatchObject({ status: 'auto_reply', reason: 'Auto-Submitted: auto-replied' });
    const undeliverable = async (address: string) =>
      (
        await db.admin.query('select undeliverable_at from player_email_addresses where address = $1', [
          address,
        ])
      ).rows[0]?.undeliverable_at;
    // A DSN anyone can write: one naming no mail of ours, or a mail of ours to someone else,
    // is logged and changes nothing.
    const forged = await intakeEmail(
      deps(),
      org.orgId,
      bounce({ to: org.address, failed: 'ana@players.example', originalMessageId: mid() }),
      env(org.address, ''),
    );
    expect(forged.status).toBe('bounce');
    expect(await undeliverable('ana@players.example')).toBeNull();
    const ours = mid('support.example');
    await withTenant(db.app, org.orgId, (tx) =>
      recordEmail(tx, {
        direction: 'out',
        messageId: ours,
        status: 'sent',
        toAddresses: ['Ana@Players.example'],
      }),
    );
    const otherRecipient = await intakeEmail(
      deps(),
      org.orgId,
      bounce({ to: org.address, failed: 'fay@players.example', originalMessageId: ours }),
      env(org.address, ''),
    );
    expect(otherRecipient.status).toBe('bounce');
    expect(await undeliverable('fay@players.example')).toBeNull();
    // The bounce of a mail we sent to the address marks it.
    const dsn = await intakeEmail(
      deps(),
      org.orgId,
      bounce({ to: org.address, failed: 'ana@players.example', originalMessageId: ours }),
      env(org.address, ''),
    );
    expect(dsn.status).toBe('bounce');
    expect(await counts()).toEqual(before);
    expect(await undeliverable('ana@players.example')).toBeInstanceOf(Date);
    // The player writing again shows the address works.
    await intakeEmail(
      deps(),
      org.orgId,
      plainMail({ to: org.address, subject: 'Back', body: 'hi' }),
      env(org.address),
    );
    const after = await db.admin.query(
      'select undeliverable_at from player_email_addresses where address = $1',
      ['ana@players.example'],
    );
    expect(after.rows[0]?.undeliverable_at).toBeNull();
  });

  it('keeps mail it cannot read as a ticket staff see, with the error and the raw mail attached', async () => {
    const raw = Buffer.from('\xff\xfe garbage with no header at all\r\n', 'latin1');
    const r = await intakeEmail(deps(), org.orgId, raw, env(org.address, null));
    expect(r.status).toBe('unparseable');
    await withTenant(db.app, org.orgId, async (tx) => {
      const t = await getTicket(tx, r.ticketId!);
      expect(t.tags).toContain('email-unreadable');
      const [log] = await listEmails(tx, { ticketId: t.id, limit: 1 });
      expect(log?.parseError).toMatch(/no sender/);
    });
    const files = await db.admin.query('select filename, storage_key from attachments where ticket_id = $1', [
      r.ticketId,
    ]);
    expect(files.rows).toEqual([expect.objectContaining({ filename: 'message.eml' })]);
  });

  it('joins the sender to the player profile that already has the address', async () => {
    const p = await db.admin.query<{ id: string }>(
      `insert into player_profiles (org_id, display_name, discord_user_id, email)
       values ($1, 'Bo on Discord', '123456789012345678', 'bo@players.example') returning id`,
      [org.orgId],
    );
    const r = await intakeEmail(
      deps(),
      org.orgId,
      plainMail({ from: 'Bo <BO@players.example>', to: org.address, subject: 'Hi', body: 'It is Bo.' }),
      env(org.address, 'bo@players.example'),
    );
    const t = await db.admin.query('select requester_id from tickets where id = $1', [r.ticketId]);
    expect(t.rows[0]?.requester_id).toBe(p.rows[0]!.id);
  });
});

describe('concurrent intake', () => {
  it('takes first mails from new senders at once, none lost to a deadlock', async () => {
    // Each makes a player (whose row's key-share lock on the organization comes first) and then
    // opens a ticket, which locks the organization's counter row.
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        intakeEmail(
          deps(),
          org.orgId,
          plainMail({ from: `burst${i}@players.example`, to: org.address, subject: `Burst ${i}`, body: 'x' }),
          env(org.address, `burst${i}@players.example`),
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(results.map((r) => r.status === 'fulfilled' && r.value.status)).toEqual(
      Array(12).fill('new_ticket'),
    );
  });
});

describe('concurrent redelivery', () => {
  it('takes the same Message-ID delivered at once once: one ticket, one set of attachments', async () => {
    const b = 'redelivery-boundary';
    const raw = Buffer.from(
      [
        'From: Eve Player <eve@players.example>',
        `To: ${org.address}`,
        'Subject: crash log',
        `Message-ID: <${mid()}>`,
        'MIME-Version: 1.0',
        `Content-Type: multipart/mixed; boundary="${b}"`,
        '',
        `--${b}`,
        'Content-Type: text/plain',
        '',
        'see log',
        `--${b}`,
        'Content-Type: text/plain; name="log.txt"',
        'Content-Disposition: attachment; filename="log.txt"',
        '',
        'LOG',
        `--${b}--`,
        '',
      ].join('\r\n'),
    );
    const results = await Promise.all(
      Array.from({ length: 3 }, () =>
        intakeEmail(deps(), org.orgId, raw, env(org.address, 'eve@players.example')),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual(['duplicate', 'duplicate', 'new_ticket']);
    const ticketId = results.find((r) => r.status === 'new_ticket')!.ticketId;
    const files = await db.admin.query(
      `select filename from attachments where org_id = $1 and (ticket_id = $2
         or message_id in (select id from messages where ticket_id = $2))`,
      [org.orgId, ticketId],
    );
    expect(files.rows).toEqual([{ filename: 'log.txt' }]);
  });
});

describe('stripQuoted', () => {
  it('keeps the whole text when everything is quoted', () => {
    expect(stripQuoted('> only a quote\n> here')).toBe('> only a quote\n> here');
  });
  it('cuts an Outlook "Original Message" block and a "-- " signature', () => {
    expect(stripQuoted('New text\n-- \nAna\n-----Original Message-----\nFrom: x')).toBe('New text');
  });
  // Gmail's attribution line in the languages the product speaks (lib/i18n), as Gmail writes it.
  it.each([
    ['de', 'Am Mo., 7. Dez. 2026 um 10:00 Uhr schrieb Support <support@example.com>:'],
    ['fr', 'Le lun. 7 déc. 2026 à 10:00, Support <support@example.com> a écrit :'],
    ['es', 'El lun, 7 dic 2026 a las 10:00, Support (<support@example.com>) escribió:'],
    ['pt-BR', 'Em seg., 7 de dez. de 2026 às 10:00, Support <support@example.com> escreveu:'],
    ['de, wrapped', 'Am Mo., 7. Dez. 2026 um 10:00 Uhr schrieb Studio Support Team <\nsupport@example.com>:'],
    [
      'pt-BR, wrapped',
      'Em seg., 7 de dez. de 2026 às 10:00, Studio Support Team <\nsupport@example.com> escreveu:',
    ],
    ['de, Apple Mail', 'Am 07.12.2026 um 10:00 schrieb Support <support@example.com>:'],
    ['de, Thunderbird', 'Am 07.12.26 um 10:00 schrieb Support:'],
  ])('cuts the %s attribution line and the quote under it', (_, line) => {
    expect(
      stripQuoted(`Danke, geht wieder.\n\n${line}\n\n> Bitte neu starten.\n> [ref:abcdefghijklmnop0123]`),
    ).toBe('Danke, geht wieder.');
  });
  it('keeps a German sentence that only mentions who wrote', () => {
    const text = 'Am Montag schrieb mir ein Freund:\nDas Spiel stürzt bei ihm auch ab.';
    expect(stripQuoted(text)).toBe(text);
  });
  // Outlook's HTML-only reply, turned into text by the parser: the <hr> becomes a line of dashes.
  it.each([
    ['en', ['From:', 'Sent:', 'To:', 'Subject:']],
    ['de', ['Von:', 'Gesendet:', 'An:', 'Betreff:']],
    ['fr', ['De :', 'Envoyé :', 'À :', 'Objet :']],
    ['es', ['De:', 'Enviado:', 'Para:', 'Asunto:']],
    ['pt-BR', ['De:', 'Enviado:', 'Para:', 'Assunto:']],
  ] as const)('cuts the rule and header block of an Outlook HTML-only reply (%s)', async (_, headers) => {
    const parsed = await parseEmail(
      outlookHtmlReply({
        to: org.address,
        subject: 'RE: Crash',
        body: 'Still crashing after the update.',
        quoted: 'Please try verifying the game files.<br>[ref:abcdefghijklmnop0123]',
        headers: [...headers],
      }),
      null,
    );
    expect(stripQuoted(parsed.text)).toBe('Still crashing after the update.');
  });
});

describe('mail that asks for no automatic reply (RFC 3834)', () => {
  it('gets staff replies but never an automatic one', async () => {
    const opened = await intakeEmail(
      deps(),
      org.orgId,
      plainMail({
        from: 'list@lists.example',
        to: org.address,
        subject: 'list post',
        body: 'a post to the studio from a mailing list',
        extraHeaders: ['List-Id: <players.lists.example>', 'Precedence: list'],
      }),
      env(org.address, 'list-bounces@lists.example'),
    );
    expect(opened.status).toBe('new_ticket');
    const sent: Array<{ text: string }> = [];
    const mailer = {
      sendMail: async (m: { text: string }) => {
        sent.push(m);
        return {};
      },
      close() {},
    };
    const wdeps = { pool: db.app, logger: quietLogger(), mailer } as unknown as Parameters<
      typeof sendEmailReply
    >[0];
    const say = (body: string, actor: Actor) =>
      withTenant(db.app, org.orgId, (tx) =>
        reply(tx, { ticketId: opened.ticketId as string, body, origin: 'api' }, actor),
      );
    // A rule's canned answer is automatic: suppressed, and the log says why.
    const auto = await say('We got your message (automatic).', {
      type: 'rule',
      id: '00000000-0000-4000-8000-000000000001',
      depth: 0,
    });
    expect(await sendEmailReply(wdeps, { orgId: org.orgId, messageId: auto.message.id })).toBe(
      'no automatic replies',
    );
    // A person's answer goes out.
    const human = await say('Thanks, we will look at it.', org.owner);
    expect(await sendEmailReply(wdeps, { orgId: org.orgId, messageId: human.message.id })).toBe('sent');
    expect(sent.map((m) => m.text.split('\n')[0])).toEqual(['Thanks, we will look at it.']);
    const log = await db.admin.query<{ status: string; reason: string | null }>(
      `select status, reason from email_messages where chat_message_id = $1 and direction = 'out'`,
      [auto.message.id],
    );
    expect(log.rows[0]).toMatchObject({ status: 'suppressed' });
  });
});

describe('email intake and odd attachment names', () => {
  const mail = (name: string, extra: string[] = []) =>
    Buffer.from(
      [
        'From: Eve Player <eve@players.example>',
        `To: ${org.address}`,
        'Subject: crash log',
        `Message-ID: <${mid()}>`,
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'my game crashes, log attached',
        '--b',
        `Content-Type: text/plain; name="${name}"`,
        `Content-Disposition: attachment; filename="${name}"`,
        ...extra,
        '',
        'LOG',
        '--b--',
        '',
      ].join('\r\n'),
    );
  const take = (raw: Buffer) =>
    intakeEmail(deps(), org.orgId, raw, {
      mailFrom: 'eve@players.example',
      rcptTo: [org.address],
      via: 'smtp',
    });
  const filesOf = async (ticketId: string | null) =>
    (
      await db.admin.query<{ filename: string; content_id: string | null }>(
        'select filename, content_id from attachments where ticket_id = $1 order by created_at',
        [ticketId],
      )
    ).rows;

  it('still opens the ticket when an attachment is named "/"', async () => {
    const r = await take(mail('/'));
    expect(r.status).toBe('new_ticket');
    expect((await filesOf(r.ticketId)).map((f) => f.filename)).toEqual(['attachment-1']);
  });

  it('takes names of control characters only, path tricks and an empty Content-ID without failing the mail', async () => {
    const control = await take(mail('\u0001\u0002', ['Content-ID: <>']));
    expect(control.status).toBe('new_ticket');
    const path = await take(mail('../../etc/passwd'));
    expect(path.status).toBe('new_ticket');
    expect(await filesOf(control.ticketId)).toEqual([{ filename: 'attachment-1', content_id: null }]);
    expect((await filesOf(path.ticketId)).map((f) => f.filename)).toEqual(['....etcpasswd']);
  });
});
