// @ts-check
import { useEffect, useState } from 'preact/hooks';
import { api, cachedList, describeError } from './api.js';
import { html } from './html.js';

/** @typedef {{ id: string, shortcut: string, title: string }} Canned */

/**
 * Canned replies for the composer: pick one, and its text, with {player}, {ticket}, {subject},
 * {agent} and {category} filled from this ticket by the API's render, goes in at the cursor.
 * @param {{ orgId: string, ticketId: string, onInsert: (text: string) => void }} props
 */
export function CannedPicker({ orgId, ticketId, onInsert }) {
  const [list, setList] = useState(/** @type {Canned[] | null} */ (null));
  const [chosen, setChosen] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    cachedList(`/v1/orgs/${orgId}/canned-replies`).then(
      (r) => setList(r.cannedReplies),
      () => setList(null),
    );
  }, [orgId]);
  if (!list || list.length === 0) return null;

  const insert = async () => {
    if (!chosen) return setError('Choose a canned reply first.');
    setBusy(true);
    setError('');
    try {
      const r = await api('POST', `/v1/orgs/${orgId}/canned-replies/${chosen}/render`, { ticketId });
      onInsert(r.body);
      setChosen('');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return html`<div class="canned">
    <label for="canned-select">Canned reply</label>
    <select id="canned-select" value=${chosen} aria-describedby=${error ? 'err-canned' : undefined}
      onChange=${(/** @type {any} */ e) => setChosen(e.currentTarget.value)}>
      <option value="">Choose…</option>
      ${list.map((c) => html`<option value=${c.id}>${c.title} (/${c.shortcut})</option>`)}
    </select>
    <button type="button" disabled=${busy} onClick=${insert}>Insert</button>
    ${error ? html`<p class="error" id="err-canned" role="alert">${error}</p>` : null}
  </div>`;
}
