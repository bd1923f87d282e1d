import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type SmtpIntake, startSmtpIntake } from '../../workers/email-smtp.js';
import { startWorkerRuntime, type WorkerRuntime } from '../../workers/runtime.js';
import { type Caller, startTestApi, type TestApi } from '../api/support.js';
import { useTestDb } from '../support/db.js';
import {
  appleReply,
  bounce,
  emailOrg,
  gmailReply,
  mid,
  outlookReply,
  outOfOffice,
  plainMail,
  quietLogger,
  type SunkMail,
  startSmtpSink,
  tempStorage,
  waitFor,
} from './support.js';

/**
 * The email bridge end to end, over real SMTP: mail sent with nodemailer and swaks into the
 * listening intake, a staff reply from the panel's API through the outbox relay and the
 * `email.reply` worker to a loopback SMTP sink, and the HTTP intake.
 */
const db = useTestDb();
const { dir, storage } = tempStorage();
let org: Awaited<ReturnType<typeof emailOrg>>;
let intake: SmtpIntake;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
let workers: WorkerRuntime;
let api: TestApi;
let owner: Caller;

beforeAll(async () => {
  org = await emailOrg(db.app, 'Smtpstudio');
  intake = await startSmtpIntake(
    { pool: db.app, storage, logger: quietLogger() },
    { host: '127.0.0.1', port: 0, maxBytes: 256 * 1024 },
  );
  sink = await startSmtpSink();
  workers = await startWorkerRuntime({
    pool: db.app,
    redisUrl: inject('services').redisUrl,
    logger: quietLogger(),
    box: (await import('../../lib/secret-box.js')).createSecretBox(
      (await import('../../lib/secret-key.js')).randomSecretKey(),
    ),
    webhookTargets: { allowLoopback: true, allowPrivate: false },
    prefix: `email-${randomBytes(4).toString('hex')}`,
    schedulers: false,
    relay: { pollMs: 100 },
    emailOutboundUrl: `smtp://127.0.0.1:${sink.port}`,
  });
  api = await startTestApi(db.app);
  owner = await api.sessionFor(org.ownerId);
});
afterAll(async () => {
  await workers?.stop();
  await api?.close();
  await intake?.close();
  await sink?.close();
  rmSync(dir, { recursive: true, force: true });
});

const smtp = () =>
  nodemailer.createTransport({ host: '127.0.0.1', port: intake.port, secure: false, ignoreTLS: true });
const send = (raw: Buffer, to: string, from = 'ana@players.example') =>
  smtp().sendMail({ envelope: { from, to: [to] }, raw });
const ticketCount = async () =>
  (
    await db.admin.query<{ n: number }>('select count(*)::int as n from tickets where org_id = $1', [
      org.orgId,
    ])
  ).rows[0]!.n;
const messagesOf = async (ticketId: string) =>
  (
    await db.admin.query<{ body: string; origin: string }>(
      'select body, origin from messages where ticket_id = $1 order by created_at, id',
      [ticketId],
    )
  ).rows;
const ticketOf = async (messageId: string) =>
  (
    await db.admin.query<{ id: string; number: number }>(
      `select t.id, t.number from email_messages e join tickets t on t.id = e.ticket_id
        where e.org_id = $1 and e.direction = 'in' and e.message_id = $2`,
      [org.orgId, messageId],
    )
  ).rows[0];
const staffReply = (ticketId: string, body: string) =>
  api.call(owner, {
    method: 'POST',
    url: `/v1/orgs/${org.orgId}/tickets/${ticketId}/replies`,
    payload: { body },
  });
const parseSunk = (m: SunkMail) => simpleParser(m.raw);
/** Every outbox row relayed: any job a mail implied has been enqueued by now. */
const relayed = () =>
  waitFor(async () => {
    const r = await db.admin.query('select 1 from outbox where org_id = $1 and relayed_at is null limit 1', [
      org.orgId,
    ]);
    return r.rowCount === 0;
  });

