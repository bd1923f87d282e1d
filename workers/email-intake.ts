import { createHash, randomBytes } from 'node:crypto';
import { recordAttachment } from '../db/attachments.js';
import { type Actor, SYSTEM } from '../db/changes.js';
import { listInboundAddresses } from '../db/email-addresses.js';
import {
  createThread,
  type EmailLogInput,
  findEmail,
  findThreadTicket,
  recordEmail,
  senderOwnsThread,
  threadAsksNoAutoReply,
} from '../db/email-messages.js';
import { isNotification } from '../db/notifications.js';
import { emailPlayer, markDeliverable, markUndeliverable } from '../db/player-emails.js';
import type { Pool } from '../db/pool.js';
import { type Tx, withTenant } from '../db/tenant.js';
import { conversation, getTicket, openTicket, reply } from '../db/tickets.js';
import { type ParsedEmail, parseEmail } from '../lib/email/parse.js';
import {
  newToken,
  notificationIdIn,
  refInText,
  splitAddress,
  stripQuoted,
  tagInSubject,
  ticketSubject,
} from '../lib/email/thread-text.js';
import type { Logger } from '../lib/logger.js';
import type { Storage } from '../lib/storage/index.js';
import { attach, discard, storeAttachments } from './email-files.js';

/**
 * The email intake, shared by the SMTP listener (workers/email-smtp.ts) and the HTTP intake
 * (api/routes/inbound-email.ts): raw MIME and its envelope in, a ticket or a reply out, in one
 * tenant transaction through db/tickets.ts (so history, audit and outbox are written as for any
 * other door). The raw mail is stored first and kept whatever becomes of it; a redelivery of the
 * same Message-ID changes nothing and writes nothing (email-files.ts).
 */
export interface IntakeDeps {
  pool: Pool;
  storage: Storage;
  logger: Logger;
}

export interface Envelope {
  /** MAIL FROM; '' is the null return path (`MAIL FROM:<>`), null when unknown (HTTP intake). */
  mailFrom: string | null;
  rcptTo: string[];
  remoteAddress?: string | undefined;
  via: 'smtp' | 'http';
}

/** What became of a received mail. */
export const INBOUND_STATUSES = [
  'new_ticket',
  'reply',
  'auto_reply',
  'bounce',
  'unparseable',
  'ignored',
  'duplicate',
] as const;
export type InboundStatus = (typeof INBOUND_STATUSES)[number];

export interface IntakeResult {
  status: InboundStatus;
  ticketId: string | null;
  ticketNumber: number | null;
  /** How the mail found its ticket (plus_token, in_reply_to, subject_tag, ref_marker), or why it made none. */
  reason: string | null;
}

/** Why a reply to a staff notification mail was left alone. */
export const REPLY_TO_NOTIFICATION = 'reply_to_staff_notification';

/** The longest stored body; the whole mail stays in storage. */
const MAX_BODY = 16_000;
const CUT_NOTE = '\n\n[cut here: the whole email is kept with the ticket]';

/** Message-IDs go in 200-character external-id columns; longer ones are hashed. */
export const emailExternalId = (messageId: string) =>
  messageId.length <= 200 ? messageId : `sha256:${createHash('sha256').update(messageId).digest('hex')}`;

function clip(text: string): string {
  return text.length <= MAX_BODY ? text : text.slice(0, MAX_BODY - CUT_NOTE.length) + CUT_NOTE;
}

const DUPLICATE: IntakeResult = {
  status: 'duplicate',
  ticketId: null,
  ticketNumber: null,
  reason: 'message_id_seen',
};

