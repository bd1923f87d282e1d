// @ts-check
import { useState } from 'preact/hooks';
import { api, describeError } from './api.js';
import { useLoad } from './forms.js';
import { html } from './html.js';
import { ago } from './labels.js';
import { triggerWords } from './settings-rules-editor.js';

/**
 * The rules' run log, under the rules on the settings page.
 * @typedef {import('./settings-rules.js').Rule} Rule
 * @typedef {{ id: number, ticketId: string, ticketNumber: number, ruleId: string | null, ruleName: string, trigger: string, depth: number,
 *   outcome: string, reason: string | null, actions: string[], createdAt: string }} Run
 */

const OUTCOMES = /** @type {Record<string, string>} */ ({
  applied: 'Applied',
  not_matched: 'Did not match',
  skipped: 'Skipped',
  failed: 'Failed',
});

/**
 * The run log, newest first: each rule considered for an event on a ticket, what it did or why
 * not. Filtered by rule; older pages on demand (the API's `before`).
 * @param {{ base: string, orgId: string, rules: Rule[] }} props
 */
export function RunLog({ base, orgId, rules }) {
  const [ruleId, setRuleId] = useState('');
  const [older, setOlder] = useState(/** @type {Run[]} */ ([]));
  const [more, setMore] = useState('');
  /** @param {number} [before] */
  const q = (before) =>
    `${base}/runs?limit=50${ruleId ? `&ruleId=${ruleId}` : ''}${before ? `&before=${before}` : ''}`;
  const first = useLoad(async () => {
    setOlder([]);
    return /** @type {{ runs: Run[] }} */ (await api('GET', q())).runs;
  }, [base, ruleId]);
  const runs = [...(first.data ?? []), ...older];
  const loadOlder = async () => {
    const last = runs[runs.length - 1];
    if (!last) return;
    setMore('');
    try {
      const r = /** @type {{ runs: Run[] }} */ (await api('GET', q(last.id))).runs;
      // A stretch of rules that did not run shares its row's id: the next page starts below it.
      setOlder([...older, ...r]);
      if (!r.length) setMore('No older entries.');
    } catch (err) {
      setMore(describeError(err));
    }
  };
  return html`<section aria-labelledby="runs-h">
    <h2 id="runs-h">Run log</h2>
    <div class="row">
      <div class="field">
        <label for="runs-rule">Rule</label>
        <select id="runs-rule" value=${ruleId} onChange=${(/** @type {any} */ e) => setRuleId(e.currentTarget.value)}>
          <option value="">All rules</option>
          ${rules.map((r) => html`<option value=${r.id}>${r.name}</option>`)}
        </select>
      </div>
      <button type="button" onClick=${() => first.reload()}>Refresh</button>
    </div>
    ${first.error ? html`<p class="error" role="alert">The run log could not be loaded: ${first.error}</p>` : null}
    ${
      first.data === null
        ? html`<p role="status">Loading…</p>`
        : runs.length
          ? html`<div class="table-scroll"><table class="grid runs">
              <caption class="visually-hidden">Rule runs, newest first</caption>
              <thead><tr><th scope="col">When</th><th scope="col">Ticket</th><th scope="col">Rule</th><th scope="col">Event</th><th scope="col">Outcome</th><th scope="col">Why</th><th scope="col">Did</th></tr></thead>
              <tbody>
                ${runs.map(
                  (x, i) => html`<tr key=${`${x.id}-${i}`} data-run=${x.outcome}>
                    <td><time datetime=${x.createdAt}>${ago(x.createdAt)}</time></td>
                    <td><a href=${`/o/${orgId}/t/${x.ticketId}`}>#${x.ticketNumber}</a></td>
                    <td>${x.ruleName}${x.ruleId ? '' : ' (deleted)'}</td>
                    <td>${triggerWords(x.trigger)}${x.depth > 1 ? ` (chain step ${x.depth})` : ''}</td>
                    <td>${OUTCOMES[x.outcome] ?? x.outcome}</td>
                    <td>${x.reason ?? ''}</td>
                    <td>${x.actions.length ? x.actions.join('; ') : '—'}</td>
                  </tr>`,
                )}
              </tbody>
            </table></div>
            <button type="button" onClick=${loadOlder}>Older entries</button>
            ${more ? html`<p role="status">${more}</p>` : null}`
          : html`<p class="muted">No rule has run yet.</p>`
    }
  </section>`;
}
