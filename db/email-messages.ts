import type { Tx } from './tenant.js';

/**
 * The email log (`email_messages`: every mail in or out, with its Message-ID, envelope, headers,
 * raw copy and what became of it) and the email threads (`email_threads`: one reply token per
 * email ticket). Threading reads both: a reply names our Message-IDs or the ticket's token.
 */
export type EmailStatus =
  | 'new_ticket'
  | 'reply'
  | 'auto_reply'
  | 'bounce'
  | 'unparseable'
  | 'ignored'
  | 'queued'
  | 'sent'
  | 'failed'
  | 'suppressed';

export interface EmailLogEntry {
  id: string;
  direction: 'in' | 'out';
  messageId: string;
  ticketId: string | null;
  chatMessageId: string | null;
  status: EmailStatus;
  reason: string | null;
  inReplyTo: string | null;
  refs: string[];
  fromAddress: string | null;
  toAddresses: string[];
  subject: string | null;
  envelope: Record<string, unknown>;
  headers: { key: string; line: string }[];
  rawStorageKey: string | null;
  rawSize: number | null;
  parseError: string | null;
  attempts: number;
  lastError: string | null;
  sentAt: Date | null;
  createdAt: Date;
}

const COLUMNS = `id, direction, message_id as "messageId", ticket_id as "ticketId", chat_message_id as "chatMessageId",
  status, reason, in_reply_to as "inReplyTo", refs, from_address as "fromAddress", to_addresses as "toAddresses",
  subject, envelope, headers, raw_storage_key as "rawStorageKey", raw_size as "rawSize", parse_error as "parseError",
  attempts, last_error as "lastError", sent_at as "sentAt", created_at as "createdAt"`;

export interface EmailLogInput {
  direction: 'in' | 'out';
  messageId: string;
  ticketId?: string | null;
  chatMessageId?: string | null;
  status: EmailStatus;
  reason?: string | null;
  inReplyTo?: string | null;
  refs?: string[];
  fromAddress?: string | null;
  toAddresses?: string[];
  subject?: string | null;
  envelope?: Record<string, unknown>;
  headers?: { key: string; line: string }[];
  rawStorageKey?: string | null;
  rawSize?: number | null;
  parseError?: string | null;
  /** Link the ticket's first message (a new ticket's mail) without a round trip to find it. */
  firstMessageOfTicket?: boolean;
}

const cap = (s: string | null | undefined, n: number) => (s == null ? null : s.slice(0, n) || null);

/**
 * Records a mail. A row with the same direction and Message-ID already there wins (a retried
 * delivery or send): returns null then, and the caller treats the mail as done.
 */
export async function recordEmail(tx: Tx, e: EmailLogInput): Promise<EmailLogEntry | null> {
  const r = await tx.query<EmailLogEntry>(
    `insert into email_messages (org_id, direction, message_id, ticket_id, chat_message_id, status, reason, in_reply_to,
       refs, from_address, to_addresses, subject, envelope, headers, raw_storage_key, raw_size, parse_error)
     values ($1::uuid, $2::text, $3::text, $4::uuid,
       coalesce($5::uuid, (select m.id from messages m where $18::boolean and m.org_id = $1::uuid and m.ticket_id = $4::uuid
         order by m.created_at, m.id limit 1)), $6::text, $7::text, $8::text, $9::text[], $10::text,
       $11::text[], $12::text, $13::jsonb, $14::jsonb, $15::text, $16::int, $17::text)
     on conflict (org_id, direction, message_id) do nothing
     returning ${COLUMNS}`,
    [
      tx.orgId,
      e.direction,
      e.messageId.slice(0, 998),
      e.ticketId ?? null,
      e.chatMessageId ?? null,
      e.status,
      cap(e.reason, 200),
      cap(e.inReplyTo, 998),
      (e.refs ?? []).map((x) => x.slice(0, 998)).slice(-50),
      cap(e.fromAddress, 320),
      (e.toAddresses ?? []).slice(0, 50),
      cap(e.subject, 998),
      JSON.stringify(e.envelope ?? {}),
      JSON.stringify(e.headers ?? []),
      e.rawStorageKey ?? null,
      e.rawSize ?? null,
      cap(e.parseError, 2000),
      e.firstMessageOfTicket ?? false,
    ],
  );
  return r.rows[0] ?? null;
}

export async function findEmail(
  tx: Tx,
  direction: 'in' | 'out',
  messageId: string,
): Promise<EmailLogEntry | null> {
  const r = await tx.query<EmailLogEntry>(
    `select ${COLUMNS} from email_messages where org_id = $1::uuid and direction = $2::text and message_id = $3::text`,
    [tx.orgId, direction, messageId.slice(0, 998)],
  );
  return r.rows[0] ?? null;
}

