/**
 * The text side of email threading: what we put in outgoing mail (the subject tag, the
 * `[ref:<token>]` marker, the plus-address) and how we find it again in what comes back. The
 * stripping of quoted history and signatures from a reply is quoted.ts's.
 */

/** A reply token: opaque, lowercase (mail systems may fold the local part's case). */
export const TOKEN = /^[a-z0-9]{16,32}$/;
const TOKEN_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function newToken(random: (n: number) => Buffer): string {
  // 20 characters of 36: about 103 bits, drawn without modulo bias from bytes below 252.
  let out = '';
  while (out.length < 20) {
    for (const b of random(32)) {
      if (b < 252 && out.length < 20) out += TOKEN_CHARS[b % 36];
    }
  }
  return out;
}

/** `support+tok@studio.example` → base `support@studio.example`, token `tok`. */
export function splitAddress(address: string): { base: string; token: string | null } {
  const a = address.trim().toLowerCase();
  const at = a.lastIndexOf('@');
  if (at < 1) return { base: a, token: null };
  const local = a.slice(0, at);
  const plus = local.indexOf('+');
  if (plus < 0) return { base: a, token: null };
  const token = local.slice(plus + 1);
  return { base: `${local.slice(0, plus)}${a.slice(at)}`, token: TOKEN.test(token) ? token : null };
}

export function replyAddress(inbound: string, token: string): string {
  const at = inbound.lastIndexOf('@');
  return `${inbound.slice(0, at)}+${token}${inbound.slice(at)}`;
}

/**
 * The Message-ID of a staff notification mail. A member's reply to one carries it in In-Reply-To
 * or References, which is how the intake tells it from a player's mail (it opens no ticket).
 */
export const notificationMessageId = (notificationId: string, domain: string) =>
  `gm-notify-${notificationId}@${domain}`;
const NOTIFICATION_ID = /^gm-notify-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@/i;
/** The notification id a Message-ID of ours names, else null. */
export function notificationIdIn(messageId: string): string | null {
  return NOTIFICATION_ID.exec(messageId)?.[1]?.toLowerCase() ?? null;
}

/** The subject tag we add (`[#123]`); `[#GM-123]`-style tags from other tools are read too. */
export const subjectTag = (ticketNumber: number) => `[#${ticketNumber}]`;
export function tagInSubject(subject: string): number | null {
  const m = subject.match(/\[#(?:[a-z]{1,8}-)?(\d{1,9})\]/i);
  return m?.[1] ? Number(m[1]) : null;
}

export const refMarker = (token: string) => `[ref:${token}]`;
/** The marker in a reply's text, quoted or not (some providers rewrite Message-IDs). */
export function refInText(text: string): string | null {
  return text.match(/\[ref:([a-z0-9]{16,32})\]/i)?.[1]?.toLowerCase() ?? null;
}

/** The subject a new ticket gets: reply and forward prefixes and our tag taken off. */
export function ticketSubject(subject: string): string {
  let s = subject.replace(/\[#(?:[a-z]{1,8}-)?\d{1,9}\]/gi, '').trim();
  for (;;) {
    const next = s.replace(/^(re|fw|fwd|aw|sv|vs|tr|wg)\s*(\[\d+\])?\s*:\s*/i, '').trim();
    if (next === s) break;
    s = next;
  }
  return s.slice(0, 200) || '(no subject)';
}

// The stripping of quoted history lives with its patterns, one per client and language.
export { stripQuoted } from './quoted.js';
