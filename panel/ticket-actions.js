// @ts-check
import { useEffect, useState } from 'preact/hooks';
import { api, cachedList, describeError } from './api.js';
import { html } from './html.js';
import { navigate } from './router.js';

/**
 * The ticket actions beyond claim/assign/status/priority/close: transfer to a team, tags, merge.
 * Each shows its own error under itself.
 * @typedef {{ id: string, number: number, subject: string, teamId: string | null, tags: string[] }} Ticket
 * @typedef {(id: string, run: () => Promise<unknown>) => Promise<boolean>} Act
 * @typedef {(path: string, body?: unknown) => Promise<unknown>} Edit a change to the ticket (POST),
 *   made only if nobody changed the ticket since this page last loaded it (If-Match)
 */

/** @param {{ id: string, errors: Record<string, string> }} props */
export function ErrorFor({ id, errors }) {
  return errors[id] ? html`<p class="error" id=${`err-${id}`} role="alert">${errors[id]}</p>` : null;
}

/**
 * Transfer to a team (or none), keeping the assignee only when asked.
 * @param {{ orgId: string, base: string, ticket: Ticket, act: Act, edit: Edit, busy: string, errors: Record<string, string> }} props
 */
export function TransferControl({ orgId, base, ticket, act, edit, busy, errors }) {
  const [teams, setTeams] = useState(/** @type {{ id: string, name: string }[] | null} */ (null));
  useEffect(() => {
    cachedList(`/v1/orgs/${orgId}/teams`).then(
      (r) => setTeams(r.teams),
      () => setTeams(null),
    );
  }, [orgId]);
  if (!teams) return null;
  return html`<div class="action">
    <label for="team-select">Team</label>
    <select
      id="team-select"
      value=${ticket.teamId ?? ''}
      disabled=${busy === 'transfer'}
      aria-describedby=${errors.transfer ? 'err-transfer' : undefined}
      onChange=${(/** @type {any} */ e) => act('transfer', () => edit(`${base}/transfer`, { teamId: e.currentTarget.value || null }))}
    >
      <option value="">No team</option>
      ${teams.map((t) => html`<option value=${t.id}>${t.name}</option>`)}
    </select>
    <${ErrorFor} id="transfer" errors=${errors} />
  </div>`;
}

/**
 * The ticket's tags, each with a remove button, and an add field offering the org's tags.
 * @param {{ orgId: string, base: string, ticket: Ticket, act: Act, edit: Edit, busy: string, errors: Record<string, string> }} props
 */
export function TagsControl({ orgId, base, ticket, act, edit, busy, errors }) {
  const [known, setKnown] = useState(/** @type {string[]} */ ([]));
  const [text, setText] = useState('');
  useEffect(() => {
    cachedList(`/v1/orgs/${orgId}/tickets/tags`).then(
      (r) => setKnown(r.tags.map((/** @type {{ tag: string }} */ t) => t.tag)),
      () => setKnown([]),
    );
  }, [orgId]);
  return html`<div class="action tags-control">
    <span id="tags-label" class="label">Tags</span>
    <ul class="tag-list" aria-labelledby="tags-label">
      ${ticket.tags.length === 0 ? html`<li class="muted">none</li>` : null}
      ${ticket.tags.map(
        (t) => html`<li class="tag">
          ${t}
          <button type="button" class="tag-remove" aria-label=${`Remove tag ${t}`} disabled=${busy === 'tags'}
            onClick=${() => act('tags', () => edit(`${base}/tags`, { remove: [t] }))}>×</button>
        </li>`,
      )}
    </ul>
    <form
      class="inline"
      onSubmit=${async (/** @type {Event} */ e) => {
        e.preventDefault();
        const t = text.trim().toLowerCase();
        if (!t) return;
        if (await act('tags', () => edit(`${base}/tags`, { add: [t] }))) setText('');
      }}
    >
      <label for="tag-add" class="visually-hidden">Add a tag</label>
      <input id="tag-add" list="org-tags" placeholder="Add a tag" maxlength="50" value=${text}
        aria-describedby=${errors.tags ? 'err-tags' : undefined}
        onInput=${(/** @type {any} */ e) => setText(e.currentTarget.value)} />
      <datalist id="org-tags">${known.filter((k) => !ticket.tags.includes(k)).map((k) => html`<option value=${k}></option>`)}</datalist>
      <button type="submit" disabled=${busy === 'tags'}>Add</button>
    </form>
    <${ErrorFor} id="tags" errors=${errors} />
  </div>`;
}

/**
 * Merge into another ticket given by its number: looks the target up, asks to confirm with both
 * tickets named, then merges and opens the target.
 * @param {{ orgId: string, base: string, ticket: Ticket, act: Act, edit: Edit, busy: string, errors: Record<string, string> }} props
 */
export function MergeControl({ orgId, base, ticket, act, edit, busy, errors }) {
  const [number, setNumber] = useState('');
  const [target, setTarget] = useState(
    /** @type {{ id: string, number: number, subject: string } | null} */ (null),
  );
  const [lookError, setLookError] = useState('');

  /** @param {Event} e */
  const look = async (e) => {
    e.preventDefault();
    setLookError('');
    setTarget(null);
    const n = Number(number.replace(/^#/, ''));
    if (!Number.isInteger(n) || n < 1) return setLookError('Type the number of the ticket to merge into.');
    if (n === ticket.number) return setLookError('A ticket cannot be merged into itself.');
    try {
      const r = await api('GET', `/v1/orgs/${orgId}/tickets?number=${n}`);
      const found = r.tickets[0];
      if (!found) return setLookError(`There is no ticket #${n}.`);
      setTarget(found);
    } catch (err) {
      setLookError(describeError(err));
    }
  };

  const error = lookError || errors.merge;
  return html`<div class="action merge">
    <form class="inline" onSubmit=${look}>
      <label for="merge-number">Merge into ticket #</label>
      <input id="merge-number" inputmode="numeric" value=${number} size="6"
        aria-describedby=${error ? 'err-merge' : undefined}
        onInput=${(/** @type {any} */ e) => {
          setNumber(e.currentTarget.value);
          setTarget(null);
        }} />
      <button type="submit">Find</button>
    </form>
    ${
      target
        ? html`<div class="confirm" role="group" aria-label="Confirm merge">
            <p>Merge #${ticket.number} into #${target.number} “${target.subject}”? Its messages move there and this ticket closes.</p>
            <button type="button" class="danger" disabled=${busy === 'merge'}
              onClick=${async () => {
                const to = target;
                if (await act('merge', () => edit(`${base}/merge`, { targetId: to.id })))
                  navigate(`/o/${orgId}/t/${to.id}`);
              }}>Merge into #${target.number}</button>
            <button type="button" onClick=${() => setTarget(null)}>Cancel</button>
          </div>`
        : null
    }
    ${error ? html`<p class="error" id="err-merge" role="alert">${error}</p>` : null}
  </div>`;
}
