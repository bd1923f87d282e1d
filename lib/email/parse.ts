import { createHash } from 'node:crypto';
import { type AddressObject, simpleParser } from 'mailparser';

/**
 * One received mail, parsed: what the intake needs to thread it, decide whether it may be
 * answered, and store it. mailparser decodes transfer encodings and charsets (windows-1252,
 * ISO-8859-x, ...) and hands attachments over as buffers.
 */
export interface ParsedEmail {
  /** The Message-ID without angle brackets; a mail without one gets a digest of its bytes. */
  messageId: string;
  inReplyTo: string | null;
  references: string[];
  from: { address: string; name: string | null } | null;
  /** To, Cc, Delivered-To and X-Original-To, lowercase. */
  recipients: string[];
  subject: string;
  /** The whole text (the HTML part turned into text when there is no plain part). */
  text: string;
  headers: { key: string; line: string }[];
  attachments: EmailAttachment[];
  /** What the loop rules found (RFC 3834 and friends); null for mail written by a person. */
  loop: LoopVerdict | null;
  /** A delivery status notification: who could not be reached. */
  bounce: { recipients: string[]; status: string | null; originalMessageId: string | null } | null;
  /** Why the mail could not be read; it is still kept (raw) and shown to staff. */
  parseError: string | null;
}

export interface EmailAttachment {
  /** Never empty: see attachmentName. */
  filename: string;
  contentType: string;
  content: Buffer;
  contentId: string | null;
  disposition: 'inline' | 'attachment';
}

export type LoopVerdict =
  /** Written by a machine for a person (out-of-office, vacation, "we got your mail"): no ticket. */
  | { kind: 'auto_reply'; reason: string }
  /**
   * A bounce (DSN): no ticket; the failed address is marked undeliverable when the DSN names a
   * mail we sent to it (workers/email-intake.ts), as anyone can write one.
   */
  | { kind: 'bounce'; reason: string }
  /** A list or a sender that asks for no automatic answer: a ticket, but never an automatic mail back. */
  | { kind: 'no_auto_reply'; reason: string };

/**
 * A file name as db/attachments.ts records it: control characters and path separators dropped,
 * trimmed, at most 255 characters, and `attachment-<n>` when nothing is left. The name is the
 * sender's to choose ("/", "\u0001"); one the record would refuse used to roll back the whole
 * intake, and the mail was refused until it bounced.
 */
export function attachmentName(raw: string, n: number, contentType = ''): string {
  const kept = [...raw]
    .filter((c) => c > '\u001f' && c !== '\u007f' && c !== '/' && c !== '\\')
    .join('')
    .trim();
  // 255 UTF-16 units, as the record counts, without leaving half of a surrogate pair.
  const cut = kept
    .slice(0, 255)
    .replace(/[\uD800-\uDBFF]$/, '')
    .trim();
  return cut || `attachment-${n}${contentType === 'message/rfc822' ? '.eml' : ''}`;
}

/** Mail nested deeper or split into more parts than this is refused as unparseable (a parser bomb). */
export const MAX_MIME_PARTS = 500;

// PostgreSQL text can't hold NUL; a mail may carry it anywhere.
const clean = (s: string) => s.replaceAll(String.fromCharCode(0), '');
const bare = (id: string) =>
  id
    .trim()
    .replace(/^<+|>+$/g, '')
    .trim();

function addresses(obj: AddressObject | AddressObject[] | undefined): string[] {
  const list = Array.isArray(obj) ? obj : obj ? [obj] : [];
  return list.flatMap((o) => o.value.flatMap((v) => (v.address ? [v.address.toLowerCase()] : [])));
}

function headerValue(headers: ParsedEmail['headers'], key: string): string | null {
  const line = headers.find((h) => h.key === key)?.line;
  if (line === undefined) return null;
  return line.slice(line.indexOf(':') + 1).trim();
}

/**
 * Parses raw MIME. Never throws: a mail that can't be read comes back with `parseError` set and
 * whatever could be read, so the caller keeps it rather than dropping it.
 */
