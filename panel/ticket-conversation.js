// @ts-check
import { html } from './html.js';
import { ago, label } from './labels.js';
import { SentimentBadge } from './sentiment.js';

/**
 * The conversation, oldest first: public messages and internal notes interleaved by time, and
 * clearly apart (a note is labelled and says the player does not see it).
 * @param {{ messages: import('./ticket.js').Message[], notes: import('./ticket.js').Note[],
 *   nameOf: (id: string | null) => string }} props
 */
export function Timeline({ messages, notes, nameOf }) {
  const timeline = [
    ...messages.map((m) => ({ kind: /** @type {const} */ ('message'), at: m.createdAt, m })),
    ...notes.map((n) => ({ kind: /** @type {const} */ ('note'), at: n.createdAt, n })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  return html`${timeline.length === 0 ? html`<p class="muted">No messages yet.</p>` : null}
        <ol class="timeline">
          ${timeline.map((item) =>
            item.kind === 'message'
              ? html`<li key=${item.m.id} class=${`msg ${item.m.authorType === 'player' ? 'from-player' : 'from-staff'}`}>
                  <p class="who">
                    ${
                      // Someone staff added or a forum bystander has a player profile too: not the player.
                      item.m.authorKind === 'participant'
                        ? html`<span class="participant-label" title="Not the ticket's player">Participant</span>`
                        : item.m.authorType === 'player'
                          ? 'Player'
                          : item.m.authorUserId
                            ? nameOf(item.m.authorUserId)
                            : label(item.m.authorType)
                    }
                    <span class="muted"> · public · via ${label(item.m.origin)} · <time datetime=${item.m.createdAt}>${ago(item.m.createdAt)}</time></span>
                    ${' '}<${SentimentBadge} sentiment=${item.m.sentiment} />
                  </p>
                  <div class="body">${item.m.body}</div>
                </li>`
              : html`<li key=${item.n.id} class="note">
                  <p class="who">
                    <span class="note-label">Internal note</span> ${nameOf(item.n.authorUserId)}
                    <span class="muted"> · not shown to the player · <time datetime=${item.n.createdAt}>${ago(item.n.createdAt)}</time></span>
                  </p>
                  <div class="body">${item.n.body}</div>
                </li>`,
          )}
        </ol>`;
}
