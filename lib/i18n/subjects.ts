import { en } from './en.js';
import type { Locale } from './locales.js';
import { type MessageKey, t } from './messages.js';

/**
 * Subjects GameMod writes itself. A subject is stored data that staff read everywhere (the panel,
 * the API, the summary, mail), so it is written once, at creation, in the server's language,
 * and never re-translated. Every subject is cut to the 200 characters a ticket's subject holds.
 */

const SUBJECT_MAX = 200;

/** Staff opened a ticket on a member's behalf (the user context menu). */
export function ticketForSubject(locale: Locale, name: string): string {
  return t(locale, 'subject.ticketFor', { name }).slice(0, SUBJECT_MAX);
}

/** A member reported a Discord message (the message context menu). */
export function reportedMessageSubject(locale: Locale, authorName: string): string {
  return t(locale, 'subject.reportMessage', { name: authorName }).slice(0, SUBJECT_MAX);
}

/**
 * A report reason (db/player-reports.ts `REPORT_REASONS`) as words; a reason the catalogs do not
 * know yet is shown with its underscores as spaces, as it always was in English.
 */
export function reportReasonLabel(locale: Locale, reason: string): string {
  const key = `reportReason.${reason}`;
  return key in en.messages ? t(locale, key as MessageKey) : reason.replaceAll('_', ' ');
}

/**
 * The subject of the ticket a game report opens (db/report-fold.ts): with `en-US` it is exactly
 * what it has always been, `Report: <name> (<reason>)`.
 */
export function reportSubject(locale: Locale, reportedName: string, reasonLabel: string): string {
  return t(locale, 'subject.reportPlayer', { name: reportedName, reason: reasonLabel }).slice(0, SUBJECT_MAX);
}
