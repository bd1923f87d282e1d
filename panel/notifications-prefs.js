import { useEffect, useState } from 'preact/hooks';
import { api, describeError } from './api.js';
import { html } from './html.js';

/**
 * The member's notification preferences, opened from the bell: per event and channel, quiet hours
 * in their own time zone, email as one daily digest at a chosen hour, and Web Push on this device.
 * Saved with one PUT of the whole form.
 *
 * @typedef {{ panel: boolean, discord: boolean, email: boolean, push: boolean }} Channels
 * @typedef {{ timeZone: string, quietStart: number, quietEnd: number, emailDigest: boolean, digestHour: number, events: Record<string, Channels> }} Prefs
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
  ['push', 'Push'],
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
      setPrefs(await api('PUT', path, prefs));
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
      <legend>Quiet hours (no Discord DM, email or push; the panel keeps them)</legend>
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
    <fieldset>
      <legend>Email digest</legend>
      <label
        ><input
          type="checkbox"
          checked=${prefs.emailDigest}
          onChange=${(/** @type {any} */ e) => set({ emailDigest: e.currentTarget.checked })}
        />
        One email a day listing what happened, instead of one email each (for the events ticked under Email)</label
      >
      <label
        >Sent at
        <select
          value=${String(prefs.digestHour)}
          disabled=${!prefs.emailDigest}
          onChange=${(/** @type {any} */ e) => set({ digestHour: Number(e.currentTarget.value) })}
        >
          ${Array.from({ length: 24 }, (_, h) => html`<option value=${String(h)}>${hhmm(h * 60)}</option>`)}
        </select>
        your local time</label
      >
    </fieldset>
    <${PushControl} orgId=${orgId} />
    <div>
      <button type="submit">Save preferences</button>
      ${status ? html` <span role="status">${status}</span>` : null}
    </div>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
  </form>`;
}

/**
 * Why push cannot be turned on here, in words, or null when it can be asked for.
 * @returns {string | null}
 */
function pushUnavailable() {
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window))
    return 'This browser cannot receive push notifications. On iPhone and iPad, add GameMod to the home screen first and open it from there.';
  if (!window.isSecureContext) return 'Push notifications need the panel to be opened over HTTPS.';
  return null;
}

const DENIED =
  'Your browser is blocking notifications from this site, so push cannot be turned on. Allow notifications for this site in the browser’s site settings (the icon next to the address), then try again.';

/** @param {string} key base64url */
const keyBytes = (key) => {
  const b64 = key.replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
};

/**
 * "Enable push on this device": asks the browser's permission (only on this click, never on its
 * own), subscribes with the installation's VAPID key and gives the subscription to the API.
 * A refusal is explained, not just shown as a failed button.
 * @param {{ orgId: string }} props
 */
function PushControl({ orgId }) {
  const base = `/v1/orgs/${orgId}/notifications/push`;
  const [state, setState] = useState(/** @type {'unknown' | 'on' | 'off'} */ ('unknown'));
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const unavailable = pushUnavailable();

  useEffect(() => {
    if (unavailable) return;
    if (Notification.permission === 'denied') setMessage(DENIED);
    navigator.serviceWorker.ready
      .then((reg) => reg.pushManager.getSubscription())
      .then((sub) => setState(sub ? 'on' : 'off'))
      .catch(() => setState('off'));
  }, [unavailable]);

  const enable = async () => {
    setBusy(true);
    setMessage('');
    try {
      const permission = await Notification.requestPermission();
      if (permission !== 'granted') {
        setMessage(
          permission === 'denied'
            ? DENIED
            : 'Notifications were not allowed (the question was closed). Press the button again to be asked again.',
        );
        return;
      }
      const { publicKey } = await api('GET', base);
      const reg = await navigator.serviceWorker.ready;
      const sub = await reg.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(publicKey),
      });
      await api('POST', `${base}/subscriptions`, {
        ...sub.toJSON(),
        label: navigator.userAgent.slice(0, 100),
      });
      setState('on');
      setMessage('Push is on for this device.');
    } catch (err) {
      setMessage(`Push could not be turned on: ${describeError(err)}`);
    } finally {
      setBusy(false);
    }
  };

  const disable = async () => {
    setBusy(true);
    try {
      const reg = await navigator.serviceWorker.ready;
      const sub = await reg.pushManager.getSubscription();
      if (sub) {
        await api('POST', `${base}/unsubscribe`, { endpoint: sub.endpoint });
        await sub.unsubscribe();
      }
      setState('off');
      setMessage('Push is off for this device.');
    } catch (err) {
      setMessage(`Push could not be turned off: ${describeError(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return html`<fieldset class="push-device">
    <legend>Push on this device</legend>
    ${
      unavailable
        ? html`<p class="muted">${unavailable}</p>`
        : state === 'on'
          ? html`<button type="button" disabled=${busy} onClick=${disable}>Turn off push on this device</button>`
          : html`<button type="button" disabled=${busy || state === 'unknown'} onClick=${enable}>
              Enable push on this device
            </button>`
    }
    ${message ? html`<p role="status" class=${message === DENIED ? 'error' : 'muted'}>${message}</p>` : null}
  </fieldset>`;
}
