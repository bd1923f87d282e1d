import { escapeHtml } from '../html.js';

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
}

/** The page's style, also allowed by its hash in the CSP of the pages that serve it. */
export const TRANSCRIPT_STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;color:#222;background:#fff}
@media (prefers-color-scheme:dark){body{color:#e8e8ec;background:#16161a}a{color:#8ab4f8}}
article{border-left:3px solid #ccc;padding:.25rem .75rem;margin:.75rem 0}article.user{border-color:#5865f2}
header span,time,.muted{color:#777;font-size:.85em}`;

const esc = escapeHtml;

/** A self-contained HTML page of the whole conversation (no scripts, no remote styles). */
export function renderTranscript(
  ticket: TranscriptTicket,
  lines: TranscriptLine[],
  closedReason: string | null,
  opts: TranscriptOptions = {},
): string {
  const rows = lines
    .map((l) => {
      const who = esc(l.authorName ?? (l.authorType === 'system' ? 'System' : l.authorType));
      const files = l.attachments
        .map((a) => {
          const url = a.stored ? (opts.fileUrl?.(a.id) ?? null) : null;
          const size = `<span class="muted">(${a.sizeBytes} bytes${a.stored ? '' : ', not kept'})</span>`;
          return url
            ? `<li><a href="${esc(url)}" rel="noopener noreferrer">${esc(a.filename)}</a> ${size}</li>`
            : `<li>${esc(a.filename)} ${size}</li>`;
        })
        .join('');
      return `<article class="${esc(l.authorType)}"><header><strong>${who}</strong> <span>${esc(l.authorType)} · ${esc(l.origin)}</span> <time datetime="${new Date(l.at).toISOString()}">${new Date(l.at).toISOString()}</time>${l.editedAt ? ' <em>(edited)</em>' : ''}</header><p>${esc(l.body).replace(/\n/g, '<br>')}</p>${files ? `<ul>${files}</ul>` : ''}</article>`;
    })
    .join('\n');
  const live = opts.liveUrl
    ? `<p class="muted">Attachments and the latest copy: <a href="${esc(opts.liveUrl)}">the web transcript</a> (staff sign-in).</p>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>Ticket #${ticket.number}: ${esc(ticket.subject)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>${TRANSCRIPT_STYLE}</style></head>
<body><h1>Ticket #${ticket.number}: ${esc(ticket.subject)}</h1>
<p>Requester: ${esc(ticket.requesterName ?? 'unknown')} · opened ${new Date(ticket.createdAt).toISOString()}${closedReason ? ` · closed: ${esc(closedReason)}` : ''}</p>
${live}${rows || '<p>No messages.</p>'}
</body></html>
`;
}