/** Takes one mail for one organization. Throws only when it could not be recorded (retry later). */
export async function intakeEmail(
  deps: IntakeDeps,
  orgId: string,
  raw: Buffer,
  envelope: Envelope,
): Promise<IntakeResult> {
  const digest = createHash('sha256').update(raw).digest('hex');
  const parsed = await parseEmail(raw, envelope.mailFrom);
  // An MTA's retry of a mail already taken is known before anything is written.
  if (await withTenant(deps.pool, orgId, (tx) => findEmail(tx, 'in', parsed.messageId))) return DUPLICATE;
  // This delivery's own names: another delivery of the same mail racing this one writes under its
  // own, and the one that loses removes what it wrote (a rewrite of an object the winner's rows
  // name could bring back a file erased in between).
  const prefix = `orgs/${orgId}/email/${digest}-${randomBytes(8).toString('hex')}`;
  const rawKey = `${prefix}.eml`;
  await deps.storage.put(rawKey, raw, { contentType: 'message/rfc822' });
  const wanted = !parsed.parseError && (!parsed.loop || parsed.loop.kind === 'no_auto_reply');
  const files = wanted ? await storeAttachments(deps.storage, prefix, parsed) : [];
  const log = {
    direction: 'in' as const,
    messageId: parsed.messageId,
    inReplyTo: parsed.inReplyTo,
    refs: parsed.references,
    fromAddress: parsed.from?.address ?? envelope.mailFrom ?? null,
    toAddresses: parsed.recipients,
    subject: parsed.subject,
    envelope: {
      mailFrom: envelope.mailFrom,
      rcptTo: envelope.rcptTo,
      remoteAddress: envelope.remoteAddress ?? null,
      via: envelope.via,
    },
    headers: parsed.headers,
    rawStorageKey: rawKey,
    rawSize: raw.length,
    parseError: parsed.parseError,
  };
  const result = await withTenant(deps.pool, orgId, async (tx): Promise<IntakeResult> => {
    if (await findEmail(tx, 'in', parsed.messageId)) return DUPLICATE;
    const recipients = [...envelope.rcptTo, ...parsed.recipients];
    const token = recipients.map((r) => splitAddress(r).token).find((t) => t !== null) ?? null;
    const hints = {
      token,
      messageIds: [
        ...(parsed.inReplyTo ? [parsed.inReplyTo] : []),
        ...[...parsed.references].reverse(),
        ...(parsed.bounce?.originalMessageId ? [parsed.bounce.originalMessageId] : []),
      ],
      ticketNumber: tagInSubject(parsed.subject),
      refToken: refInText(parsed.text),
    };

    // Machines writing to us: logged (with the ticket they answer, if any), never a ticket.
    if (parsed.loop && parsed.loop.kind !== 'no_auto_reply' && !parsed.parseError) {
      const found = await findThreadTicket(tx, { ...hints, sender: null });
      let reason = parsed.loop.reason;
      if (parsed.loop.kind === 'bounce' && parsed.bounce?.recipients.length) {
        // Anyone can write a DSN, and an address marked undeliverable gets no more replies: only
        // the bounce of a mail we sent, naming an address it went to, marks that address.
        const original = parsed.bounce.originalMessageId
          ? await findEmail(tx, 'out', parsed.bounce.originalMessageId)
          : null;
        const sentTo = new Set((original?.toAddresses ?? []).map((a) => a.toLowerCase()));
        const failed = parsed.bounce.recipients.filter((r) => sentTo.has(r.toLowerCase()));
        const marked = failed.length
          ? await markUndeliverable(tx, failed, `bounced: ${parsed.bounce.status ?? 'failed'}`)
          : [];
        reason = marked.length
          ? `${reason}; undeliverable: ${marked.join(', ')}`
          : `${reason}; names no mail of ours to the failed address, nothing marked`;
      }
      await recordEmail(tx, { ...log, status: parsed.loop.kind, ticketId: found?.ticketId ?? null, reason });
      return { status: parsed.loop.kind, ticketId: found?.ticketId ?? null, ticketNumber: null, reason };
    }

    const sender = parsed.from?.address ?? envelope.mailFrom ?? '';
    if (!usableAddress(sender))
      parsed.parseError ??= `the sender address ${JSON.stringify(sender.slice(0, 100))} is not usable`;
    if (parsed.parseError) return unreadable(tx, parsed, log, envelope);

    // A member answering a staff notification mail (sent from this address) writes to staff,
    // not as a player: no ticket, no player profile for their address. The panel and Discord
    // are where they answer; the mail is kept in the log with the reason.
    const notices = hints.messageIds.map(notificationIdIn).filter((x): x is string => x !== null);
    if (await isNotification(tx, notices)) {
      await recordEmail(tx, { ...log, status: 'ignored', reason: REPLY_TO_NOTIFICATION });
      return { status: 'ignored', ticketId: null, ticketNumber: null, reason: REPLY_TO_NOTIFICATION };
    }

    // The subject tag and In-Reply-To match only the ticket's own player: a stranger naming
    // someone else's ticket gets a ticket of their own rather than a voice in that one.
    const found = await findThreadTicket(tx, { ...hints, sender });
    // A machine answering for the player on a thread they opened with mail of their own (an
    // out-of-office answer to a staff reply marked only with X-Auto-Response-Suppress or X-Loop)
    // is logged with the ticket, as an Auto-Submitted one is, and moves nothing: no reopen, no
    // player reply for the SLA, no message (so no acknowledgement and no notification), no
    // follow-up ticket. On a thread a list opened, the list's posts are the player's.
    if (
      found &&
      parsed.loop?.kind === 'no_auto_reply' &&
      !(await threadAsksNoAutoReply(tx, found.ticketId))
    ) {
      const reason = parsed.loop.reason;
      await recordEmail(tx, { ...log, status: 'auto_reply', ticketId: found.ticketId, reason });
      return { status: 'auto_reply', ticketId: found.ticketId, ticketNumber: null, reason };
    }

    const player = await emailPlayer(tx, sender, parsed.from?.name ?? null);
    if (player.blocked) {
      await recordEmail(tx, { ...log, status: 'ignored', reason: 'player_blocked' });
      return { status: 'ignored', ticketId: null, ticketNumber: null, reason: 'player_blocked' };
    }
    if (player.undeliverable) await markDeliverable(tx, sender);
    const actor: Actor = { type: 'player', id: player.playerId };
    const externalId = emailExternalId(parsed.messageId);
    let target = found ? await getTicket(tx, found.ticketId) : null;
    if (target?.mergedIntoId) target = await getTicket(tx, target.mergedIntoId);
    const body = clip(stripQuoted(parsed.text) || placeholder(files.length));

    if (target && target.status !== 'closed') {
      // Someone else writing into the thread (the token travels in every copy of it), or the
      // player of a ticket merged into this one, is heard as a participant: their mail does not
      // answer the ticket for its player (db/participants.ts says when it wakes it).
      const participant = target.requesterId
        ? target.requesterId !== player.playerId
        : !(await senderOwnsThread(tx, found?.ticketId ?? target.id, sender));
      const r = await reply(
        tx,
        { ticketId: target.id, body, origin: 'email', externalId, ...(participant ? { participant } : {}) },
        actor,
      );
      // The same Message-ID delivered at once: the other delivery recorded it while this one
      // waited, after the duplicate check above; nothing of it is written a second time.
      if (!r.created) return DUPLICATE;
      await attach(tx, files, r.message.id, actor);
      await recordEmail(tx, {
        ...log,
        status: 'reply',
        ticketId: target.id,
        chatMessageId: r.message.id,
        reason: found?.how ?? null,
      });
      return {
        status: 'reply',
        ticketId: target.id,
        ticketNumber: target.number,
        reason: found?.how ?? null,
      };
    }

    // A new ticket, or a follow-up of a closed one (replying would need it reopened by staff).
    // Over SMTP the recipient was already matched to this organization at RCPT TO.
    const inbound = envelope.rcptTo[0]
      ? splitAddress(envelope.rcptTo[0]).base
      : await inboundAddressOf(tx, recipients);
    const followUp: Record<string, number> = target ? { followUpOf: target.number } : {};
    const { ticket, created } = await openTicket(
      tx,
      {
        subject: ticketSubject(parsed.subject),
        body: clip(parsed.text.trim() || placeholder(files.length)),
        origin: 'email',
        externalId,
        messageExternalId: externalId,
        requesterId: player.playerId,
        tags: target ? ['follow-up'] : [],
        customFields: { email: { from: sender, ...followUp } },
      },
      actor,
    );
    // The same Message-ID delivered at once: the other delivery opened the ticket and committed
    // while this one waited, after the duplicate check above. A replay is a no-op, so nothing of
    // it (thread, attachments, log row) is written a second time.
    if (!created) return DUPLICATE;
    await createThread(tx, {
      ticketId: ticket.id,
      token: newToken(randomBytes),
      playerAddress: sender,
      inboundAddress: inbound,
      subject: ticketSubject(parsed.subject),
      noAutoReply: parsed.loop?.kind === 'no_auto_reply' ? parsed.loop.reason : null,
    });
    const first = files.length ? await firstMessageId(tx, ticket.id) : null;
    await attach(tx, files, first, actor, ticket.id);
    await recordEmail(tx, {
      ...log,
      status: 'new_ticket',
      ticketId: ticket.id,
      chatMessageId: first,
      firstMessageOfTicket: !first,
      reason: target ? 'follow_up_of_closed' : parsed.loop ? parsed.loop.reason : null,
    });
    return { status: 'new_ticket', ticketId: ticket.id, ticketNumber: ticket.number, reason: null };
  });
  if (result.status === 'duplicate')
    await discard(deps.storage, deps.logger, [rawKey, ...files.map((f) => f.key)]);
  return result;
}

