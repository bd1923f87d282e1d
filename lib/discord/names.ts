/**
 * Names of ticket threads and channels on Discord: the opening name (category and player) and,
 * once staff rename the ticket, its number and subject. Shared by the bot (opening) and the
 * `discord.ticket_sync` job (renames).
 */

// Discord refuses names over 100 characters; control characters (newlines, tabs) never belong.
const CONTROL = /[\p{Cc}\u2028\u2029]+/gu;

const clean = (s: string) => s.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();

/** At most `max` UTF-16 units without cutting a character (an emoji's surrogate pair) in half. */
function cut(s: string, max: number): string {
  let out = '';
  for (const ch of s) {
    if (out.length + ch.length > max) break;
    out += ch;
  }
  return out;
}

/**
 * A ticket thread's or forum post's name: the category and the player's display name, in any
 * script (a Cyrillic, Chinese or emoji name stays what it is); only what Discord forbids goes.
 */
export function ticketThreadName(categoryName: string | null | undefined, playerName: string): string {
  const name = [clean(categoryName ?? '') || 'ticket', clean(playerName)].filter(Boolean).join(' · ');
  // A cut that falls in the separator leaves no dangling " ·".
  return cut(name, 100).replace(/[\s·]+$/u, '');
}

/**
 * A dedicated ticket channel's name: like Discord's own text channel names, lower case with
 * dashes for spaces and punctuation, letters and digits of any script kept.
 */
export function ticketChannelName(categoryName: string | null | undefined, playerName: string): string {
  const base = `${categoryName?.trim() || 'ticket'}-${playerName}`
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}_-]+/gu, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  return cut(base || 'ticket', 100).replace(/-$/, '');
}

/**
 * The name a ticket's thread or channel takes after a rename: `12-Crash on start` for a thread or
 * forum post, `12-crash-on-start` for a dedicated channel (Discord's own style for text channels).
 */
export function renamedTicketName(
  mode: 'thread' | 'forum' | 'channel',
  number: number,
  subject: string,
): string {
  if (mode === 'channel') return ticketChannelName(String(number), subject);
  return cut(`${number}-${clean(subject)}`, 100).trimEnd();
}
