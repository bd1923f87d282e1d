// @ts-check
import { useEffect, useState } from 'preact/hooks';
import { api, cachedList, describeError } from './api.js';
import { html } from './html.js';
import { label, PRIORITIES } from './labels.js';

/**
 * @typedef {{ id: string, number: number }} Target
 * @typedef {{ id: string, number: number, ok: boolean, error: string }} Outcome
 * @typedef {{ userId: string, displayName: string }} Member
 */

/** How many tickets are worked at once: enough to be quick, few enough not to trip the rate limit. */
const AT_ONCE = 4;

/**
 * Runs one action on each ticket through its own route, each with its own Idempotency-Key (the
 * run's id and the ticket's), so a retried run does each ticket once, and one ticket's refusal
 * does not stop the others. Resolves with one outcome per ticket, in the order given.
 * @param {string} orgId
 * @param {Target[]} targets
 * @param {string} path the action route under the ticket (`close`, `assign`...)
 * @param {unknown} body
 * @param {string} [runId]
 * @returns {Promise<Outcome[]>}
 */
export async function runBulk(orgId, targets, path, body, runId = crypto.randomUUID()) {
  /** @type {Outcome[]} */
  const out = new Array(targets.length);
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const i = next++;
      const t = /** @type {Target} */ (targets[i]);
      try {
        await api('POST', `/v1/orgs/${orgId}/tickets/${t.id}/${path}`, body, {
          'idempotency-key': `bulk-${runId}-${t.id}`,
        });
        out[i] = { id: t.id, number: t.number, ok: true, error: '' };
      } catch (err) {
        out[i] = { id: t.id, number: t.number, ok: false, error: describeError(err) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(AT_ONCE, targets.length) }, worker));
  return out;
}

/**
 * The bar shown while tickets are ticked: assign, move to a team, close, priority, add a tag. Each ticket's
 * result is listed after a run, failures by number and in the API's words.
 * @param {{ orgId: string, targets: Target[], members: Member[] | null, tags: string[],
 *   onDone: (outcomes: Outcome[]) => void, onClear: () => void }} props
 */
export function BulkBar({ orgId, targets, members, tags, onDone, onClear }) {
  const [busy, setBusy] = useState(false);
  const [outcomes, setOutcomes] = useState(/** @type {{ what: string, list: Outcome[] } | null} */ (null));
  const [tag, setTag] = useState('');
  const [error, setError] = useState('');
  const [teams, setTeams] = useState(/** @type {{ id: string, name: string }[] | null} */ (null));
  useEffect(() => {
    cachedList(`/v1/orgs/${orgId}/teams`).then(
      (r) => setTeams(r.teams),
      () => setTeams([]),
    );
  }, [orgId]);

  /** @param {string} what @param {string} path @param {unknown} body */
  const run = async (what, path, body) => {
    setBusy(true);
    setError('');
    const list = await runBulk(orgId, targets, path, body);
    setOutcomes({ what, list });
    setBusy(false);
    onDone(list);
  };
  const failed = outcomes?.list.filter((o) => !o.ok) ?? [];
  const n = targets.length;

  return html`<section class="bulk card" aria-labelledby="bulk-title">
    <h2 id="bulk-title" class="bulk-title">${n} ticket${n === 1 ? '' : 's'} selected</h2>
    ${
      n > 0
        ? html`<div class="bulk-actions">
            <label class="filter"
              >Assign to
              <select
                id="bulk-assign"
                disabled=${busy || !members}
                onChange=${(/** @type {any} */ e) => {
                  const v = e.currentTarget.value;
                  e.currentTarget.value = '';
                  if (v) run('Assigned', 'assign', { assigneeId: v === 'none' ? null : v });
                }}
              >
                <option value="">Choose…</option>
                <option value="none">Unassigned</option>
                ${(members ?? []).map((m) => html`<option value=${m.userId}>${m.displayName}</option>`)}
              </select></label
            >
            <label class="filter"
              >Move to team
              <select
                id="bulk-team"
                disabled=${busy || !teams}
                onChange=${(/** @type {any} */ e) => {
                  const v = e.currentTarget.value;
                  const name = e.currentTarget.selectedOptions[0]?.textContent ?? '';
                  e.currentTarget.value = '';
                  if (v)
                    run(v === 'none' ? 'Moved to no team' : `Moved to ${name}`, 'transfer', {
                      teamId: v === 'none' ? null : v,
                    });
                }}
              >
                <option value="">Choose…</option>
                <option value="none">No team</option>
                ${(teams ?? []).map((t) => html`<option value=${t.id}>${t.name}</option>`)}
              </select></label
            >
            <label class="filter"
              >Set priority
              <select
                id="bulk-priority"
                disabled=${busy}
                onChange=${(/** @type {any} */ e) => {
                  const v = e.currentTarget.value;
                  e.currentTarget.value = '';
                  if (v) run(`Priority ${label(v)}`, 'priority', { priority: v });
                }}
              >
                <option value="">Choose…</option>
                ${PRIORITIES.map((p) => html`<option value=${p}>${label(p)}</option>`)}
              </select></label
            >
            <form
              class="bulk-tag"
              onSubmit=${(/** @type {Event} */ e) => {
                e.preventDefault();
                const t = tag.trim().toLowerCase();
                if (!t) return setError('Type a tag to add.');
                run(`Tagged ${t}`, 'tags', { add: [t] });
                setTag('');
              }}
            >
              <label class="filter"
                >Add tag
                <input
                  id="bulk-tag"
                  list="bulk-tags"
                  value=${tag}
                  maxlength="50"
                  aria-invalid=${error ? 'true' : 'false'}
                  aria-describedby=${error ? 'bulk-error' : undefined}
                  onInput=${(/** @type {any} */ e) => setTag(e.currentTarget.value)}
              /></label>
              <datalist id="bulk-tags">${tags.map((t) => html`<option value=${t}></option>`)}</datalist>
              <button type="submit" disabled=${busy}>Add</button>
            </form>
            <button type="button" class="danger" disabled=${busy} onClick=${() => run('Closed', 'close', {})}>Close ${n}</button>
            <button type="button" disabled=${busy} onClick=${onClear}>Clear selection</button>
          </div>`
        : null
    }
    ${error ? html`<p class="error" id="bulk-error" role="alert">${error}</p>` : null}
    ${busy ? html`<p role="status">Working on ${n} ticket${n === 1 ? '' : 's'}…</p>` : null}
    ${
      outcomes
        ? html`<div role="status" class="bulk-results">
            <p>
              ${outcomes.what}: ${outcomes.list.length - failed.length} of ${outcomes.list.length} done${failed.length ? `, ${failed.length} failed (still selected)` : ''}.
            </p>
            <ul>
              ${outcomes.list.map(
                (o) =>
                  html`<li class=${o.ok ? 'ok' : 'error'}>#${o.number}: ${o.ok ? 'done' : `failed — ${o.error}`}</li>`,
              )}
            </ul>
          </div>`
        : null
    }
  </section>`;
}