/** An address we can file a player under and write back to. */
const usableAddress = (a: string) => a.length <= 320 && /^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/.test(a);

const placeholder = (files: number) =>
  files ? `(no text; ${files} attachment${files === 1 ? '' : 's'})` : '(no text)';

async function firstMessageId(tx: Tx, ticketId: string): Promise<string | null> {
  return (await conversation(tx, ticketId))[0]?.id ?? null;
}

async function inboundAddressOf(tx: Tx, recipients: string[]): Promise<string | null> {
  const mine = new Set((await listInboundAddresses(tx)).map((a) => a.address));
  return recipients.map((r) => splitAddress(r).base).find((b) => mine.has(b)) ?? null;
}

/**
 * A mail that could not be read becomes a ticket staff see in the inbox, with the error and
 * the raw mail attached, so nothing sent to support is lost. No reply goes out for it.
 */
async function unreadable(
  tx: Tx,
  parsed: ParsedEmail,
  log: Omit<EmailLogInput, 'status'>,
  envelope: Envelope,
): Promise<IntakeResult> {
  const from = parsed.from?.address ?? (envelope.mailFrom || null);
  const sender = from && usableAddress(from) ? from : null;
  const player = sender ? await emailPlayer(tx, sender, parsed.from?.name ?? null) : null;
  const actor: Actor = player ? { type: 'player', id: player.playerId } : SYSTEM;
  const { ticket, created } = await openTicket(
    tx,
    {
      subject: parsed.subject ? `Unreadable email: ${parsed.subject}`.slice(0, 200) : 'Unreadable email',
      body: clip(
        `This email could not be read (${parsed.parseError}). The original is attached as message.eml.` +
          `\nSender: ${from ? from.slice(0, 320) : 'unknown'}`,
      ),
      origin: 'email',
      externalId: emailExternalId(parsed.messageId),
      ...(player ? { requesterId: player.playerId } : {}),
      tags: ['email-unreadable'],
    },
    actor,
  );
  // The same mail delivered at once: the other delivery kept it; this one's raw copy goes.
  if (!created) return DUPLICATE;
  if (log.rawStorageKey) {
    await recordAttachment(
      tx,
      {
        ticketId: ticket.id,
        filename: 'message.eml',
        contentType: 'message/rfc822',
        sizeBytes: log.rawSize ?? 0,
        storageKey: log.rawStorageKey,
        origin: 'email',
      },
      SYSTEM,
    );
  }
  await recordEmail(tx, {
    ...log,
    parseError: parsed.parseError,
    status: 'unparseable',
    ticketId: ticket.id,
    reason: 'parse_error',
  });
  return {
    status: 'unparseable',
    ticketId: ticket.id,
    ticketNumber: ticket.number,
    reason: parsed.parseError,
  };
}