/** The org's mail log, newest first: what staff look at to see mail that made no ticket. */
export async function listEmails(
  tx: Tx,
  opts: { ticketId?: string | undefined; status?: EmailStatus | undefined; limit: number },
): Promise<EmailLogEntry[]> {
  const r = await tx.query<EmailLogEntry>(
    `select ${COLUMNS} from email_messages
      where org_id = $1::uuid and ($2::uuid is null or ticket_id = $2::uuid) and ($3::text is null or status = $3::text)
      order by created_at desc, id limit $4::int`,
    [tx.orgId, opts.ticketId ?? null, opts.status ?? null, opts.limit],
  );
  return r.rows;
}

// ---------------------------------------------------------------------------------------------
// Threads

export interface EmailThread {
  ticketId: string;
  token: string;
  playerAddress: string;
  inboundAddress: string | null;
  subject: string;
  /** Why the opening mail asked for no automatic reply (RFC 3834), or null. */
  noAutoReply?: string | null;
}

const THREAD_COLUMNS = `ticket_id as "ticketId", token, player_address as "playerAddress",
  inbound_address as "inboundAddress", subject, no_auto_reply as "noAutoReply"`;

export async function createThread(tx: Tx, t: EmailThread): Promise<EmailThread> {
  const r = await tx.query<EmailThread>(
    `insert into email_threads (org_id, ticket_id, token, player_address, inbound_address, subject, no_auto_reply)
     values ($1::uuid, $2::uuid, $3::text, $4::text, $5::text, $6::text, $7::text)
     on conflict (org_id, ticket_id) do update set player_address = email_threads.player_address
     returning ${THREAD_COLUMNS}`,
    [
      tx.orgId,
      t.ticketId,
      t.token,
      t.playerAddress,
      t.inboundAddress,
      t.subject.slice(0, 998) || '(no subject)',
      t.noAutoReply?.slice(0, 200) ?? null,
    ],
  );
  return r.rows[0] as EmailThread;
}

/**
 * Whether the ticket has an email thread (it came by email, or an email ticket merged into it
 * brought its own): what a message event says, so the relay queues an email reply only then.
 */
export async function hasEmailThread(tx: Tx, ticketId: string): Promise<boolean> {
  const r = await tx.query<{ found: boolean }>(
    `select exists (select 1 from email_threads where org_id = $1::uuid and ticket_id = $2::uuid) as found`,
    [tx.orgId, ticketId],
  );
  return r.rows[0]?.found ?? false;
}

/**
 * Whether the mail that opened this ticket's thread asked for no automatic reply (a list, an
 * auto-responder): there, later mail carrying the same marks is how the thread talks. A merged
 * ticket's thread may have moved to the ticket it was merged into.
 */
export async function threadAsksNoAutoReply(tx: Tx, ticketId: string): Promise<boolean> {
  const r = await tx.query<{ asks: boolean }>(
    `select exists (
       select 1 from tickets t join email_threads th on th.org_id = t.org_id and th.ticket_id in (t.id, t.merged_into_id)
        where t.org_id = $1::uuid and t.id = $2::uuid and th.no_auto_reply is not null) as asks`,
    [tx.orgId, ticketId],
  );
  return r.rows[0]?.asks ?? false;
}

/**
 * Whether sender $6 (lower case, or null for no check) is the email player of the ticket in
 * `ticket`. A merged ticket's thread may have moved to the ticket it was merged into.
 */
const senderOwns = (ticket: string, sender = '$6::text') => `(${sender} is null or exists (
    select 1 from tickets tt join email_threads th on th.org_id = tt.org_id
                                  and th.ticket_id in (tt.id, tt.merged_into_id)
     where tt.org_id = $1::uuid and tt.id = ${ticket}
       and (lower(th.player_address) = ${sender} or exists (
         select 1 from player_email_addresses pe
          where pe.org_id = $1::uuid and pe.player_id = tt.requester_id and pe.address = ${sender}))))`;

/**
 * Whether `sender` is the ticket's email player (its thread's address, or one linked to its
 * requester). The plus-token and `[ref:...]` marker find a ticket for anyone holding them (a
 * forwarded reply, a colleague in Cc): only its own player speaks for the player.
 */
export async function senderOwnsThread(tx: Tx, ticketId: string, sender: string): Promise<boolean> {
  const r = await tx.query<{ owns: boolean }>(`select ${senderOwns('$2::uuid', '$3::text')} as owns`, [
    tx.orgId,
    ticketId,
    sender.toLowerCase(),
  ]);
  return r.rows[0]?.owns === true;
}

/**
 * The ticket a mail belongs to, by the order: the plus-token of the address it was sent
 * to, then its In-Reply-To and References against Message-IDs we sent or received (the most
 * recent reference first), then the subject tag (the ticket number), then the `[ref:...]` marker
 * in its text. One round trip; `how` says which rule matched.
 *
 * Ticket numbers and Message-IDs are not secrets (numbers count up; Message-IDs travel in every
 * copy of a thread), so those two rules match only a ticket with an email thread whose player
 * address, or an address linked to the ticket's requester, is `sender`: anyone else would
 * otherwise write into any ticket of the organization. The tokens are secrets and match alone.
 * `sender` null skips that check, for machine mail that is only logged against the ticket.
 */
