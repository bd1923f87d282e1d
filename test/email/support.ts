import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEM } from '../../db/changes.js';
import { addInboundAddress } from '../../db/email-addresses.js';
import type { Pool } from '../../db/pool.js';
import { withTenant } from '../../db/tenant.js';
import { createLogger } from '../../lib/logger.js';
import { LocalStorage } from '../../lib/storage/index.js';
import { makeOrg } from '../support/fixtures.js';

/**
 * What the email tests share: an organization with an inbound address, local storage in a
 * temporary folder, and raw mails shaped the way Gmail, Outlook, Apple Mail, out-of-office
 * responders and mailer daemons write them.
 */
export async function emailOrg(app: Pool, name = 'Mailstudio') {
  const org = await makeOrg(app, name);
  const domain = `${name.toLowerCase()}-${org.orgId.slice(0, 8)}.localhost`;
  const address = `support@${domain}`;
  await withTenant(app, org.orgId, (tx) =>
    addInboundAddress(tx, { address, senderName: `${name} Support` }, SYSTEM),
  );
  return { ...org, address, domain };
}

export function tempStorage() {
  const dir = mkdtempSync(join(tmpdir(), 'gm-email-'));
  return { dir, storage: new LocalStorage(dir) };
}

export const quietLogger = () => createLogger('silent');

const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');
let seq = 0;
export const mid = (host = 'mail.example.com') =>
  `${Date.now().toString(36)}.${++seq}.${Math.random().toString(36).slice(2)}@${host}`;

export interface MailParts {
  from?: string;
  to: string;
  subject: string;
  messageId?: string;
  inReplyTo?: string;
  references?: string[];
  extraHeaders?: string[];
  body: string;
}

/** A plain first mail from a player. */
export function plainMail(p: MailParts): Buffer {
  return Buffer.from(
    crlf(
      [
        `From: ${p.from ?? 'Ana Player <ana@players.example>'}`,
        `To: ${p.to}`,
        `Subject: ${p.subject}`,
        `Date: Tue, 03 Mar 2026 10:00:00 +0000`,
        `Message-ID: <${p.messageId ?? mid()}>`,
        ...(p.inReplyTo ? [`In-Reply-To: <${p.inReplyTo}>`] : []),
        ...(p.references?.length ? [`References: ${p.references.map((r) => `<${r}>`).join(' ')}`] : []),
        ...(p.extraHeaders ?? []),
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        p.body,
        '',
      ].join('\n'),
    ),
  );
}

/** Gmail: multipart/alternative, a two-line attribution, the quote in `>` lines. */
export function gmailReply(p: MailParts & { quoted: string }): Buffer {
  const b = '000000000000a1b2c3d4e5f6';
  return Buffer.from(
    crlf(
      [
        `From: ${p.from ?? 'Ana Player <ana@players.example>'}`,
        `To: ${p.to}`,
        `Subject: ${p.subject}`,
        `Date: Tue, 03 Mar 2026 11:00:00 +0000`,
        `Message-ID: <${p.messageId ?? mid('mail.gmail.com')}>`,
        ...(p.inReplyTo ? [`In-Reply-To: <${p.inReplyTo}>`] : []),
        ...(p.references?.length ? [`References: ${p.references.map((r) => `<${r}>`).join(' ')}`] : []),
        'MIME-Version: 1.0',
        `Content-Type: multipart/alternative; boundary="${b}"`,
        '',
        `--${b}`,
        'Content-Type: text/plain; charset="UTF-8"',
        '',
        p.body,
        '',
        'On Tue, 3 Mar 2026 at 10:30, Support <support@studio.example>',
        'wrote:',
        '',
        ...p.quoted.split('\n').map((l) => `> ${l}`),
        '',
        `--${b}`,
        'Content-Type: text/html; charset="UTF-8"',
        '',
        `<div dir="ltr">${p.body}</div><br><div class="gmail_quote"><blockquote>${p.quoted}</blockquote></div>`,
        '',
        `--${b}--`,
        '',
      ].join('\n'),
    ),
  );
}

