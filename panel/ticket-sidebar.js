// @ts-check
import { html } from './html.js';
import { ago, label, PRIORITIES, STATUSES } from './labels.js';
import { PresenceDot, presenceWord, usePresence } from './presence.js';
import { SentimentBadge } from './sentiment.js';
import { ErrorFor, MergeControl, TagsControl, TransferControl } from './ticket-actions.js';
import { PlayerCard } from './ticket-player.js';

/**
 * The ticket page's side column: claim, assignee, team, status, priority, close or reopen, the
 * transcript link, tags, merge, the player's card and the ticket's history. Each action goes
 * through the page's `act`, which shows its error next to it.
 * @param {{ orgId: string, base: string, data: import('./ticket.js').TicketData, me: { id: string },
 *   members: import('./ticket.js').Member[] | null,
 *   act: import('./ticket-actions.js').Act, edit: import('./ticket-actions.js').Edit, busy: string,
 *   errors: Record<string, string>, nameOf: (id: string | null) => string, may: (perm: string) => boolean }} props
 */
export function TicketSidebar({ orgId, base, data, me, members, act, edit, busy, errors, nameOf, may }) {
  const t = data.ticket;
  const closed = t.status === 'solved' || t.status === 'closed';
  // A merged ticket takes no change (the API refuses each: "merged into another ticket"), and a
  // role is offered only what the API's routes let it do, rather than a 403 after the click.
  const can = (/** @type {string} */ perm) => !t.mergedIntoId && may(perm);
  const presence = usePresence(orgId);
  return html`<aside class="actions" aria-labelledby="actions-title">
    <h2 id="actions-title">Actions</h2>
    ${
      t.playerSentiment
        ? html`<p class="action player-mood">
            Player's latest sentiment <${SentimentBadge} sentiment=${t.playerSentiment} what="Player's latest sentiment" named />
          </p>`
        : null
    }
    ${
      can('tickets.assign')
        ? html`    <div class="action">
      <button type="button" disabled=${busy === 'claim' || t.assigneeId === me.id} onClick=${() => act('claim', () => edit(`${base}/claim`))}>
        ${t.assigneeId === me.id ? 'Assigned to you' : 'Claim'}
      </button>
      <${ErrorFor} id="claim" errors=${errors} />
    </div>
    ${
      members
        ? html`<div class="action">
            <label for="assign-select">Assignee <kbd>a</kbd>${
              t.assigneeId
                ? html` <${PresenceDot} state=${presence(t.assigneeId)} name=${nameOf(t.assigneeId)} />`
                : null
            }</label>
            <select
              id="assign-select"
              value=${t.assigneeId ?? ''}
              disabled=${busy === 'assign'}
              onChange=${(/** @type {any} */ e) =>
                act('assign', () => edit(`${base}/assign`, { assigneeId: e.currentTarget.value || null }))}
            >
              <option value="">Unassigned</option>
              ${members.map((m) => html`<option value=${m.userId}>${m.displayName}${presenceWord(presence(m.userId))}</option>`)}
            </select>
            <${ErrorFor} id="assign" errors=${errors} />
          </div>`
        : null
    }
    <${TransferControl} orgId=${orgId} base=${base} ticket=${t} act=${act} edit=${edit} busy=${busy} errors=${errors} />`
        : null
    }
    ${
      can('tickets.update')
        ? html`    <div class="action">
      <label for="status-select">Status</label>
      <select
        id="status-select"
        value=${t.status}
        disabled=${busy === 'status'}
        onChange=${(/** @type {any} */ e) => act('status', () => edit(`${base}/status`, { status: e.currentTarget.value }))}
      >
        ${STATUSES.map((s) => html`<option value=${s}>${label(s)}</option>`)}
      </select>
      <${ErrorFor} id="status" errors=${errors} />
    </div>
    <div class="action">
      <label for="priority-select">Priority</label>
      <select
        id="priority-select"
        value=${t.priority}
        disabled=${busy === 'priority'}
        onChange=${(/** @type {any} */ e) => act('priority', () => edit(`${base}/priority`, { priority: e.currentTarget.value }))}
      >
        ${PRIORITIES.map((p) => html`<option value=${p}>${label(p)}</option>`)}
      </select>
      <${ErrorFor} id="priority" errors=${errors} />
    </div>`
        : null
    }
    ${
      can('tickets.close')
        ? html`    <div class="action">
      ${
        closed
          ? html`<button type="button" disabled=${busy === 'reopen'} onClick=${() => act('reopen', () => edit(`${base}/reopen`))}>Reopen</button>
              <${ErrorFor} id="reopen" errors=${errors} />`
          : html`<button type="button" class="danger" disabled=${busy === 'close'} onClick=${() => act('close', () => edit(`${base}/close`))}>Close ticket <kbd>e</kbd></button>
              <${ErrorFor} id="close" errors=${errors} />`
      }
    </div>`
        : null
    }
    ${t.closeReason ? html`<p class="muted">Closed because: ${t.closeReason}</p>` : null}
    <p class="action">
      <a href=${`${base}/transcript`} target="_blank" rel="noopener">Transcript</a>
      <span class="muted"> (the conversation as one page, to print or keep)</span>
    </p>
    ${can('tickets.update') ? html`<${TagsControl} orgId=${orgId} base=${base} ticket=${t} act=${act} edit=${edit} busy=${busy} errors=${errors} />` : null}
    ${can('tickets.merge') ? html`<${MergeControl} orgId=${orgId} base=${base} ticket=${t} act=${act} edit=${edit} busy=${busy} errors=${errors} />` : null}
    ${!t.mergedIntoId && !['tickets.assign', 'tickets.update', 'tickets.close'].some(may) ? html`<p class="muted">Your role can read this ticket but not change it.</p>` : null}
    <${PlayerCard} orgId=${orgId} playerId=${t.requesterId} ticketId=${t.id} mayUnlink=${may('players.manage')} />

    <details class="history">
      <summary>History (${data.events.length})</summary>
      <ol>
        ${data.events.map(
          (ev) => html`<li key=${ev.id}>
            <span>${ev.type.replaceAll('_', ' ').replaceAll('.', ': ')}</span>
            <span class="muted"> by ${ev.actorType === 'user' ? nameOf(ev.actorId) : ev.actorType} · <time datetime=${ev.createdAt}>${ago(ev.createdAt)}</time></span>
          </li>`,
        )}
      </ol>
    </details>
  </aside>`;
}