export async function findThreadTicket(
  tx: Tx,
  hints: {
    token: string | null;
    messageIds: string[];
    ticketNumber: number | null;
    refToken: string | null;
    sender: string | null;
  },
): Promise<{ ticketId: string; how: 'plus_token' | 'in_reply_to' | 'subject_tag' | 'ref_marker' } | null> {
  const r = await tx.query<{
    ticketId: string;
    how: 'plus_token' | 'in_reply_to' | 'subject_tag' | 'ref_marker';
  }>(
    `select "ticketId", how from (
       select ticket_id as "ticketId", 'plus_token' as how, 1 as rank, 0 as pos
         from email_threads where org_id = $1::uuid and token = $2::text
       union all
       select m.ticket_id, 'in_reply_to', 2, ids.pos
         from unnest($3::text[]) with ordinality as ids(mid, pos)
         join email_messages m on m.org_id = $1::uuid and m.message_id = ids.mid and m.ticket_id is not null
        where ${senderOwns('m.ticket_id')}
       union all
       select t.id, 'subject_tag', 3, 0 from tickets t
        where t.org_id = $1::uuid and t.number = $4::int and ${senderOwns('t.id')}
       union all
       select ticket_id, 'ref_marker', 4, 0 from email_threads where org_id = $1::uuid and token = $5::text
     ) found order by rank, pos limit 1`,
    [
      tx.orgId,
      hints.token,
      hints.messageIds.slice(0, 50),
      hints.ticketNumber,
      hints.refToken,
      hints.sender?.toLowerCase() ?? null,
    ],
  );
  return r.rows[0] ?? null;
}

// ---------------------------------------------------------------------------------------------
// Outbound

/** Marks an outgoing mail sent (or failed, with the error); counts the attempt. */
export async function markSent(
  tx: Tx,
  id: string,
  result: { error?: string; suppressed?: string },
): Promise<void> {
  await tx.query(
    `update email_messages set attempts = attempts + 1,
       status = case when $3::text is not null then 'suppressed' when $4::text is null then 'sent' else 'failed' end,
       reason = coalesce($3::text, reason), sent_at = case when $3::text is null and $4::text is null then now() end,
       last_error = $4::text
     where org_id = $1::uuid and id = $2::uuid`,
    [tx.orgId, id, result.suppressed ?? null, result.error?.slice(0, 2000) ?? null],
  );
}

/** The Message-IDs of a ticket's mail, oldest first: the References of the next outgoing one. */
export async function ticketMessageIds(
  tx: Tx,
  ticketId: string,
): Promise<{ messageId: string; direction: string }[]> {
  const r = await tx.query<{ messageId: string; direction: string }>(
    `select message_id as "messageId", direction from email_messages
      where org_id = $1::uuid and ticket_id = $2::uuid and status in ('new_ticket', 'reply', 'sent', 'queued', 'failed')
      order by created_at, id`,
    [tx.orgId, ticketId],
  );
  return r.rows;
}

/** What an outgoing reply needs, read in one round trip; null when the message has no email thread. */
export interface OutboundMail {
  chatMessageId: string;
  ticketId: string;
  ticketNumber: number;
  body: string;
  authorType: string;
  authorName: string | null;
  token: string;
  playerAddress: string;
  threadSubject: string;
  /** The thread's opening mail asked for no automatic reply (RFC 3834): why, or null. */
  noAutoReply: string | null;
  senderAddress: string | null;
  senderName: string | null;
  orgName: string;
  undeliverable: boolean;
  /** The outgoing row of an earlier attempt, if any. */
  outId: string | null;
  outStatus: EmailStatus | null;
}

export async function outboundMail(tx: Tx, chatMessageId: string): Promise<OutboundMail | null> {
  const r = await tx.query<OutboundMail>(
    `select m.id as "chatMessageId", t.id as "ticketId", t.number as "ticketNumber", m.body,
       m.author_type as "authorType", u.display_name as "authorName", th.token, th.player_address as "playerAddress",
       th.subject as "threadSubject", th.no_auto_reply as "noAutoReply", s.address as "senderAddress", s.sender_name as "senderName", o.name as "orgName",
       coalesce(pe.undeliverable_at is not null, false) as undeliverable, em.id as "outId", em.status as "outStatus"
     from messages m
     join tickets t on t.org_id = m.org_id and t.id = m.ticket_id
     join email_threads th on th.org_id = m.org_id and th.ticket_id = t.id
     join organizations o on o.id = m.org_id
     left join users u on u.id = m.author_user_id
     left join player_email_addresses pe on pe.org_id = m.org_id and pe.address = lower(th.player_address)
     left join email_messages em on em.org_id = m.org_id and em.direction = 'out' and em.chat_message_id = m.id
     left join lateral (
       select a.address, a.sender_name from email_inbound_addresses a where a.org_id = m.org_id
        order by a.address = th.inbound_address desc, a.is_default desc, a.created_at limit 1
     ) s on true
     where m.org_id = $1::uuid and m.id = $2::uuid and m.deleted_at is null`,
    [tx.orgId, chatMessageId],
  );
  return r.rows[0] ?? null;
}
