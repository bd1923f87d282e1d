import { useEffect, useState } from 'preact/hooks';
import { api, describeError } from './api.js';
import { html } from './html.js';

/**
 * The member's notification preferences, opened from the bell: per event and channel, quiet hours
 * in their own time zone. Saved with one PUT of the whole form (the email digest is left as it
 * is: nothing sends the digest yet, so the panel does not offer it).
 *
 * @typedef {{ panel: boolean, discord: boolean, email: boolean }} Channels
 * @typedef {{ timeZone: string, quietStart: number, quietEnd: number, emailDigest: boolean, events: Record<string, Channels> }} Prefs
 */

const EVENTS = /** @type {const} */ ([
  ['assigned', 'Assigned to me'],
  ['mentioned', 'Mentioned in a note'],
  ['player_replied', 'Player replied on my ticket'],
  ['sla_warning', 'SLA warning'],
  ['sla_breached', 'SLA breached'],
  ['new_in_queue', "New ticket in my team's queue"],
  ['rule', 'Rule notifications'],
]);
const CHANNELS = /** @type {const} */ ([
  ['panel', 'Panel'],
  ['discord', 'Discord DM'],
  ['email', 'Email'],
]);

/** @param {number} m */
const hhmm = (m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
/** @param {string} v */
const minutes = (v) => {
  const [h, m] = v.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
};

/** @param {{ orgId: string }} props */
export function NotificationPrefs({ orgId }) {
  const path = `/v1/orgs/${orgId}/notifications/preferences`;
  const [prefs, setPrefs] = useState(/** @type {Prefs | null} */ (null));
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');

  useEffect(() => {
    api('GET', path).then(setPrefs, (err) => setError(describeError(err)));
  }, [path]);

  if (!prefs)
    return error ? html`<p class="error" role="alert">${error}</p>` : html`<p class="muted">Loading…</p>`;

  /** @param {Partial<Prefs>} change */
  const set = (change) => {
    setPrefs({ ...prefs, ...change });
    setStatus('');
  };
  /** @param {string} event @param {keyof Channels} channel @param {boolean} on */
  const flip = (event, channel, on) =>
    set({ events: { ...prefs.events, [event]: { ...prefs.events[event], [channel]: on } } });
  const save = async (/** @type {Event} */ e) => {
    e.preventDefault();
    try {
      const { emailDigest: _kept, ...change } = prefs;
      setPrefs(await api('PUT', path, change));
      setError('');
      setStatus('Saved');
    } catch (err) {
      setError(describeError(err));
    }
  };

  return html`<form class="notification-prefs" aria-label="Notification preferences" onSubmit=${save}>
    <table>
      <thead>
        <tr>
          <th scope="col">Event</th>
          ${CHANNELS.map(([, label]) => html`<th scope="col">${label}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${EVENTS.map(
          ([event, label]) => html`<tr key=${event}>
            <th scope="row">${label}</th>
            ${CHANNELS.map(
              ([channel, chLabel]) => html`<td>
                <input
                  type="checkbox"
                  aria-label=${`${label}: ${chLabel}`}
                  checked=${prefs.events[event]?.[channel]}
                  onChange=${(/** @type {any} */ e) => flip(event, channel, e.currentTarget.checked)}
                />
              </td>`,
            )}
          </tr>`,
        )}
      </tbody>
    </table>
    <fieldset>
      <legend>Quiet hours (no Discord DM or email; the panel keeps them)</legend>
      <label
        >From
        <input type="time" value=${hhmm(prefs.quietStart)} onChange=${(/** @type {any} */ e) => set({ quietStart: minutes(e.currentTarget.value) })}
      /></label>
      <label
        >to
        <input type="time" value=${hhmm(prefs.quietEnd)} onChange=${(/** @type {any} */ e) => set({ quietEnd: minutes(e.currentTarget.value) })}
      /></label>
      <label
        >Time zone
        <input value=${prefs.timeZone} onInput=${(/** @type {any} */ e) => set({ timeZone: e.currentTarget.value })}
      /></label>
    </fieldset>
    <div>
      <button type="submit">Save preferences</button>
      ${status ? html` <span role="status">${status}</span>` : null}
    </div>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
  </form>`;
}
