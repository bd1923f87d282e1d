import nodemailer, { type Transporter } from 'nodemailer';
import {
  type EmailLogEntry,
  findEmail,
  markSent,
  type OutboundMail,
  outboundMail,
  recordEmail,
  ticketMessageIds,
} from '../db/email-messages.js';
import { withTenant } from '../db/tenant.js';
import { refMarker, replyAddress, subjectTag } from '../lib/email/thread-text.js';
import type { WorkerDeps } from './deps.js';
import type { JobData } from './jobs.js';
import { messageFiles } from './message-files.js';
import { permanentError } from './queues.js';

/**
 * Staff replies on email tickets, sent as mail (`email.reply`, fed by the outbox's
 * `message.created`). Each carries our own Message-ID (derived from the message id, so every
 * attempt sends the same one and the player's mail client folds a rare double delivery),
 * In-Reply-To the player's last mail and References the whole chain, the subject with the
 * ticket's tag, Reply-To with the ticket's plus-token, and the `[ref:...]` marker in the body.
 * Automatic messages (written by the system, not a person) carry `Auto-Submitted: auto-generated`.
 */
export type Mailer = Pick<Transporter, 'sendMail' | 'close'>;

/** SMTP_OUTBOUND_URL's transport; null when unset. */
export function createMailer(url: string | undefined): Mailer | null {
  if (!url) return null;
  return nodemailer.createTransport(url, {}) as unknown as Mailer;
}

/** What one reply mails as attachments, in all: under the 25 MB most providers take, with room for the encoding. */
export const MAX_MAIL_ATTACHMENT_BYTES = 18 * 1024 * 1024;

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1);

type Prepared =
  | { skip: string }
  | {
      mail: OutboundMail;
      row: EmailLogEntry;
      messageId: string;
      subject: string;
      lastInbound: string | undefined;
    };

/** Written by a rule or the bot, not a person: sent as Auto-Submitted (RFC 3834). */
const isAutomatic = (mail: OutboundMail) => mail.authorType === 'system' || mail.authorType === 'bot';

export async function sendEmailReply(deps: WorkerDeps, d: JobData<'email.reply'>): Promise<string> {
  const prepared = await withTenant(deps.pool, d.orgId, async (tx): Promise<Prepared> => {
    const mail = await outboundMail(tx, d.messageId);
    if (!mail) return { skip: 'no email thread' };
    if (mail.outStatus === 'sent' || mail.outStatus === 'suppressed') return { skip: 'already sent' };
    if (!mail.senderAddress) return { skip: 'no inbound address to send from' };
    const messageId = `gm-${mail.chatMessageId}@${domainOf(mail.senderAddress)}`;
    const chain = (await ticketMessageIds(tx, mail.ticketId)).filter((m) => m.messageId !== messageId);
    const lastInbound =
      chain.filter((m) => m.direction === 'in').at(-1)?.messageId ?? chain.at(-1)?.messageId;
    const tag = subjectTag(mail.ticketNumber);
    const base = mail.threadSubject.includes(tag) ? mail.threadSubject : `${mail.threadSubject} ${tag}`;
    const subject = /^re:/i.test(base) ? base : `Re: ${base}`;
    const row: EmailLogEntry | null =
      (await findEmail(tx, 'out', messageId)) ??
      (await recordEmail(tx, {
        direction: 'out',
        messageId,
        ticketId: mail.ticketId,
        chatMessageId: mail.chatMessageId,
        status: 'queued',
        inReplyTo: lastInbound ?? null,
        refs: chain.map((m) => m.messageId),
        fromAddress: mail.senderAddress,
        toAddresses: [mail.playerAddress],
        subject,
      }));
    if (!row) throw new Error('outgoing mail row vanished');
    if (mail.undeliverable) {
      await markSent(tx, row.id, { suppressed: 'address bounced' });
      return { skip: 'address undeliverable' };
    }
    // RFC 3834: a sender that asked for no automatic reply (a mailing list, an auto-responder)
    // hears from people only; a rule's canned answer would reach the whole list or start a loop.
    if (isAutomatic(mail) && mail.noAutoReply) {
      await markSent(tx, row.id, { suppressed: `no automatic replies (${mail.noAutoReply})` });
      return { skip: 'no automatic replies' };
    }
    return { mail, row, messageId, subject, lastInbound };
  });
  if (!('mail' in prepared)) {
    deps.logger.debug({ messageId: d.messageId, reason: prepared.skip }, 'email reply not sent');
    return prepared.skip;
  }
  const { mail, row, messageId, subject, lastInbound } = prepared;
  if (!deps.mailer) {
    await withTenant(deps.pool, d.orgId, (tx) =>
      markSent(tx, row.id, { error: 'SMTP_OUTBOUND_URL is not set' }),
    );
    deps.logger.warn({ messageId: d.messageId }, 'email reply not sent: SMTP_OUTBOUND_URL is not set');
    return 'not configured';
  }
  const automatic = isAutomatic(mail);
  // The reply's files go as attachments; any past the mail size budget are named in the text.
  const { files, named } = await messageFiles(deps, d.orgId, d.messageId, MAX_MAIL_ATTACHMENT_BYTES);
  const notAttached = named.length ? `\n\nNot attached (too large for email): ${named.join(', ')}` : '';
  try {
    await deps.mailer.sendMail({
      messageId: `<${messageId}>`,
      from: { name: mail.senderName ?? mail.orgName, address: mail.senderAddress! },
      replyTo: replyAddress(mail.senderAddress!, mail.token),
      to: mail.playerAddress,
      subject,
      text: `${mail.body}${notAttached}\n\n${refMarker(mail.token)}\n`,
      ...(files.length
        ? {
            attachments: files.map((f) => ({
              filename: f.name,
              content: f.data,
              contentType: f.contentType,
            })),
          }
        : {}),
      ...(lastInbound ? { inReplyTo: `<${lastInbound}>` } : {}),
      references: row.refs.map((r) => `<${r}>`),
      headers: automatic ? { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' } : {},
    });
  } catch (err) {
    const code = (err as { responseCode?: number }).responseCode;
    const message = (err as Error).message;
    await withTenant(deps.pool, d.orgId, (tx) => markSent(tx, row.id, { error: message }));
    deps.logger.warn({ messageId: d.messageId, code, err: message }, 'email reply failed');
    // A 5xx from the relay is final (bad recipient, refused sender): retrying sends nothing.
    if (code !== undefined && code >= 500) throw permanentError(`email reply refused: ${message}`);
    throw err;
  }
  await withTenant(deps.pool, d.orgId, (tx) => markSent(tx, row.id, {}));
  deps.logger.info({ messageId: d.messageId, ticketId: mail.ticketId }, 'email reply sent');
  return 'sent';
}
