// @ts-check
import { useEffect, useRef, useState } from 'preact/hooks';
import { cachedList, describeError } from './api.js';
import { channelTitle, groupsOf, loadChannels, threadOfWords } from './conversations-list.js';
import { Conversation } from './conversations-messages.js';
import { html } from './html.js';
import { ago } from './labels.js';
import { live } from './live.js';

/** @typedef {import('./conversations-list.js').Channel} Channel */

/** Events that can change a conversation or the list (a message, a mirror added or removed, a room). */
const RELEVANT = /^(message|discord_mirror|channel)\./;
/** The least time between two live refetches, so a busy channel costs a request a second at most. */
const LIVE_GAP_MS = 1000;

/**
 * Calls `fn` after messages, mirrors or channels change in the org (the org's live topic, and
 * after a resync), at most once every second: the events name too little to patch the page.
 * @param {string} orgId
 * @param {() => void} fn
 */
function useLiveChanges(orgId, fn) {
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => {
    const stop = live.subscribe(orgId);
    /** @type {ReturnType<typeof setTimeout> | null} */
    let timer = null;
    let last = 0;
    const run = () => {
      timer = null;
      last = Date.now();
      latest.current();
    };
    const off = live.listen((m) => {
      if (timer || !(m.kind === 'resync' || (m.kind === 'event' && RELEVANT.test(m.type)))) return;
      if (m.topic === `org:${orgId}`) timer = setTimeout(run, Math.max(0, last + LIVE_GAP_MS - Date.now()));
    });
    return () => {
      off();
      stop();
      if (timer) clearTimeout(timer);
    };
  }, [orgId]);
}

/**
 * Whether the member's role holds `tickets.create` (the roles list, kept 30 s), so "Create ticket"
 * is not offered where it can only be refused. A role that can't read the list gets the button,
 * and the API's answer under it.
 * @param {{ id: string, role: string }} org
 */
function useCanCreateTickets(org) {
  const [allowed, setAllowed] = useState(true);
  useEffect(() => {
    cachedList(`/v1/orgs/${org.id}/roles`).then(
      (r) => {
        const mine = /** @type {{ key: string, permissions: string[] }[]} */ (r.roles).find(
          (x) => x.key === org.role,
        );
        setAllowed(!mine || mine.permissions.includes('tickets.create'));
      },
      () => setAllowed(true),
    );
  }, [org.id, org.role]);
  return allowed;
}

/**
 * `/o/:orgId/conversations(/:channelId)`: the org's conversations that are not tickets (mirrored
 * Discord channels with their threads under them first, then staff rooms and player DMs, and last
 * the conversations no longer fed, such as a removed mirror's) with unread counts,
 * and the open one's messages, read-only. Opening one marks it read; what arrives while it is
 * open (live) is shown and marked read too. A mirrored message can be turned into a ticket
 * ("Create ticket"); the answer says whether it was opened now or existed already.
 * @param {{ org: { id: string, name: string, role: string }, channelId: string | undefined }} props
 */
export function ConversationsPage({ org, channelId }) {
  const [channels, setChannels] = useState(/** @type {Channel[] | null} */ (null));
  const [error, setError] = useState('');
  /** Counts live changes: the open conversation asks for its messages again when it moves. */
  const [changes, setChanges] = useState(0);
  const canCreate = useCanCreateTickets(org);
  const load = async () => {
    try {
      setChannels(await loadChannels(org.id));
      setError('');
    } catch (err) {
      setError(describeError(err));
    }
  };
  useEffect(() => {
    load();
  }, [org.id]);
  useLiveChanges(org.id, () => {
    load();
    setChanges((n) => n + 1);
  });
  // Left after reading: its count stays 0 here until the list is asked again.
  useEffect(
    () => () =>
      setChannels((cs) => (cs ? cs.map((c) => (c.id === channelId ? { ...c, unread: 0 } : c)) : cs)),
    [channelId],
  );
  const groups = channels ? groupsOf(channels) : null;
  const open = channels?.find((c) => c.id === channelId) ?? null;
  const parent = open?.threadOf ? (channels?.find((c) => c.id === open.threadOf) ?? null) : null;

  /**
   * @param {Channel} c
   * @param {Channel | null} [threadOf] the thread's channel, when `c` is a thread
   */
  const link = (c, threadOf) => {
    // The open one is on screen, hence read (its messages mark it so).
    const unread = c.id === channelId ? 0 : c.unread;
    return html`<a
      class=${`conv${unread ? ' unread' : ''}${c.threadOf ? ' thread' : ''}`}
      href=${`/o/${org.id}/conversations/${c.id}`}
      aria-current=${c.id === channelId ? 'page' : undefined}
    >
      <span class="subject">${channelTitle(c)}</span>
      ${c.threadOf ? html`<span class="muted thread-of">${threadOfWords(threadOf)}</span>` : null}
      ${unread ? html`<span class="badge unread-badge">${unread} unread</span>` : null}
      ${c.lastMessageAt ? html`<time class="muted" datetime=${c.lastMessageAt}>${ago(c.lastMessageAt)}</time>` : null}
    </a>`;
  };

  return html`<main class="conversations-page" id="main">
    <h1>Conversations</h1>
    <p class="muted">Discord channels mirrored read-only, their threads, staff rooms and player DMs. Tickets are in the <a href=${`/o/${org.id}`}>inbox</a>.</p>
    <div class="conversations-grid">
      <nav class="conversation-list" aria-label="Conversations">
        ${error ? html`<p class="error" role="alert">The conversations could not be loaded: ${error} <button type="button" onClick=${load}>Retry</button></p>` : null}
        ${
          groups
            ? groups.length
              ? groups.map(
                  (
                    g,
                  ) => html`<section key=${g.key} aria-labelledby=${`conv-g-${g.key}`} class=${`conv-group conv-group-${g.key}`}>
                    <h2 class="small-h" id=${`conv-g-${g.key}`}>${g.title}</h2>
                    ${g.note ? html`<p class="muted conv-note">${g.note}</p>` : null}
                    <ul class="conv-list">
                      ${g.entries.map(
                        (e) => html`<li key=${e.channel.id} data-channel=${e.channel.id}>
                          ${link(e.channel, e.parent)}
                          ${
                            e.threads.length
                              ? html`<ul class="conv-threads" aria-label=${`Threads of ${channelTitle(e.channel)}`}>
                                  ${e.threads.map(
                                    (t) =>
                                      html`<li key=${t.id} data-channel=${t.id}>${link(t, e.channel)}</li>`,
                                  )}
                                </ul>`
                              : null
                          }
                        </li>`,
                      )}
                    </ul>
                  </section>`,
                )
              : html`<p class="empty">No conversations yet. An admin can mirror a Discord channel in Settings → Discord servers.</p>`
            : error
              ? null
              : html`<p role="status">Loading conversations…</p>`
        }
      </nav>
      ${
        channelId
          ? html`<${Conversation}
              key=${channelId}
              orgId=${org.id}
              channelId=${channelId}
              listed=${open}
              parent=${parent}
              changes=${changes}
              canCreate=${canCreate}
            />`
          : html`<p class="muted conversation">Choose a conversation to read it.</p>`
      }
    </div>
  </main>`;
}
