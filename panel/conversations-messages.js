// @ts-check
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, describeError } from './api.js';
import { channelTitle } from './conversations-list.js';
import { ErrorFor, useForm, when } from './forms.js';
import { html } from './html.js';
import { ago } from './labels.js';
import { FileList } from './ticket-files.js';

/**
 * The open conversation on the conversations page: its messages, and "Create ticket" on a
 * mirrored one.
 * @typedef {import('./conversations-list.js').Channel} Channel
 * @typedef {import('./ticket-files.js').FileLink} FileLink
 * @typedef {{ id: string, channelId: string, authorType: string, authorUserId: string | null,
 *   authorPlayerId: string | null, authorName?: string | null, body: string, createdAt: string,
 *   attachments?: FileLink[] }} ChannelMessage
 * @typedef {{ ticketId: string, number: number, created: boolean }} Opened
 */

/**
 * One conversation's latest 100 messages, oldest first, read-only; marked read when shown and
 * again when a live change brings new ones.
 * @param {{ orgId: string, channelId: string, listed: Channel | null, parent: Channel | null, changes: number,
 *   canCreate: boolean }} props
 */
export function Conversation({ orgId, channelId, listed, parent, changes, canCreate }) {
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
