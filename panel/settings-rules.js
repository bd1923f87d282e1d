// @ts-check
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { ConfirmButton, ErrorFor, useLoad } from './forms.js';
import { html } from './html.js';
import { DryRun, RuleEditor, ruleErrors, triggerWords, WAITS } from './settings-rules-editor.js';
import { RunLog } from './settings-rules-log.js';

/**
 * @typedef {{ for: 'pending' | 'player_reply' | 'staff_reply', hours: number }} Wait
 * @typedef {{ id: string, name: string, trigger: string, match: 'all' | 'any', conditions: Record<string, unknown>[],
 *   actions: Record<string, unknown>[], wait: Wait | null, position: number, enabled: boolean }} Rule
 */

/**
 * Automation rules (`rules.manage`): the list in the order they run, each with enable, move up
 * and down, edit, dry run and delete; a new rule's form; the run log. Conditions and actions are
 * JSON the API validates, so every kind the API knows can be written here the day it exists.
 * @param {import('./settings.js').SectionProps} props
 */
export function RulesSettings({ org }) {
  const base = `/v1/orgs/${org.id}/rules`;
  const rules = useLoad(async () => /** @type {{ rules: Rule[] }} */ (await api('GET', base)).rules, [base]);
  const [fresh, setFresh] = useState(0);
  const [logKey, setLogKey] = useState(0);
  const [listErrors, setListErrors] = useState(/** @type {Record<string, string>} */ ({}));
  const [moved, setMoved] = useState('');
  // The box as clicked while its change is on the way: re-renders meanwhile (busy, errors) would
  // otherwise put the saved state back under the pointer. A refusal drops it, and the box goes back.
  const [pending, setPending] = useState(/** @type {Record<string, boolean>} */ ({}));

  /** @param {string} id @param {() => Promise<void>} fn */
  const act = async (id, fn) => {
    setListErrors({});
    try {
      await fn();
      await rules.reload();
    } catch (err) {
      setListErrors(ruleErrors(err, id));
    }
  };
  /** @param {Rule[]} list @param {number} i @param {-1 | 1} by */
  const move = async (list, i, by) => {
    const ids = list.map((r) => r.id);
    const [r] = ids.splice(i, 1);
    ids.splice(i + by, 0, /** @type {string} */ (r));
    const rule = /** @type {Rule} */ (list[i]);
    await act(`move-${rule.id}`, async () => {
      await api('PUT', `${base}/order`, { ruleIds: ids });
      setMoved(`${rule.name} is now number ${i + by + 1}.`);
    });
    // Focus follows the rule to its new place (once it is drawn there), so the keyboard can keep
    // moving it; at the top or bottom the other direction's button takes it.
    setTimeout(() => {
      const card = `[data-rule="${rule.id}"]`;
      const btn = /** @type {HTMLElement | null} */ (
        document.querySelector(`${card} .move-${by < 0 ? 'up' : 'down'}:not([disabled])`) ??
          document.querySelector(`${card} .move-${by < 0 ? 'down' : 'up'}`)
      );
      btn?.focus();
    }, 0);
  };

  return html`<section aria-labelledby="rules-h">
      <h1 id="rules-h">Automation rules</h1>
      <p class="muted">
        Rules run in this order on each event of a ticket; a later rule sees what an earlier one changed. A rule never
        runs again on its own change, and a chain of rules stops after three steps.
      </p>
      ${rules.error ? html`<p class="error" role="alert">The rules could not be loaded: ${rules.error}</p>` : null}
      <p class="visually-hidden" role="status">${moved}</p>
      ${
        rules.data
          ? rules.data.length
            ? html`<ol class="cards rules-list">
                ${rules.data.map(
                  (r, i, list) => html`<li key=${r.id} class="card" data-rule=${r.id}>
                    <${RuleCard}
                      base=${base}
                      rule=${r}
                      index=${i}
                      count=${list.length}
                      errors=${listErrors}
                      onMove=${(/** @type {-1 | 1} */ by) => move(list, i, by)}
                      enabled=${pending[r.id] ?? r.enabled}
                      onEnable=${async (/** @type {boolean} */ on) => {
                        setPending({ ...pending, [r.id]: on });
                        await act(`enable-${r.id}`, () => api('PATCH', `${base}/${r.id}`, { enabled: on }));
                        setPending((p) => {
                          const { [r.id]: _, ...rest } = p;
                          return rest;
                        });
                      }}
                      onDelete=${() => act(`delete-${r.id}`, () => api('DELETE', `${base}/${r.id}`))}
                      onSaved=${async () => {
                        await rules.reload();
                        setLogKey((n) => n + 1);
                      }}
                    />
                  </li>`,
                )}
              </ol>`
            : html`<p class="muted">No rules yet.</p>`
          : html`<p role="status">Loading…</p>`
      }
      <h2 id="rule-new-h">New rule</h2>
      <div class="card">
        <${RuleEditor}
          key=${fresh}
          base=${base}
          rule=${null}
          onSaved=${async () => {
            setFresh((n) => n + 1);
            await rules.reload();
          }}
        />
      </div>
    </section>
    <${RunLog} key=${logKey} base=${base} orgId=${org.id} rules=${rules.data ?? []} />`;
}

