import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, describeError } from './api.js';
import { html } from './html.js';
import { live } from './live.js';
import { NotificationPrefs } from './notifications-prefs.js';
import { createTurns } from './turns.js';
import { WorkingHoursForm } from './working-hours.js';

/**
 * The header's bell: the member's unread count, kept current by their own live topic (the
 * workers publish each new notification there and nowhere else), and a list that opens under it
 * with mark read and mark all read. Preferences are the API's (`.../notifications/preferences`).
 *
 * @typedef {{ id: string, event: string, ticketId: string | null, ticketNumber: number | null, title: string, body: string | null, readAt: string | null, createdAt: string }} Notification
 */

/** @param {{ orgId: string, userId: string }} props */
export function NotificationBell({ orgId, userId }) {
  const base = `/v1/orgs/${orgId}/notifications`;
  const [unread, setUnread] = useState(0);
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState(/** @type {Notification[] | null} */ (null));
  const [error, setError] = useState('');
  const [showPrefs, setShowPrefs] = useState(false);

  // Live events and marking read both ask again: only the latest answer lands.
  const [turns] = useState(createTurns);
  const refresh = useCallback(async () => {
    const current = turns.take();
    try {
      const r = await api('GET', `${base}?limit=20`);
      if (!current()) return;
      setItems(r.notifications);
      setUnread(r.unread);
      setError('');
    } catch (err) {
      if (current()) setError(describeError(err));
    }
  }, [base, turns]);

  useEffect(() => {
    refresh();
    const topic = `member:${orgId}:${userId}`;
    const stop = live.subscribeNotifications(orgId, userId);
    const unlisten = live.listen((m) => {
      // A new notification, or a gap in the topic: ask again rather than count on the event alone.
      if ((m.kind === 'event' || m.kind === 'resync') && m.topic === topic) refresh();
    });
    return () => {
      unlisten();
      stop();
    };
  }, [orgId, userId, refresh]);

  /** @param {string[] | null} ids null: all */
  const markRead = async (ids) => {
    try {
      await api('POST', ids ? `${base}/read` : `${base}/read-all`, ids ? { ids } : undefined);
      await refresh();
    } catch (err) {
      setError(describeError(err));
    }
  };

  const label = unread ? `Notifications, ${unread} unread` : 'Notifications';
  return html`<div class="bell">
    <button type="button" class="subtle" aria-expanded=${open} aria-label=${label} onClick=${() => setOpen(!open)}>
      🔔${unread ? html` <span class="badge" data-testid="unread-count">${unread}</span>` : null}
    </button>
    ${
      open
        ? html`<section class="bell-list" aria-label="Notifications">
            <div class="bell-head">
              <strong>Notifications</strong>
              <button type="button" class="subtle" disabled=${!unread} onClick=${() => markRead(null)}>
                Mark all read
              </button>
              <button type="button" class="subtle" aria-expanded=${showPrefs} onClick=${() => setShowPrefs(!showPrefs)}>
                Preferences
              </button>
            </div>
            ${showPrefs ? html`<${NotificationPrefs} orgId=${orgId} /><${WorkingHoursForm} orgId=${orgId} userId=${userId} />` : null}
            ${error ? html`<p class="error" role="alert">${error}</p>` : null}
            ${items && !items.length ? html`<p class="muted">Nothing yet.</p>` : null}
            <ul>
              ${(items ?? []).map(
                (n) => html`<li key=${n.id} class=${n.readAt ? 'read' : 'unread'}>
                  ${
                    n.ticketId
                      ? html`<a href=${`/o/${orgId}/t/${n.ticketId}`} onClick=${() => setOpen(false)}>${n.title}</a>`
                      : html`<span>${n.title}</span>`
                  }
                  ${n.body ? html`<p class="muted">${n.body}</p>` : null}
                  ${
                    n.readAt
                      ? null
                      : html`<button type="button" class="subtle" onClick=${() => markRead([n.id])}>Mark read</button>`
                  }
                </li>`,
              )}
            </ul>
          </section>`
        : null
    }
  </div>`;
}