describe('the email bridge over SMTP', () => {
  let ticket: { id: string; number: number };
  let firstId: string;
  let ourId: string;
  let token: string;

  it('takes a first mail sent with nodemailer as a new ticket', async () => {
    firstId = mid();
    const raw = plainMail({
      to: org.address,
      subject: 'Crash on launch',
      body: 'It crashes.',
      messageId: firstId,
    });
    const info = await send(raw, org.address);
    expect(info.accepted).toEqual([org.address]);
    ticket = (await ticketOf(firstId))!;
    expect(ticket).toBeDefined();
    expect(await messagesOf(ticket.id)).toEqual([{ body: 'It crashes.', origin: 'email' }]);
  });

  it('sends a reply made in the panel to the player, with threading headers, tag, plus-address and marker', async () => {
    const res = await staffReply(ticket.id, 'Please verify your game files.');
    expect(res.statusCode).toBe(201);
    const sent = await waitFor(async () => sink.mails[0]);
    expect(sent.to).toEqual(['ana@players.example']);
    const m = await parseSunk(sent);
    token = (
      await db.admin.query<{ token: string }>('select token from email_threads where ticket_id = $1', [
        ticket.id,
      ])
    ).rows[0]!.token;
    ourId = m.messageId!.replace(/^<|>$/g, '');
    expect(ourId).toMatch(new RegExp(`^gm-[0-9a-f-]{36}@${org.domain.replace(/\./g, '\\.')}$`));
    expect(m.inReplyTo).toBe(`<${firstId}>`);
    expect(m.references).toEqual(`<${firstId}>`);
    expect(m.subject).toBe(`Re: Crash on launch [#${ticket.number}]`);
    expect(m.from?.value[0]?.address).toBe(org.address);
    expect(m.replyTo?.value[0]?.address).toBe(org.address.replace('@', `+${token}@`));
    expect(m.text).toContain('Please verify your game files.');
    expect(m.text).toContain(`[ref:${token}]`);
    // A person wrote it: not automatic mail.
    expect(m.headers.get('auto-submitted')).toBeUndefined();
    const out = await waitFor(async () => {
      const r = await db.admin.query(
        "select status from email_messages where direction = 'out' and message_id = $1",
        [ourId],
      );
      return r.rows[0]?.status === 'sent' ? r.rows[0] : undefined;
    });
    expect(out).toEqual({ status: 'sent' });
  });

  it('threads Gmail-, Outlook- and Apple-Mail-shaped replies (one sent with swaks) into the same ticket', async () => {
    const plus = org.address.replace('@', `+${token}@`);
    const gmailId = mid('mail.gmail.com');
    await send(
      gmailReply({
        to: plus,
        subject: `Re: Crash on launch [#${ticket.number}]`,
        messageId: gmailId,
        inReplyTo: ourId,
        references: [firstId, ourId],
        body: 'Verified, still crashing.',
        quoted: `Please verify your game files.\n[ref:${token}]`,
      }),
      plus,
    );
    const outlookId = mid('EXCH.prod.outlook.com');
    await send(
      outlookReply({
        to: org.address,
        subject: `RE: Crash on launch [#${ticket.number}]`,
        messageId: outlookId,
        body: 'Logs attached – “crash.log”',
        quoted: 'Please verify your game files.',
      }),
      org.address,
    );
    const appleId = mid('icloud.com');
    const file = join(dir, 'apple.eml');
    writeFileSync(
      file,
      appleReply({
        to: org.address,
        subject: 'Re: Crash on launch',
        messageId: appleId,
        inReplyTo: ourId,
        references: [firstId, ourId],
        body: 'Any news?',
        quoted: 'Please verify your game files.',
      }),
    );
    // Asynchronously: the intake listens in this very process.
    await promisify(execFile)('swaks', [
      '--server',
      `127.0.0.1:${intake.port}`,
      '--from',
      'ana@players.example',
      '--to',
      org.address,
      '--data',
      `@${file}`,
      '--silent',
      '2',
    ]);
    for (const id of [gmailId, outlookId, appleId]) expect((await ticketOf(id))?.id).toBe(ticket.id);
    expect((await messagesOf(ticket.id)).map((m) => m.body)).toEqual([
      'It crashes.',
      'Please verify your game files.',
      'Verified, still crashing.',
      'Logs attached – “crash.log”',
      'Any news?',
    ]);
  });

  it('makes no ticket and sends no reply for an out-of-office answer or a bounce; a bounce stops later mail', async () => {
    const tickets = await ticketCount();
    const sunk = sink.mails.length;
    await send(outOfOffice({ to: org.address, inReplyTo: ourId }), org.address, '');
    await send(
      bounce({ to: org.address, failed: 'ana@players.example', originalMessageId: ourId }),
      org.address,
      '',
    );
    await relayed();
    expect(await ticketCount()).toBe(tickets);
    const log = await db.admin.query<{ status: string; ticket_id: string | null }>(
      `select status, ticket_id from email_messages where org_id = $1 and status in ('auto_reply', 'bounce')
        order by created_at`,
      [org.orgId],
    );
    expect(log.rows).toEqual([
      { status: 'auto_reply', ticket_id: ticket.id },
      { status: 'bounce', ticket_id: ticket.id },
    ]);
    // The address bounced: the next staff reply is recorded as suppressed and not sent.
    await staffReply(ticket.id, 'Did that help?');
    await waitFor(async () => {
      const r = await db.admin.query(
        "select 1 from email_messages where ticket_id = $1 and direction = 'out' and status = 'suppressed'",
        [ticket.id],
      );
      return r.rowCount === 1;
    });
    expect(sink.mails.length).toBe(sunk);
  });

  it('keeps broken MIME: a ticket staff see, the raw mail stored byte for byte', async () => {
    const raw = Buffer.from(
      [
        'Subject: broken',
        'Content-Type: multipart/mixed; boundary="never-closed"',
        '',
        '--never-closed',
        'Content-Type: text/plain; charset=x-unknown-charset',
        'Content-Transfer-Encoding: base64',
        '',
        '!!!not base64!!!',
        '',
      ].join('\r\n'),
    );
    await smtp().sendMail({ envelope: { from: '', to: [org.address] }, raw });
    const row = await waitFor(async () => {
      const r = await db.admin.query<{ ticket_id: string; raw_storage_key: string; parse_error: string }>(
        "select ticket_id, raw_storage_key, parse_error from email_messages where org_id = $1 and status = 'unparseable'",
        [org.orgId],
      );
      return r.rows[0];
    });
    expect(row.parse_error).toMatch(/sender/);
    const stored = await storage.get(row.raw_storage_key);
    const chunks: Buffer[] = [];
    for await (const c of stored.body) chunks.push(c as Buffer);
    // SMTP dot-stuffing and the final CRLF aside, the bytes are the ones sent.
    expect(Buffer.concat(chunks).toString()).toContain('!!!not base64!!!');
  });

  it('refuses mail for addresses nobody owns (550) and mail over the size limit (552)', async () => {
    await expect(
      send(plainMail({ to: 'x@nowhere.localhost', subject: 'x', body: 'x' }), 'x@nowhere.localhost'),
    ).rejects.toMatchObject({ responseCode: 550 });
    const big = plainMail({ to: org.address, subject: 'big', body: 'a'.repeat(300 * 1024) });
    await expect(send(big, org.address)).rejects.toMatchObject({ responseCode: 552 });
  });
});

