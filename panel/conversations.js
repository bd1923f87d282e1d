// @ts-check
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, cachedList, describeError } from './api.js';
import { ErrorFor, useForm, when } from './forms.js';
import { html } from './html.js';
import { ago } from './labels.js';
import { live } from './live.js';
import { FileList } from './ticket-files.js';

/**
 * @typedef {import('./ticket-files.js').FileLink} FileLink
 * @typedef {{ id: string, kind: 'ticket' | 'player_dm' | 'staff_room' | 'discord_mirror', name: string | null,
 *   playerId: string | null, ticketId: string | null, lastMessageAt: string | null, unread: number,
 *   archivedAt: string | null, mirrorId: string | null, threadOf: string | null,
 *   discordChannelId?: string }} Channel
 * @typedef {{ id: string, channelId: string, authorType: string, authorUserId: string | null,
 *   authorPlayerId: string | null, authorName?: string | null, body: string, createdAt: string,
 *   attachments?: FileLink[] }} ChannelMessage
 * @typedef {{ channel: Channel, threads: Channel[], parent: Channel | null }} Entry
 *   A conversation in the list, with its threads under it; `parent` names the channel of a
 *   thread shown on its own (its channel is in another group or not listed).
 * @typedef {{ key: string, title: string, note?: string, entries: Entry[] }} Group
 * @typedef {{ ticketId: string, number: number, created: boolean }} Opened
 */

const KINDS = /** @type {const} */ (['discord_mirror', 'staff_room', 'player_dm']);

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
 * The org's conversations other than tickets (mirrored Discord channels and their threads, staff
 * rooms, player DMs). The mirrors list (`guilds.manage`) only names an unnamed mirrored channel by
 * its Discord id; without it such a channel is "Unnamed Discord channel".
 * @param {string} orgId
 * @returns {Promise<Channel[]>}
 */
async function loadChannels(orgId) {
  const base = `/v1/orgs/${orgId}`;
  const [lists, discordIds] = await Promise.all([
    Promise.all(
      KINDS.map(
        async (kind) =>
          /** @type {{ channels: Channel[] }} */ (await api('GET', `${base}/channels?kind=${kind}&limit=200`))
            .channels,
      ),
    ),
    api('GET', `${base}/discord-mirrors`).then(
      (r) =>
        new Map(
          /** @type {{ channelId: string, discordChannelId: string }[]} */ (r.mirrors).map((m) => [
            m.channelId,
            m.discordChannelId,
          ]),
        ),
      () => new Map(),
    ),
  ]);
  return lists
    .flat()
    .map((c) => (c.name || !discordIds.has(c.id) ? c : { ...c, discordChannelId: discordIds.get(c.id) }));
}

/**
 * The list's groups: mirrored Discord channels each with its threads under it, staff rooms,
 * player DMs, and last what is no longer fed (a removed mirror's channel and threads), still
 * readable.
 * @param {Channel[]} channels
 * @returns {Group[]}
 */