export async function parseEmail(raw: Buffer, envelopeFrom: string | null | undefined): Promise<ParsedEmail> {
  const digestId = `${createHash('sha256').update(raw).digest('hex')}@digest.invalid`;
  const partCount = raw.toString('latin1').match(/^--[^\r\n]{1,200}\r?$/gm)?.length ?? 0;
  const empty: ParsedEmail = {
    messageId: digestId,
    inReplyTo: null,
    references: [],
    from: null,
    recipients: [],
    subject: '',
    text: '',
    headers: [],
    attachments: [],
    loop: null,
    bounce: null,
    parseError: null,
  };
  if (partCount > MAX_MIME_PARTS) {
    return { ...empty, parseError: `more than ${MAX_MIME_PARTS} MIME parts` };
  }
  let m: Awaited<ReturnType<typeof simpleParser>>;
  try {
    // textAsHtml is never used: skipping it saves about 40 % of the parse.
    m = await simpleParser(raw, { skipImageLinks: true, skipTextLinks: true, skipTextToHtml: true });
  } catch (err) {
    return {
      ...empty,
      parseError: `the MIME structure could not be read: ${(err as Error).message}`.slice(0, 2000),
    };
  }
  const headers = m.headerLines.map((h) => ({ key: h.key.toLowerCase(), line: clean(h.line) }));
  const fromValue = Array.isArray(m.from) ? m.from[0]?.value[0] : m.from?.value[0];
  const from = fromValue?.address
    ? { address: fromValue.address.toLowerCase(), name: clean(fromValue.name ?? '').trim() || null }
    : null;
  const refs = m.references === undefined ? [] : Array.isArray(m.references) ? m.references : [m.references];
  const extra = ['delivered-to', 'x-original-to']
    .flatMap((k) => headers.filter((h) => h.key === k))
    .map((h) => bare(h.line.slice(h.line.indexOf(':') + 1)).toLowerCase());
  const attachments: EmailAttachment[] = m.attachments
    .filter((a) => a.contentType !== 'message/delivery-status')
    .map((a, i) => ({
      filename: attachmentName(a.filename ?? '', i + 1, a.contentType),
      contentType: a.contentType || 'application/octet-stream',
      content: a.content,
      contentId: (a.cid && bare(a.cid)) || null,
      disposition: a.contentDisposition === 'inline' || (a.related && a.cid) ? 'inline' : 'attachment',
    }));
  const text = clean(m.text ?? (typeof m.html === 'string' ? htmlToText(m.html) : ''));
  const parsed: ParsedEmail = {
    messageId: m.messageId ? bare(m.messageId) || digestId : digestId,
    inReplyTo: m.inReplyTo ? bare(m.inReplyTo) || null : null,
    references: refs
      .flatMap((r) => r.split(/\s+/))
      .map(bare)
      .filter(Boolean),
    from,
    recipients: [...new Set([...addresses(m.to), ...addresses(m.cc), ...extra])],
    subject: clean(m.subject ?? '').trim(),
    text,
    headers,
    attachments,
    loop: null,
    bounce: null,
    parseError: from || envelopeFrom ? null : 'the mail names no sender (no From header and no return path)',
  };
  parsed.bounce = readBounce(m.attachments, headers, text);
  parsed.loop = loopVerdict(parsed, envelopeFrom);
  return parsed;
}

// Only used when a mail has HTML and no text part (mailparser gives `text` for both otherwise).
function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>|<\/p>|<\/div>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .trim();
}

/**
 * A delivery status notification (RFC 3464): multipart/report with a message/delivery-status
 * part. Returns the recipients whose Action is `failed` (a `delayed` notice is not a bounce).
 */
function readBounce(
  parts: { contentType: string; content: Buffer }[],
  headers: ParsedEmail['headers'],
  text: string,
): ParsedEmail['bounce'] {
  const report = parts.find((a) => a.contentType === 'message/delivery-status');
  const contentType = headerValue(headers, 'content-type') ?? '';
  if (!report && !/report-type\s*=\s*"?delivery-status/i.test(contentType)) return null;
  // mailparser folds a message/delivery-status part into the text, so read whichever has it.
  const body = report?.content.toString('utf8') ?? text;
  const recipients: string[] = [];
  let status: string | null = null;
  // Per-recipient blocks are separated by blank lines; the first block is about the message.
  for (const block of body.split(/\r?\n\s*\r?\n/)) {
    const field = (name: string) =>
      block.match(new RegExp(`^${name}:\\s*(?:[^;\\r\\n]*;)?\\s*(.+)$`, 'im'))?.[1]?.trim() ?? null;
    const recipient = field('Final-Recipient') ?? field('Original-Recipient');
    const action = field('Action')?.toLowerCase();
    if (recipient && action === 'failed') {
      recipients.push(bare(recipient).toLowerCase());
      status ??= field('Status');
    }
  }
  // The returned message (or its headers) names the mail of ours that bounced.
  const original = parts.find(
    (a) => a.contentType === 'text/rfc822-headers' || a.contentType === 'message/rfc822',
  );
  const originalId = original?.content.toString('utf8').match(/^message-id:\s*(<[^>\r\n]+>)/im)?.[1];
  return {
    recipients: [...new Set(recipients)],
    status,
    originalMessageId: originalId ? bare(originalId) : null,
  };
}

/**
 * The loop rules: RFC 3834's Auto-Submitted, the de-facto Precedence, X-Autoreply,
 * X-Autorespond, X-Auto-Response-Suppress and List-Id headers, a null return path, DSNs.
 */
export function loopVerdict(p: ParsedEmail, envelopeFrom: string | null | undefined): LoopVerdict | null {
  const h = (k: string) => headerValue(p.headers, k);
  if (p.bounce) return { kind: 'bounce', reason: 'delivery status notification' };
  const returnPath = h('return-path');
  const nullPath = envelopeFrom === '' || (returnPath !== null && /^<\s*>$/.test(returnPath));
  if (nullPath && /^(mailer-daemon|postmaster)@/i.test(p.from?.address ?? '')) {
    return { kind: 'bounce', reason: 'null return path from the mailer daemon' };
  }
  const auto = h('auto-submitted')?.toLowerCase().split(';')[0]?.trim();
  if (auto && auto !== 'no') return { kind: 'auto_reply', reason: `Auto-Submitted: ${auto}` };
  if (h('x-autoreply') !== null || h('x-autorespond') !== null) {
    return { kind: 'auto_reply', reason: 'X-Autoreply' };
  }
  const precedence = h('precedence')?.toLowerCase();
  if (precedence === 'bulk' || precedence === 'junk' || precedence === 'auto_reply') {
    return { kind: 'auto_reply', reason: `Precedence: ${precedence}` };
  }
  if (nullPath) return { kind: 'auto_reply', reason: 'null return path' };
  if (precedence === 'list' || h('list-id') !== null) {
    return { kind: 'no_auto_reply', reason: precedence === 'list' ? 'Precedence: list' : 'List-Id' };
  }
  if (h('x-auto-response-suppress') !== null)
    return { kind: 'no_auto_reply', reason: 'X-Auto-Response-Suppress' };
  if (h('x-loop') !== null) return { kind: 'no_auto_reply', reason: 'X-Loop' };
  return null;
}
