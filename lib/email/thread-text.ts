/**
 * The text side of email threading: what we put in outgoing mail (the subject tag, the
 * `[ref:<token>]` marker, the plus-address) and how we find it again in what comes back, and
 * the stripping of quoted history and signatures from a reply (the original stays in storage).
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

// "On Tue, 3 Mar 2026 at 10:02, Ana <a@b.c> wrote:" (Gmail), "On 3 Mar 2026, at 10:02, Ana
// <a@b.c> wrote:" (Apple Mail), and the same in the languages players write most.
const OPENERS = /^(on|le|am|el|il|op|em|den|dnia)\b/i;
const ATTRIBUTION =
  /^(on|le|am|el|il|op|em|den|dnia)\b.{0,400}(wrote|a écrit|schrieb|escribió|ha scritto|schreef|escreveu|skrev|napisał)\s*:\s*$/i;
// German, Dutch and Swedish put the verb before the name: "Am Mo., 7. Dez. 2026 um 10:00 Uhr
// schrieb Ana <a@b.c>:" (Gmail), "Am 07.12.26 um 10:00 schrieb Ana:" (Thunderbird). The time
// keeps a sentence of the player's own ("Am Montag schrieb mir ein Freund:") from counting.
const VERB_FIRST_ATTRIBUTION =
  /^(am|op|den)\b.{0,200}\d{1,2}[:.]\d{2}\b.{0,200}\b(schrieb|schreef|skrev)\s.{0,300}:\s*$/i;
const OUTLOOK_SEPARATOR =
  /^(-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original|mensagem original)\s*-{2,}|_{20,})\s*$/i;
// A rule line: Outlook's "_____" in text, or its HTML <hr> as the parser renders it ("-----").
const RULE = /^(-{5,}|_{5,})$/;
const OUTLOOK_HEADER = /^\*?(from|von|de|van)\s*:\*?\s/i;
const OUTLOOK_NEXT =
  /^\*?(sent|date|gesendet|envoyé|enviado|data|fecha|to|an|à|para|subject|betreff|objet|asunto|assunto)\s*:/i;
const SIGNATURE = [
  /^--\s?$/,
  /^sent from my (iphone|ipad|android|samsung|galaxy|pixel|mobile)/i,
  /^get outlook for (ios|android)/i,
  /^sent from (mail|outlook) for windows/i,
  /^sent (with|from) (proton mail|protonmail|yahoo mail)/i,
];

/**
 * The new text of a reply: everything before the quoted history (a Gmail, Apple Mail or
 * Thunderbird attribution line, an Outlook "Original Message" block or header block with the rule
 * above it, or a trailing run of `>` lines) and before a signature. When nothing would be left,
 * the whole text is kept.
 */
export function stripQuoted(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let cut = lines.length;
  for (let i = 0; i < lines.length && cut === lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    const joined = `${line} ${(lines[i + 1] ?? '').trim()}`.trim();
    if (ATTRIBUTION.test(line) || VERB_FIRST_ATTRIBUTION.test(line)) cut = i;
    // Gmail wraps long attributions over two lines.
    else if (OPENERS.test(line) && (ATTRIBUTION.test(joined) || VERB_FIRST_ATTRIBUTION.test(joined))) cut = i;
    else if (OUTLOOK_SEPARATOR.test(line)) cut = i;
    else if (
      OUTLOOK_HEADER.test(line) &&
      lines.slice(i + 1, i + 4).some((l) => OUTLOOK_NEXT.test(l.trim()))
    ) {
      // The rule Outlook draws above the header block belongs to the quote too.
      let top = i;
      while (top > 0 && ((lines[top - 1] ?? '').trim() === '' || RULE.test((lines[top - 1] ?? '').trim())))
        top--;
      cut = top;
    } else if (
      line.startsWith('>') &&
      lines.slice(i).every((l) => l.trim() === '' || l.trim().startsWith('>'))
    ) {
      cut = i;
    }
  }
  let kept = lines.slice(0, cut);
  const sig = kept.findIndex((l, i) => i > 0 && SIGNATURE.some((re) => re.test(l.trim())));
  if (sig > 0) kept = kept.slice(0, sig);
  const out = kept.join('\n').trim();
  return out || text.trim();
}
