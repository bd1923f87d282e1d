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
  attachments: { filename: string; url: string | null; sizeBytes: number }[];
}

const esc = escapeHtml;

/** A self-contained HTML page of the whole conversation (no scripts, no remote styles). */
export function renderTranscript(
  ticket: TranscriptTicket,
  lines: TranscriptLine[],
  closedReason: string | null,
): string {
  const rows = lines
    .map((l) => {
      const who = esc(l.authorName ?? (l.authorType === 'system' ? 'System' : l.authorType));
      const files = l.attachments
        .map((a) =>
          a.url
            ? `<li><a href="${esc(a.url)}" rel="noopener noreferrer">${esc(a.filename)}</a> (${a.sizeBytes} bytes)</li>`
            : `<li>${esc(a.filename)}</li>`,
        )
        .join('');
      return `<article class="${esc(l.authorType)}"><header><strong>${who}</strong> <span>${esc(l.authorType)} · ${esc(l.origin)}</span> <time datetime="${new Date(l.at).toISOString()}">${new Date(l.at).toISOString()}</time>${l.editedAt ? ' <em>(edited)</em>' : ''}</header><p>${esc(l.body).replace(/\n/g, '<br>')}</p>${files ? `<ul>${files}</ul>` : ''}</article>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ticket #${ticket.number}: ${esc(ticket.subject)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;color:#222}
article{border-left:3px solid #ccc;padding:.25rem .75rem;margin:.75rem 0}article.user{border-color:#5865f2}
header span,time{color:#777;font-size:.85em}</style></head>
<body><h1>Ticket #${ticket.number}: ${esc(ticket.subject)}</h1>
<p>Requester: ${esc(ticket.requesterName ?? 'unknown')} · opened ${new Date(ticket.createdAt).toISOString()}${closedReason ? ` · closed: ${esc(closedReason)}` : ''}</p>
${rows || '<p>No messages.</p>'}
</body></html>
`;
}