/** Outlook: windows-1252 quoted-printable, no In-Reply-To, the "From/Sent/To/Subject" header block. */
export function outlookReply(p: MailParts & { quoted: string }): Buffer {
  // windows-1252 where it differs from ISO-8859-1 (the bytes 0x80-0x9f), then quoted-printable.
  const cp1252: Record<string, number> = {
    '€': 0x80,
    '–': 0x96,
    '—': 0x97,
    '‘': 0x91,
    '’': 0x92,
    '“': 0x93,
    '”': 0x94,
  };
  const qp = (s: string) =>
    [...s]
      .map((ch) => cp1252[ch] ?? ch.charCodeAt(0))
      .map((c) => (c > 126 || c === 61 ? `=${c.toString(16).toUpperCase()}` : String.fromCharCode(c)))
      .join('');
  return Buffer.from(
    crlf(
      [
        `From: ${p.from ?? 'Ana Player <ana@players.example>'}`,
        `To: ${p.to}`,
        `Subject: ${p.subject}`,
        'Thread-Topic: Crash',
        'Thread-Index: AQHZ1234567890abcdef==',
        `Date: Tue, 03 Mar 2026 12:00:00 +0000`,
        `Message-ID: <${p.messageId ?? mid('EXCH.prod.outlook.com')}>`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset="windows-1252"',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        qp(p.body),
        '',
        '________________________________',
        'From: Support <support@studio.example>',
        'Sent: Tuesday, March 3, 2026 11:30 AM',
        'To: Ana Player <ana@players.example>',
        'Subject: Crash',
        '',
        qp(p.quoted),
        '',
      ].join('\n'),
    ),
    'latin1',
  );
}

/**
 * Outlook (new Outlook, Outlook on the web) sending HTML only: the reply, an `<hr>` rule, then the
 * quoted mail's bold "From/Sent/To/Subject" header block. `headers` gives the block's labels in
 * the sender's language.
 */
export function outlookHtmlReply(
  p: MailParts & { quoted: string; headers?: [string, string, string, string] },
): Buffer {
  const [from, sent, to, subject] = p.headers ?? ['From:', 'Sent:', 'To:', 'Subject:'];
  const html = [
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">',
    '<style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} </style></head>',
    '<body dir="ltr">',
    `<div class="elementToProof" style="font-family: Aptos, Calibri, Helvetica, sans-serif; font-size: 12pt;">${p.body}</div>`,
    '<div class="elementToProof" style="font-family: Aptos, Calibri, Helvetica, sans-serif; font-size: 12pt;"><br></div>',
    '<div id="appendonsend"></div>',
    '<hr style="display:inline-block;width:98%" tabindex="-1">',
    '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000">',
    `<b>${from}</b> Support &lt;support@studio.example&gt;<br>`,
    `<b>${sent}</b> Monday, December 7, 2026 10:00 AM<br>`,
    `<b>${to}</b> Ana Player &lt;ana@players.example&gt;<br>`,
    `<b>${subject}</b> Re: Crash</font><div>&nbsp;</div></div>`,
    `<div class="BodyFragment"><font size="2"><span style="font-size:11pt;"><div class="PlainText">${p.quoted}</div></span></font></div>`,
    '</body></html>',
  ].join('\n');
  return Buffer.from(
    crlf(
      [
        `From: ${p.from ?? 'Ana Player <ana@players.example>'}`,
        `To: ${p.to}`,
        `Subject: ${p.subject}`,
        `Date: Mon, 07 Dec 2026 11:00:00 +0000`,
        `Message-ID: <${p.messageId ?? mid('EXCH.prod.outlook.com')}>`,
        'MIME-Version: 1.0',
        'Content-Type: text/html; charset="utf-8"',
        'Content-Transfer-Encoding: 8bit',
        '',
        html,
        '',
      ].join('\n'),
    ),
  );
}

