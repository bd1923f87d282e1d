// @ts-check
import { html } from './html.js';
import { ago, label } from './labels.js';
import { PresenceDot } from './presence.js';
import { SlaBadge } from './sla.js';

/**
 * The ticket page's header: number and subject, status, priority, SLA, origin, age, assignee
 * (with their presence), tags; who else is viewing or typing; where a merged ticket went; and
 * the notice that a change was refused because someone else changed the ticket meanwhile.
 * @param {{ orgId: string, data: import('./ticket.js').TicketData,
 *   presence: ReturnType<typeof import('./presence.js').usePresence>,
 *   nameOf: (id: string | null) => string, viewers: { userId: string, state: string }[],
 *   mergedInto: { id: string, number?: number, moved: boolean } | null, changedElsewhere: boolean,
 *   onDismiss: () => void }} props
 */
export function TicketHead({
  orgId,
  data,
  presence,
  nameOf,
  viewers,
  mergedInto,
  changedElsewhere,
  onDismiss,
}) {
  const t = data.ticket;
  return html`<header class="ticket-head">
      <h1><span class="num">#${t.number}</span> ${t.subject}</h1>
      <p class="meta">
        <span class=${`badge status-${t.status}`}>${label(t.status)}</span>
        <span class=${`badge prio-${t.priority}`}>${label(t.priority)}</span>
        <${SlaBadge} sla=${data.sla} />
        <span>from ${label(t.origin)}</span>
        <span>opened <time datetime=${t.createdAt}>${ago(t.createdAt)}</time></span>
        <span>${
          t.assigneeId
            ? html`assigned to <${PresenceDot} state=${presence(t.assigneeId)} name=${nameOf(t.assigneeId)} /> ${nameOf(t.assigneeId)}`
            : 'unassigned'
        }</span>
        ${t.tags.map((tag) => html`<span class="tag">${tag}</span>`)}
      </p>
      ${
        viewers.length
          ? html`<p class="presence" role="status">
              ${viewers.map(
                (v) =>
                  html`<span class=${`viewer ${v.state}`}>${nameOf(v.userId)} ${v.state === 'typing' ? 'is typing…' : 'is viewing'}</span>`,
              )}
            </p>`
          : null
      }
      ${
        mergedInto
          ? html`<p class="merged-into" role="status">
              Merged into <a href=${`/o/${orgId}/t/${mergedInto.id}`}>${mergedInto.number ? `#${mergedInto.number}` : 'another ticket'}</a>:
              replies and changes go there.${mergedInto.moved ? ' Your unsent draft was moved there.' : ''}
            </p>`
          : null
      }
      ${
        changedElsewhere
          ? html`<p class="error changed-elsewhere" role="alert">
              Someone else changed this ticket while you had it open, so your change was not made.
              The ticket now shows their change: check it and make yours again if it still applies.
              <button type="button" onClick=${onDismiss}>Dismiss</button>
            </p>`
          : null
      }
    </header>`;
}
