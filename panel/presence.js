// @ts-check
import { useEffect, useState } from 'preact/hooks';
import { api, describeError } from './api.js';
import { html } from './html.js';
import { live } from './live.js';

/**
 * Staff presence in the panel: who of the org's members is online, away or offline
 * (`GET .../presence`), kept current by the live socket's `staff-presence` messages, and the
 * member's own Online/Away choice in the header (`PUT .../presence/me`).
 * @typedef {'online' | 'away' | 'offline'} State
 * @typedef {{ userId: string, state: State, lastSeenAt: string | null, chosen: 'away' | null }} Presence
 */

/** lib/presence.ts PRESENCE_TTL_S: nobody announces going offline, so it is worked out here. */
const TTL_MS = 120_000;
const REFRESH_MS = 60_000;

/** One store per org shared by every dot on the page: one request and one listener, not one each. */
class OrgPresence {
  /** @param {string} orgId */
  constructor(orgId) {
    this.orgId = orgId;
    /** @type {Map<string, Presence>} */
    this.members = new Map();
    /** @type {Set<() => void>} */
    this.watchers = new Set();
    /** @type {ReturnType<typeof setInterval> | null} */
    this.timer = null;
    /** @type {(() => void) | null} */
    this.unlisten = null;
    /** False until the first answer (and for a role that can't read it): no choice offered. */
    this.loaded = false;
  }

  async load() {
    try {
      const r = /** @type {{ members: Presence[] }} */ (await api('GET', `/v1/orgs/${this.orgId}/presence`));
      this.members = new Map(r.members.map((m) => [m.userId, m]));
      this.loaded = true;
      this.changed();
    } catch {
      // A role that cannot read tickets sees no dots; nothing to say about it.
    }
  }

  changed() {
    for (const fn of this.watchers) fn();
  }

  /** @param {() => void} fn */
  watch(fn) {
    this.watchers.add(fn);
    if (this.watchers.size === 1) {
      this.load();
      // Offline happens by silence: look again each minute (and the states age here meanwhile).
      this.timer = setInterval(() => this.load(), REFRESH_MS);
      this.unlisten = live.listen((m) => {
        if (m.kind !== 'staff-presence') return;
        const had = this.members.get(m.userId);
        this.members.set(m.userId, {
          userId: m.userId,
          state: m.state,
          lastSeenAt: m.lastSeenAt,
          chosen: m.state === 'away' ? 'away' : (had?.chosen ?? null),
        });
        this.changed();
      });
    }
    return () => {
      this.watchers.delete(fn);
      if (this.watchers.size) return;
      if (this.timer) clearInterval(this.timer);
      this.unlisten?.();
      stores.delete(this.orgId);
    };
  }

  /** @param {string | null | undefined} userId @returns {State} */
  stateOf(userId) {
    const p = userId ? this.members.get(userId) : undefined;
    if (!p?.lastSeenAt || Date.parse(p.lastSeenAt) <= Date.now() - TTL_MS) return 'offline';
    return p.state === 'offline' ? 'offline' : p.state;
  }
}

/** @type {Map<string, OrgPresence>} */
const stores = new Map();

/**
 * The org's presence, re-rendering the caller on every change.
 * @param {string} orgId
 * @returns {(userId: string | null | undefined) => State}
 */
export function usePresence(orgId) {
  const [, setTick] = useState(0);
  let store = stores.get(orgId);
  if (!store) {
    store = new OrgPresence(orgId);
    stores.set(orgId, store);
  }
  const s = store;
  useEffect(() => s.watch(() => setTick((n) => n + 1)), [s]);
  return (userId) => s.stateOf(userId);
}

const WORDS = { online: 'Online', away: 'Away', offline: 'Offline' };

/**
 * A member's presence as a dot, its colour repeated in words for screen readers and on hover.
 * @param {{ state: State, name?: string }} props
 */
export function PresenceDot({ state, name }) {
  const words = name ? `${name}: ${WORDS[state].toLowerCase()}` : WORDS[state];
  return html`<span class=${`presence-dot ${state}`} role="img" aria-label=${words} title=${words}></span>`;
}

/** Words after a member's name where a dot can't go (a select's options). @param {State} state */
export const presenceWord = (state) => (state === 'online' ? '' : ` (${state})`);

/**
 * The header's Online/Away choice for the signed-in member: Away stays until they choose Online.
 * @param {{ orgId: string, userId: string }} props
 */
export function PresenceChooser({ orgId, userId }) {
  const stateOf = usePresence(orgId);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const store = stores.get(orgId);
  if (!store?.loaded) return null;
  const chosen = store.members.get(userId)?.chosen === 'away' ? 'away' : 'online';
  /** @param {'online' | 'away'} state */
  const choose = async (state) => {
    setError('');
    setBusy(true);
    try {
      const me = /** @type {Presence} */ (await api('PUT', `/v1/orgs/${orgId}/presence/me`, { state }));
      store.members.set(userId, me);
      store.changed();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return html`<label class="presence-choice">
    <${PresenceDot} state=${stateOf(userId)} />
    <span class="visually-hidden">Your presence</span>
    <select value=${chosen} disabled=${busy} onChange=${(/** @type {any} */ e) => choose(e.currentTarget.value)}>
      <option value="online">Online</option>
      <option value="away">Away</option>
    </select>
    ${error ? html`<span class="error" role="alert">${error}</span>` : null}
  </label>`;
}
