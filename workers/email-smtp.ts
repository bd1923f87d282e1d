import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { orgForEmailAddress } from '../db/email-addresses.js';
import { splitAddress } from '../lib/email/thread-text.js';
import { type IntakeDeps, intakeEmail } from './email-intake.js';

/**
 * The SMTP intake: a plain SMTP listener (no AUTH, no STARTTLS: it sits behind the studio's MX
 * or a relay, or on loopback in development) that accepts mail only for addresses an
 * organization owns, and answers 250 only once the mail is committed as a ticket or reply
 * (or logged). A failure to record answers 451, so the sender's MTA retries; the retry is
 * idempotent on the Message-ID.
 */
export interface SmtpIntakeOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The largest message taken (SIZE is advertised; a larger one is refused with 552). */
  maxBytes: number;
  /** Recipients one message may have (RCPT TO beyond it answers 452). */
  maxRecipients?: number;
}

export interface SmtpIntake {
  host: string;
  port: number;
  close(): Promise<void>;
}

const smtpError = (code: number, message: string) =>
  Object.assign(new Error(message), { responseCode: code });

export async function startSmtpIntake(deps: IntakeDeps, opts: SmtpIntakeOptions): Promise<SmtpIntake> {
  // Which organization each accepted recipient belongs to, found once at RCPT TO.
  const orgOf = new WeakMap<SMTPServerAddress, string>();
  const maxRecipients = opts.maxRecipients ?? 50;
  // Addresses found recently: a busy address costs no look-up per mail. A removed address keeps
  // taking mail for at most a minute, which is then still the organization's.
  const known = new Map<string, { orgId: string; until: number }>();
  const lookUp = async (base: string): Promise<string | null> => {
    const hit = known.get(base);
    if (hit && hit.until > Date.now()) return hit.orgId;
    const orgId = await orgForEmailAddress(deps.pool, base);
    if (orgId) {
      if (known.size >= 1_000) known.clear();
      known.set(base, { orgId, until: Date.now() + 60_000 });
    }
    return orgId;
  };
  const server = new SMTPServer({
    name: 'gamemod',
    banner: 'GameMod support intake',
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    // Reverse DNS of every client would put a network look-up on each connection.
    disableReverseLookup: true,
    size: opts.maxBytes,
    logger: false,
    socketTimeout: 60_000,
    closeTimeout: 5_000,
    onRcptTo(address, session, callback) {
      if (session.envelope.rcptTo.length >= maxRecipients) {
        callback(smtpError(452, '4.5.3 too many recipients'));
        return;
      }
      const { base } = splitAddress(address.address);
      lookUp(base).then(
        (orgId) => {
          if (!orgId) {
            callback(smtpError(550, '5.1.1 no such mailbox here'));
            return;
          }
          orgOf.set(address, orgId);
          callback();
        },
        (err: unknown) => {
          deps.logger.warn({ err }, 'smtp intake: recipient look-up failed');
          callback(smtpError(451, '4.3.0 try again later'));
        },
      );
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          callback(smtpError(552, `5.3.4 message larger than ${opts.maxBytes} bytes`));
          return;
        }
        const raw = Buffer.concat(chunks);
        const byOrg = new Map<string, string[]>();
        for (const r of session.envelope.rcptTo) {
          const orgId = orgOf.get(r);
          if (orgId) byOrg.set(orgId, [...(byOrg.get(orgId) ?? []), r.address.toLowerCase()]);
        }
        const from = session.envelope.mailFrom;
        const mailFrom = from === false ? null : from.address.toLowerCase();
        // One mail to two organizations is taken by each, independently.
        Promise.all(
          [...byOrg].map(([orgId, rcptTo]) =>
            intakeEmail(deps, orgId, raw, {
              mailFrom,
              rcptTo,
              remoteAddress: session.remoteAddress,
              via: 'smtp',
            }),
          ),
        ).then(
          (results) => {
            deps.logger.debug({ results }, 'smtp intake: mail recorded');
            callback(null, 'message recorded');
          },
          (err: unknown) => {
            deps.logger.error({ err }, 'smtp intake: mail not recorded, the sender will retry');
            callback(smtpError(451, '4.3.0 could not record the message, try again later'));
          },
        );
      });
    },
  });
  server.on('error', (err) => deps.logger.warn({ err }, 'smtp intake: connection error'));
  const listener = server.listen(opts.port, opts.host);
  await new Promise<void>((resolve, reject) => {
    listener.once('listening', () => resolve());
    listener.once('error', reject);
  });
  const address = listener.address() as AddressInfo;
  return {
    host: opts.host,
    port: address.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