/**
 * One rule in the list: what it does in a line, and its controls. Edit and dry run open in place.
 * @param {{ base: string, rule: Rule, index: number, count: number, errors: Record<string, string>, enabled: boolean,
 *   onMove: (by: -1 | 1) => void, onEnable: (on: boolean) => void, onDelete: () => void, onSaved: () => Promise<void> }} props
 */
function RuleCard({ base, rule, index, count, errors, enabled, onMove, onEnable, onDelete, onSaved }) {
  const [open, setOpen] = useState(/** @type {'' | 'edit' | 'dry'} */ (''));
  const r = rule;
  const short = r.id.slice(0, 8);
  return html`<div class="stack">
    <div class="row rule-head">
      <h3 class="small-h" id=${`rule-${short}`}><span class="rule-pos">${index + 1}.</span> ${r.name}</h3>
      ${r.enabled ? null : html`<span class="badge">Disabled</span>`}
    </div>
    <p class="muted">
      When: ${triggerWords(r.trigger)}${r.wait ? ` for ${r.wait.hours} h (${WAITS.find(([k]) => k === r.wait?.for)?.[1]})` : ''}.
      ${r.conditions.length ? ` If ${r.match === 'all' ? 'all' : 'any'} of ${r.conditions.length} condition${r.conditions.length > 1 ? 's' : ''}.` : ' Always.'}
      ${` Then ${r.actions.map((a) => String(a.type).replaceAll('_', ' ')).join(', ')}.`}
    </p>
    <div class="row">
      <label class="check">
        <input
          type="checkbox"
          checked=${enabled}
          aria-describedby=${`rule-${short}`}
          onChange=${(/** @type {any} */ e) => onEnable(e.currentTarget.checked)}
        />
        Enabled
      </label>
      <button type="button" class="move-up" aria-label=${`Move ${r.name} up`} disabled=${index === 0} onClick=${() => onMove(-1)}>
        Move up
      </button>
      <button type="button" class="move-down" aria-label=${`Move ${r.name} down`} disabled=${index === count - 1} onClick=${() => onMove(1)}>
        Move down
      </button>
      <button type="button" aria-expanded=${open === 'edit'} aria-label=${`Edit ${r.name}`} onClick=${() => setOpen(open === 'edit' ? '' : 'edit')}>
        Edit
      </button>
      <button type="button" aria-expanded=${open === 'dry'} aria-label=${`Dry run ${r.name}`} onClick=${() => setOpen(open === 'dry' ? '' : 'dry')}>
        Dry run
      </button>
      <${ConfirmButton} label="Delete" name=${`Delete ${r.name}`} confirm=${`Delete ${r.name}`} onConfirm=${onDelete} />
    </div>
    <${ErrorFor} id=${`enable-${r.id}`} errors=${errors} />
    <${ErrorFor} id=${`move-${r.id}`} errors=${errors} />
    <${ErrorFor} id=${`delete-${r.id}`} errors=${errors} />
    ${open === 'edit' ? html`<${RuleEditor} base=${base} rule=${r} onSaved=${onSaved} />` : null}
    ${open === 'dry' ? html`<${DryRun} base=${base} idp=${short} body=${() => ({ ruleId: r.id })} />` : null}
  </div>`;
}
