import { escapeHtml } from '../html.js';
import { en } from '../i18n/en.js';
import type { Locale } from '../i18n/locales.js';
import { type MessageKey, t } from '../i18n/messages.js';

/**
 * A ticket's transcript: a self-contained HTML page of the whole conversation. Rendered by the
 * workers when a ticket closes (whatever closed it), kept here so anything else that shows a
 * transcript renders the same page.
 */

export interface TranscriptTicket {
  number: number;
  subject: string;
  requesterName: string | null;
  createdAt: Date;
}

export interface TranscriptLine {
  at: Date;
  authorType: string;
  authorName: string | null;
  origin: string;
  body: string;
  editedAt: Date | null;
  /** `stored`: a copy is kept in the storage layer (Discord's own links expire, so only those are linked). */
  attachments: { id: string; filename: string; sizeBytes: number; stored: boolean }[];
}

export interface TranscriptOptions {
  /** A link to a stored attachment's copy (signed, short-lived), or null to list it by name only. */
  fileUrl?: (attachmentId: string) => string | null;
  /** Where the live transcript is, for a copy whose file links would expire (the posted file). */
  liveUrl?: string | null;
  /** The page's language: the server's for the copy its staff read, else English. */
  locale?: Locale;
  /** The latest close: when, and who made it (null for the system, an auto-close). */
  closed?: { at: Date; by: string | null } | null;
}

/** The page's style, also allowed by its hash in the CSP of the pages that serve it. */
export const TRANSCRIPT_STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;color:#222;background:#fff}
@media (prefers-color-scheme:dark){body{color:#e8e8ec;background:#16161a}a{color:#8ab4f8}}
article{border-left:3px solid #ccc;padding:.25rem .75rem;margin:.75rem 0}article.user{border-color:#5865f2}
header span,time,.muted{color:#777;font-size:.85em}`;

const esc = escapeHtml;

/**
 * A moment as people of that language write it, in UTC (the page is read anywhere, and a file has
 * no reader's zone), with the zone named; the machine-readable instant stays in `datetime`.
 */
function when(at: Date, locale: Locale): string {
  const text = new Intl.DateTimeFormat(locale, {
    dateStyle: 'long',
    timeStyle: 'short',
    timeZone: 'UTC',
  }).format(new Date(at));
  return `${text} UTC`;
}

const time = (at: Date, locale: Locale) =>
  `<time datetime="${new Date(at).toISOString()}">${esc(when(at, locale))}</time>`;

/** Who wrote a line, as the reader's language names the kind (staff, player, system). */
function authorKind(type: string, locale: Locale): string {
  const key = `transcriptPage.author.${type}`;
  return key in en.messages ? t(locale, key as MessageKey) : type;
}

/** Where a line came from; Discord and the API are named as they are. */
function originName(origin: string, locale: Locale): string {
  if (origin === 'discord') return 'Discord';
  if (origin === 'api') return 'API';
  const key = `transcriptPage.origin.${origin}`;
  return key in en.messages ? t(locale, key as MessageKey) : origin;
}

/** A self-contained HTML page of the whole conversation (no scripts, no remote styles). */
export function renderTranscript(
  ticket: TranscriptTicket,
  lines: TranscriptLine[],
  closedReason: string | null,
  opts: TranscriptOptions = {},
): string {
  const locale = opts.locale ?? 'en-US';
  // Catalog text is escaped like any other: only the markup added here is markup.
  const say = (key: MessageKey, params: Record<string, string | number> = {}) => esc(t(locale, key, params));
  const rows = lines
    .map((l) => {
      const who = esc(
        l.authorName ?? (l.authorType === 'system' ? t(locale, 'transcriptPage.system') : l.authorType),
      );
      const files = l.attachments
        .map((a) => {
          const url = a.stored ? (opts.fileUrl?.(a.id) ?? null) : null;
          const size = `<span class="muted">${say(a.stored ? 'transcriptPage.size' : 'transcriptPage.sizeNotKept', { size: a.sizeBytes })}</span>`;
          return url
            ? `<li><a href="${esc(url)}" rel="noopener noreferrer">${esc(a.filename)}</a> ${size}</li>`
            : `<li>${esc(a.filename)} ${size}</li>`;
        })
        .join('');
      return `<article class="${esc(l.authorType)}"><header><strong>${who}</strong> <span>${esc(authorKind(l.authorType, locale))} · ${esc(originName(l.origin, locale))}</span> ${time(l.at, locale)}${l.editedAt ? ` <em>${say('transcriptPage.edited')}</em>` : ''}</header><p>${esc(l.body).replace(/\n/g, '<br>')}</p>${files ? `<ul>${files}</ul>` : ''}</article>`;
    })
    .join('\n');
  // The link's words are the catalog's; the {link} placeholder is left for the anchor itself.
  const live = opts.liveUrl
    ? `<p class="muted">${say('transcriptPage.live').replace('{link}', `<a href="${esc(opts.liveUrl)}">${say('transcriptPage.liveLink')}</a>`)}</p>`
    : '';
  const facts = [
    say('transcriptPage.requester', { name: ticket.requesterName ?? t(locale, 'transcriptPage.unknown') }),
    say('transcriptPage.opened', { when: when(ticket.createdAt, locale) }),
    ...(opts.closed
      ? [
          opts.closed.by
            ? say('transcriptPage.closedBy', { when: when(opts.closed.at, locale), name: opts.closed.by })
            : say('transcriptPage.closed', { when: when(opts.closed.at, locale) }),
        ]
      : []),
    ...(closedReason ? [say('transcriptPage.reason', { reason: closedReason })] : []),
  ];
  return `<!doctype html>
<html lang="${esc(locale)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>Ticket #${ticket.number}: ${esc(ticket.subject)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>${TRANSCRIPT_STYLE}</style></head>
<body><h1>Ticket #${ticket.number}: ${esc(ticket.subject)}</h1>
<p>${facts.join(' · ')}</p>
${live}${rows || `<p>${say('transcriptPage.empty')}</p>`}
</body></html>
`;
}