function groupsOf(channels) {
  const byId = new Map(channels.map((c) => [c.id, c]));
  /**
   * @param {string} key
   * @param {string} title
   * @param {Channel[]} members
   * @param {string} [note]
   * @returns {Group}
   */
  const group = (key, title, members, note) => {
    const here = new Set(members.map((c) => c.id));
    /** @type {Map<string, Channel[]>} */
    const threads = new Map();
    for (const c of members)
      if (c.threadOf && here.has(c.threadOf))
        threads.set(c.threadOf, [...(threads.get(c.threadOf) ?? []), c]);
    const entries = members
      .filter((c) => !(c.threadOf && here.has(c.threadOf)))
      .map((c) => ({
        channel: c,
        threads: threads.get(c.id) ?? [],
        parent: c.threadOf ? (byId.get(c.threadOf) ?? null) : null,
      }));
    return { key, title, entries, ...(note ? { note } : {}) };
  };
  const current = channels.filter((c) => !c.archivedAt);
  const groups = [
    group(
      'mirrors',
      'Mirrored Discord channels',
      current.filter((c) => c.kind === 'discord_mirror'),
    ),
    group(
      'rooms',
      'Staff rooms',
      current.filter((c) => c.kind === 'staff_room'),
    ),
    group(
      'dms',
      'Player DMs',
      current.filter((c) => c.kind === 'player_dm'),
    ),
    group(
      'archived',
      'No longer mirrored',
      channels.filter((c) => c.archivedAt),
      'Nothing new arrives in these; what was copied stays readable.',
    ),
  ];
  return groups.filter((g) => g.entries.length);
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

/** @param {Omit<Channel, 'unread'>} c */
function channelTitle(c) {
  if (c.name) return c.kind === 'discord_mirror' ? `#${c.name}` : c.name;
  if (c.discordChannelId) return `Discord channel ${c.discordChannelId}`;
  if (c.kind === 'discord_mirror') return c.threadOf ? 'Unnamed thread' : 'Unnamed Discord channel';
  return c.kind === 'player_dm' ? 'Player DM' : 'Unnamed conversation';
}

/**
 * "thread of #patch-notes": what a thread is, in words, when its channel is known.
 * @param {Channel | null | undefined} parent
 */
const threadOfWords = (parent) =>
  parent ? `thread of ${channelTitle(parent)}` : 'thread of a mirrored channel';

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

/**
 * One conversation's latest 100 messages, oldest first, read-only; marked read when shown and
 * again when a live change brings new ones.
 * @param {{ orgId: string, channelId: string, listed: Channel | null, parent: Channel | null, changes: number,
 *   canCreate: boolean }} props
 */
function Conversation({ orgId, channelId, listed, parent, changes, canCreate }) {
  const base = `/v1/orgs/${orgId}`;
  const [data, setData] = useState(
    /** @type {{ channel: Omit<Channel, 'unread'>, messages: ChannelMessage[] } | null} */ (null),
  );
  const [error, setError] = useState('');
  const [opened, setOpened] = useState(/** @type {Record<string, Opened>} */ ({}));
  const form = useForm('conv');
  const heading = useRef(/** @type {HTMLHeadingElement | null} */ (null));
  /** The newest message shown and marked read, so a refetch with nothing new marks nothing. */
  const lastRead = useRef('');

  useEffect(() => {
    let gone = false;
    (async () => {
      try {
        /** @type {{ channel: Omit<Channel, 'unread'>, messages: ChannelMessage[] }} */
        const d = await api('GET', `${base}/channels/${channelId}/messages?limit=100`);
        if (gone) return;
        setData(d);
        setError('');
        const newest = d.messages.at(-1)?.id ?? 'none';
        if (newest !== lastRead.current) {
          lastRead.current = newest;
          // Unread marks are a convenience: a refusal changes nothing shown.
          api('POST', `${base}/channels/${channelId}/read`).catch(() => {});
        }
      } catch (err) {
        if (!gone) setError(describeError(err));
      }
    })();
    return () => {
      gone = true;
    };
  }, [channelId, changes]);

  // Opened: focus goes to its title, so the keyboard and a screen reader continue from there.
  const shown = data !== null;
  useEffect(() => {
    if (shown) heading.current?.focus();
  }, [shown]);

  /**
   * Who wrote it, by the name the API gives with the message; a bot (or a webhook) has none.
   * @param {ChannelMessage} m
   */
  const author = (m) =>
    m.authorName ||
    (m.authorPlayerId
      ? 'A player'
      : m.authorUserId
        ? 'A staff member'
        : m.authorType === 'bot'
          ? 'A bot'
          : 'System');
  /** @param {ChannelMessage} m */
  const createTicket = (m) =>
    form.run(`ticket-${m.id}`, async () => {
      /** @type {Opened} */
      const r = await api('POST', `${base}/messages/${m.id}/ticket`);
      setOpened((o) => ({ ...o, [m.id]: r }));
    });

  if (error && !data)
    return html`<section class="conversation"><p class="error" role="alert">This conversation could not be loaded: ${error}</p></section>`;
  if (!data) return html`<section class="conversation"><p role="status">Loading messages…</p></section>`;
  const c = { ...data.channel, discordChannelId: listed?.discordChannelId };
  const mirror = c.kind === 'discord_mirror';
  const archived = Boolean(c.archivedAt);
  return html`<section class="conversation" aria-labelledby="conv-title">
    <h2 id="conv-title" tabindex="-1" ref=${heading}>${channelTitle(c)}</h2>
    ${
      c.threadOf
        ? html`<p class="thread-of">
            ${
              parent
                ? html`A thread of <a href=${`/o/${orgId}/conversations/${parent.id}`}>${channelTitle(parent)}</a>`
                : 'A thread of a mirrored channel'
            }
          </p>`
        : null
    }
    ${
      archived
        ? html`<p class="notice">
            No longer mirrored (since <time datetime=${c.archivedAt} title=${when(c.archivedAt ?? '')}>${ago(c.archivedAt ?? '')}</time>):
            nothing new arrives here; what was copied stays readable.
          </p>`
        : null
    }
    <p class="muted">
      ${
        mirror
          ? `A read-only copy of a Discord ${c.threadOf ? 'thread' : 'channel'}: nothing written here reaches Discord. Turn a message into a ticket to answer it.`
          : 'Read-only here.'
      }
    </p>
    ${error ? html`<p class="error" role="alert">New messages could not be loaded: ${error}</p>` : null}
    ${data.messages.length === 0 ? html`<p class="muted">No messages yet.</p>` : null}
    <ol class="timeline" aria-label=${`Messages of ${channelTitle(c)}`}>
      ${data.messages.map((m) => {
        const t = opened[m.id];
        return html`<li key=${m.id} data-message=${m.id} class=${`msg ${m.authorPlayerId ? 'from-player' : 'from-staff'}`}>
          <p class="who">
            ${author(m)}
            <span class="muted"> · <time datetime=${m.createdAt} title=${when(m.createdAt)}>${ago(m.createdAt)}</time></span>
          </p>
          <div class="body">${m.body}</div>
          <${FileList} files=${m.attachments ?? []} label=${`Files of the message of ${author(m)}, ${when(m.createdAt)}`} />
          ${
            mirror && canCreate
              ? html`<div class="row">
                  <button
                    type="button"
                    aria-label=${`Create ticket from the message of ${author(m)}, ${when(m.createdAt)}`}
                    disabled=${form.busy === `ticket-${m.id}`}
                    onClick=${() => createTicket(m)}
                  >
                    Create ticket
                  </button>
                  ${
                    t
                      ? html`<p class="notice" role="status">
                          ${t.created ? 'Ticket opened: ' : 'This message has a ticket already: '}
                          <a href=${`/o/${orgId}/t/${t.ticketId}`}>#${t.number}</a>
                        </p>`
                      : null
                  }
                </div>
                <${ErrorFor} id=${`ticket-${m.id}`} errors=${form.errors} />`
              : null
          }
        </li>`;
      })}
    </ol>
  </section>`;
}
