// @ts-check
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { ConfirmButton, ErrorFor, invalid, useForm, useLoad } from './forms.js';
import { html } from './html.js';

/**
 * @typedef {{ id: string, target: string, days: number, action: 'purge' | 'anonymise' }} Policy
 */

/** What each target holds (db/retention.ts RETENTION_TARGETS). */
const TARGETS = /** @type {const} */ ([
  ['tickets', 'Closed tickets'],
  ['messages', 'Ticket messages'],
  ['audit_logs', 'Audit log entries'],
  ['player_sessions', 'Player play sessions'],
  ['attachments', 'Attachments'],
]);

/** The shortest audit log policy the API accepts (db/retention.ts AUDIT_LOG_MIN_DAYS). */
const AUDIT_LOG_MIN_DAYS = 365;

/**
 * Retention: for each kind of data, how many days it is kept and whether it is then deleted or
 * anonymised; without a policy it is kept for ever. Shown to `retention.manage`.
 * @param {import('./settings.js').SectionProps} props
 */
export function RetentionSettings({ org }) {
  const base = `/v1/orgs/${org.id}/retention-policies`;
  const policies = useLoad(
    async () => /** @type {{ policies: Policy[] }} */ (await api('GET', base)).policies,
    [base],
  );
  return html`<section aria-labelledby="ret-h">
    <h1 id="ret-h">Retention</h1>
    <p class="muted">How long each kind of data is kept. Without a policy it is kept for ever.</p>
    ${policies.error ? html`<p class="error" role="alert">The policies could not be loaded: ${policies.error}</p>` : null}
    ${
      policies.data
        ? html`<ul class="cards">
            ${TARGETS.map(
              ([t, title]) =>
                html`<li key=${t} class="card" data-target=${t}>
                  <${TargetPolicy}
                    base=${base}
                    target=${t}
                    title=${title}
                    policy=${policies.data?.find((x) => x.target === t) ?? null}
                    onSaved=${policies.reload}
                  />
                </li>`,
            )}
          </ul>`
        : html`<p role="status">Loading…</p>`
    }
  </section>`;
}

/**
 * One target's policy: days and action, saved (PUT replaces it) or removed.
 * @param {{ base: string, target: string, title: string, policy: Policy | null, onSaved: () => Promise<void> }} props
 */
function TargetPolicy({ base, target, title, policy, onSaved }) {
  const id = (/** @type {string} */ f) => `${f}-${target}`;
  const form = useForm(id('save'));
  const [days, setDays] = useState(policy ? String(policy.days) : '');
  const [action, setAction] = useState(policy?.action ?? (target === 'audit_logs' ? 'purge' : 'anonymise'));
  const [saved, setSaved] = useState('');

  /** @param {Event} e */
  const save = async (e) => {
    e.preventDefault();
    setSaved('');
    const ok = await form.run(id('save'), () =>
      api('PUT', `${base}/${target}`, { days: days.trim() === '' ? null : Number(days), action }),
    );
    if (ok) {
      setSaved('Saved.');
      await onSaved();
    }
  };
  const remove = async () => {
    setSaved('');
    if (await form.run(id('remove'), () => api('DELETE', `${base}/${target}`))) {
      setDays('');
      setSaved('Removed: kept for ever.');
      await onSaved();
    }
  };
  const errors = Object.fromEntries(
    Object.entries(form.errors).map(([k, v]) => [k.endsWith(target) ? k : id(k), v]),
  );

  return html`<form class="stack" onSubmit=${save} aria-label=${title}>
    <h2 class="small-h">${title}</h2>
    <p class="muted">${policy ? `Now: ${policy.action === 'purge' ? 'deleted' : 'anonymised'} after ${policy.days} days.` : 'Now: kept for ever.'}</p>
    ${target === 'audit_logs' ? html`<p class="muted">Only an owner can change this, and entries are kept at least ${AUDIT_LOG_MIN_DAYS} days: the log is the record of what staff and tokens did.</p>` : null}
    <div class="row">
      <div class="field">
        <label for=${id('days')}>Keep for (days)</label>
        <input id=${id('days')} type="number" min=${target === 'audit_logs' ? AUDIT_LOG_MIN_DAYS : 1} inputmode="numeric" value=${days} onInput=${(/** @type {any} */ e) => setDays(e.currentTarget.value)} ...${invalid(id('days'), errors)} />
        <${ErrorFor} id=${id('days')} errors=${errors} />
      </div>
      <div class="field">
        <label for=${id('action')}>Then</label>
        <select id=${id('action')} value=${action} onChange=${(/** @type {any} */ e) => setAction(e.currentTarget.value)} ...${invalid(id('action'), errors)}>
          <option value="anonymise">Anonymise</option>
          <option value="purge">Delete</option>
        </select>
        <${ErrorFor} id=${id('action')} errors=${errors} />
      </div>
    </div>
    <div class="row">
      <button class="primary" disabled=${form.busy === id('save')}>Save</button>
      ${policy ? html`<${ConfirmButton} label="Keep for ever" name=${`Remove the policy for ${title}`} confirm="Remove the policy" onConfirm=${remove} />` : null}
    </div>
    <${ErrorFor} id=${id('save')} errors=${errors} />
    <${ErrorFor} id=${id('remove')} errors=${errors} />
    ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
  </form>`;
}