describe('the HTTP intake', () => {
  it('takes raw MIME with the org intake secret, once per Message-ID, and refuses a wrong secret', async () => {
    const made = await api.call(owner, { method: 'POST', url: `/v1/orgs/${org.orgId}/email/intake-secret` });
    expect(made.statusCode).toBe(201);
    const { secret } = made.json() as { secret: string };
    const slug = (
      await db.admin.query<{ slug: string }>('select slug from organizations where id = $1', [org.orgId])
    ).rows[0]!.slug;
    const raw = plainMail({ to: org.address, subject: 'Posted by a provider', body: 'Hello over HTTP' });
    const post = (auth: string) =>
      api.app.inject({
        method: 'POST',
        url: `/v1/inbound/email/${slug}`,
        headers: { authorization: auth, 'content-type': 'message/rfc822' },
        payload: raw,
      });
    const first = await post(`Bearer ${secret}`);
    expect(first.statusCode).toBe(202);
    expect(first.json()).toMatchObject({ status: 'new_ticket', ticketNumber: expect.any(Number) });
    const basic = Buffer.from(`inbound:${secret}`).toString('base64');
    expect((await post(`Basic ${basic}`)).json()).toMatchObject({ status: 'duplicate' });
    const wrong = await post(`Bearer ${secret.slice(0, -1)}${secret.endsWith('a') ? 'b' : 'a'}`);
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('unauthenticated');
    const log = await api.call(owner, {
      method: 'GET',
      url: `/v1/orgs/${org.orgId}/email/messages?status=unparseable`,
    });
    expect(log.json().messages).toEqual([
      expect.objectContaining({ status: 'unparseable', parseError: expect.any(String) }),
    ]);
  });
});