/** Apple Mail: "On <date>, at <time>, <name> wrote:", References chain, "Sent from my iPhone". */
export function appleReply(p: MailParts & { quoted: string }): Buffer {
  return Buffer.from(
    crlf(
      [
        `From: ${p.from ?? 'Ana Player <ana@players.example>'}`,
        `To: ${p.to}`,
        `Subject: ${p.subject}`,
        `Date: Tue, 03 Mar 2026 13:00:00 +0000`,
        `Message-Id: <${p.messageId ?? mid('icloud.com')}>`,
        ...(p.inReplyTo ? [`In-Reply-To: <${p.inReplyTo}>`] : []),
        ...(p.references?.length ? [`References: ${p.references.map((r) => `<${r}>`).join(' ')}`] : []),
        'Mime-Version: 1.0 (1.0)',
        'X-Mailer: iPhone Mail (21D61)',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        p.body,
        '',
        'Sent from my iPhone',
        '',
        '> On 3 Mar 2026, at 12:30, Support <support@studio.example> wrote:',
        '>=20',
        ...p.quoted.split('\n').map((l) => `> ${l}`),
        '',
      ].join('\n'),
    ),
  );
}

/** An out-of-office answer (Exchange-shaped: Auto-Submitted and X-Auto-Response-Suppress). */
export function outOfOffice(p: { to: string; inReplyTo?: string; from?: string }): Buffer {
  return plainMail({
    from: p.from ?? 'Ana Player <ana@players.example>',
    to: p.to,
    subject: 'Automatic reply: Crash',
    ...(p.inReplyTo ? { inReplyTo: p.inReplyTo } : {}),
    extraHeaders: ['Auto-Submitted: auto-replied', 'X-Auto-Response-Suppress: All'],
    body: 'I am away until Monday.',
  });
}

/** A DSN from the mailer daemon for mail we sent to `failed` (RFC 3464). */
export function bounce(p: { to: string; failed: string; originalMessageId: string }): Buffer {
  const b = 'dsn-boundary-1';
  return Buffer.from(
    crlf(
      [
        'From: Mail Delivery System <MAILER-DAEMON@mx.players.example>',
        `To: ${p.to}`,
        'Subject: Undelivered Mail Returned to Sender',
        `Message-ID: <${mid('mx.players.example')}>`,
        'Auto-Submitted: auto-replied',
        'MIME-Version: 1.0',
        `Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"`,
        '',
        `--${b}`,
        'Content-Type: text/plain; charset=us-ascii',
        '',
        'Your message could not be delivered.',
        '',
        `--${b}`,
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mx.players.example',
        '',
        `Final-Recipient: rfc822; ${p.failed}`,
        'Action: failed',
        'Status: 5.1.1',
        'Diagnostic-Code: smtp; 550 5.1.1 user unknown',
        '',
        `--${b}`,
        'Content-Type: text/rfc822-headers',
        '',
        `Message-ID: <${p.originalMessageId}>`,
        '',
        `--${b}--`,
        '',
      ].join('\n'),
    ),
  );
}

/** Polls `check` until it returns something truthy, or fails after `ms`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false>,
  ms = 10_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface SunkMail {
  from: string | null;
  to: string[];
  raw: Buffer;
}

/** A loopback SMTP server that keeps what it is sent: where outgoing replies land in the tests. */
export async function startSmtpSink(): Promise<{ port: number; mails: SunkMail[]; close(): Promise<void> }> {
  const { SMTPServer } = await import('smtp-server');
  const mails: SunkMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const from = session.envelope.mailFrom;
        mails.push({
          from: from === false ? null : from.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        });
        callback();
      });
    },
  });
  const net = server.listen(0, '127.0.0.1');
  await new Promise((r) => net.once('listening', r));
  const port = (net.address() as import('node:net').AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}
