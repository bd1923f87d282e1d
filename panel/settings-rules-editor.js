// @ts-check
import { useState } from 'preact/hooks';
import { ApiError, api, describeError } from './api.js';
import { ErrorFor, invalid } from './forms.js';
import { html } from './html.js';

/**
 * A rule's form (a new one, or a listed one's edit) and the dry run, with the words for triggers
 * and waits and the API's refusals said under the field they concern; settings-rules.js lists
 * the rules and opens these.
 * @typedef {import('./settings-rules.js').Rule} Rule
 * @typedef {{ ticketId: string, number: number, matched: boolean, reason: string, actions: string[] }} DryResult
 */

/** The API's triggers in words (db/rule-defs.ts RULE_TRIGGERS). */
const TRIGGERS = /** @type {const} */ ([
  ['ticket.created', 'A ticket is opened'],
  ['ticket.updated', 'A ticket changes'],
  ['message.player', 'The player writes'],
  ['message.staff', 'Staff reply'],
  ['sla.warning', 'An SLA target is near'],
  ['sla.breach', 'An SLA target is breached'],
  ['player.reported', 'A player is reported'],
  ['ticket.waiting', 'A ticket has waited (time-based)'],
]);
export const triggerWords = (/** @type {string} */ t) => TRIGGERS.find(([k]) => k === t)?.[1] ?? t;
export const WAITS = /** @type {const} */ ([
  ['pending', 'pending (waiting on the player)'],
  ['player_reply', 'no player message'],
  ['staff_reply', "the player's last message unanswered"],
]);

/** Examples shown under the JSON fields: every kind the API takes is in db/rule-defs.ts and the API reference. */
const CONDITIONS_HINT =
  'A list, e.g. [{"kind": "sentiment", "in": ["negative"]}, {"kind": "text", "contains": ["crash"]}]. Kinds: status, priority, origin, category, team, game, assigned, tags, text, field, sentiment.';
const ACTIONS_HINT =
  'A list in the order they run, e.g. [{"type": "set_priority", "priority": "high"}]. Types: assign_member, assign_team, assign_in_team, set_priority, set_status, set_tags, set_category, note, canned_reply, close, notify, webhook.';

/**
 * A refusal as words under the field it concerns. The API's 422 names paths such as
 * `body.conditions.1.in`: conditions and actions are edited as one text each, so the entry's
 * number and key go into the sentence ("Condition 2, in: ...") instead of being lost.
 * @param {unknown} err
 * @param {string} fallback the control that acted
 * @returns {Record<string, string>}
 */
export function ruleErrors(err, fallback) {
  /** @type {Record<string, string>} */
  const out = {};
  const add = (/** @type {string} */ k, /** @type {string} */ m) => {
    out[k] = out[k] ? `${out[k]}; ${m}` : m;
  };
  if (err instanceof ApiError && err.status === 422 && Array.isArray(err.details)) {
    for (const d of /** @type {{ path?: string, message?: string }[]} */ (err.details)) {
      const [field = '', n, ...rest] = String(d.path ?? '')
        .replace(/^body\.?/, '')
        .split('.');
      const msg = d.message ?? err.message;
      if ((field === 'conditions' || field === 'actions') && n !== undefined && /^\d+$/.test(n)) {
        const what = field === 'conditions' ? 'Condition' : 'Action';
        add(field, `${what} ${Number(n) + 1}${rest.length ? `, ${rest.join('.')}` : ''}: ${msg}`);
      } else if (field === 'wait' && n) add('wait', `${n}: ${msg}`);
      else if (field === 'limit') add('limit', msg);
      else add(field || fallback, msg);
    }
    if (Object.keys(out).length) return out;
  }
  out[fallback] = describeError(err);
  return out;
}

/**
 * A rule's form: creates when `rule` is null, else sends the whole rule as a change. The JSON
 * fields are parsed here only to send them; what they may hold is the API's to say.
 * @param {{ base: string, rule: Rule | null, onSaved: () => Promise<void> }} props
 */
export function RuleEditor({ base, rule, onSaved }) {
  const p = rule ? rule.id.slice(0, 8) : 'newrule';
  const id = (/** @type {string} */ f) => `${f}-${p}`;
  const [v, setV] = useState({
    name: rule?.name ?? '',
    trigger: rule?.trigger ?? 'ticket.created',
    match: rule?.match ?? 'all',
    waitFor: rule?.wait?.for ?? 'pending',
    waitHours: String(rule?.wait?.hours ?? 48),
    conditions: JSON.stringify(rule?.conditions ?? [], null, 2),
    actions: JSON.stringify(rule?.actions ?? [{ type: 'set_priority', priority: 'high' }], null, 2),
    enabled: rule?.enabled ?? true,
  });
  const [errors, setErrors] = useState(/** @type {Record<string, string>} */ ({}));
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState('');
  /** @param {string} k */
  const set = (k) => (/** @type {any} */ e) =>
    setV({
      ...v,
      [k]: e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value,
    });

  /** The form as the API's rule definition, or the fields whose JSON does not parse. */
  const definition = () => {
    /** @type {Record<string, string>} */
    const bad = {};
    /** @param {'conditions' | 'actions'} k */
    const parse = (k) => {
      try {
        return JSON.parse(v[k] || '[]');
      } catch (err) {
        bad[k] = `This is not valid JSON: ${err instanceof Error ? err.message : String(err)}`;
        return undefined;
      }
    };
    const body = {
      name: v.name,
      trigger: v.trigger,
      match: v.match,
      conditions: parse('conditions'),
      actions: parse('actions'),
      enabled: v.enabled,
      wait: v.trigger === 'ticket.waiting' ? { for: v.waitFor, hours: Number(v.waitHours) } : null,
    };
    return { body, bad };
  };

  /** @param {Event} e */
  const save = async (e) => {
    e.preventDefault();
    setSaved('');
    const { body, bad } = definition();
    if (Object.keys(bad).length) return setErrors(bad);
    setErrors({});
    setBusy(true);
    try {
      if (rule) await api('PATCH', `${base}/${rule.id}`, body);
      else await api('POST', base, body);
      setSaved(rule ? 'Saved.' : '');
      await onSaved();
    } catch (err) {
      setErrors(ruleErrors(err, 'save'));
    } finally {
      setBusy(false);
    }
  };
  // Errors are keyed by field; the ids on the page carry this form's suffix.
  const errs = Object.fromEntries(Object.entries(errors).map(([k, m]) => [id(k), m]));
  /** @param {string} k @param {string} text @param {any} control @param {string} [hint] */
  const field = (k, text, control, hint) => html`<div class="field">
    <label for=${id(k)}>${text}</label>
    ${control}
    ${hint ? html`<p class="muted" id=${id(`${k}-hint`)}>${hint}</p>` : null}
    <${ErrorFor} id=${id(k)} errors=${errs} />
  </div>`;
  /** aria-describedby with the hint and, when there is one, the error. @param {string} k */
  const described = (k) => ({
    'aria-invalid': errs[id(k)] ? 'true' : 'false',
    'aria-describedby': [id(`${k}-hint`), errs[id(k)] ? `err-${id(k)}` : ''].filter(Boolean).join(' '),
  });

  return html`<form class="stack" onSubmit=${save} aria-label=${rule ? `Rule ${rule.name}` : 'New rule'}>
    <div class="row">
      ${field('name', 'Name', html`<input id=${id('name')} value=${v.name} onInput=${set('name')} ...${invalid(id('name'), errs)} />`)}
      ${field(
        'trigger',
        'When',
        html`<select id=${id('trigger')} value=${v.trigger} onChange=${set('trigger')} ...${invalid(id('trigger'), errs)}>
          ${TRIGGERS.map(([k, words]) => html`<option value=${k}>${words}</option>`)}
        </select>`,
      )}
      ${field(
        'match',
        'Conditions needed',
        html`<select id=${id('match')} value=${v.match} onChange=${set('match')}>
          <option value="all">All of them</option>
          <option value="any">Any one of them</option>
        </select>`,
      )}
      <label class="check"><input type="checkbox" checked=${v.enabled} onChange=${set('enabled')} /> Enabled</label>
    </div>
    ${
      v.trigger === 'ticket.waiting'
        ? html`<fieldset class="row">
            <legend>Waiting for</legend>
            ${field(
              'wait',
              'What',
              html`<select id=${id('wait')} value=${v.waitFor} onChange=${set('waitFor')} ...${invalid(id('wait'), errs)}>
                ${WAITS.map(([k, words]) => html`<option value=${k}>${words}</option>`)}
              </select>`,
            )}
            ${field(
              'waitHours',
              'Hours',
              html`<input id=${id('waitHours')} type="number" min="1" inputmode="numeric" value=${v.waitHours} onInput=${set('waitHours')} />`,
            )}
          </fieldset>`
        : null
    }
    ${field(
      'conditions',
      'Conditions (JSON)',
      html`<textarea id=${id('conditions')} class="code" rows="5" spellcheck="false" value=${v.conditions} onInput=${set('conditions')} ...${described('conditions')} />`,
      CONDITIONS_HINT,
    )}
    ${field(
      'actions',
      'Actions (JSON)',
      html`<textarea id=${id('actions')} class="code" rows="5" spellcheck="false" value=${v.actions} onInput=${set('actions')} ...${described('actions')} />`,
      ACTIONS_HINT,
    )}
    <div class="row">
      <button class="primary" disabled=${busy}>${rule ? 'Save' : 'Create rule'}</button>
    </div>
    <${ErrorFor} id=${id('save')} errors=${errs} />
    ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
    ${rule ? null : html`<${DryRun} base=${base} idp=${p} body=${() => ({ rule: definition().body })} />`}
  </form>`;
}

/**
 * What a rule would do on the last N tickets, as they are now (the API's dry run: it changes
 * nothing and logs nothing). For a new rule, the form as it stands, unsaved.
 * @param {{ base: string, idp: string, body: () => Record<string, unknown> }} props
 */
export function DryRun({ base, idp, body }) {
  const id = (/** @type {string} */ f) => `${f}-dry-${idp}`;
  const [limit, setLimit] = useState('20');
  const [results, setResults] = useState(/** @type {DryResult[] | null} */ (null));
  const [errors, setErrors] = useState(/** @type {Record<string, string>} */ ({}));
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setErrors({});
    setBusy(true);
    try {
      const r = await api('POST', `${base}/dry-run`, { ...body(), limit: Number(limit) });
      setResults(/** @type {{ results: DryResult[] }} */ (r).results);
    } catch (err) {
      setResults(null);
      const e = ruleErrors(err, 'run');
      // A draft's own field errors belong to the form above; here they are said in one line.
      setErrors({ [id('run')]: Object.values(e).join('; ') });
    } finally {
      setBusy(false);
    }
  };
  const matched = results?.filter((x) => x.matched).length ?? 0;
  return html`<div class="stack dry-run" role="group" aria-label="Dry run">
    <div class="row">
      <div class="field">
        <label for=${id('limit')}>Dry run on the last … tickets</label>
        <input id=${id('limit')} type="number" min="1" max="200" inputmode="numeric" value=${limit} onInput=${(/** @type {any} */ e) => setLimit(e.currentTarget.value)} />
      </div>
      <button type="button" disabled=${busy} onClick=${run}>Run the dry run</button>
    </div>
    <${ErrorFor} id=${id('run')} errors=${errors} />
    ${
      results
        ? html`<p role="status">Would match ${matched} of ${results.length} ticket${results.length === 1 ? '' : 's'}; nothing was changed.</p>
          ${
            results.length
              ? html`<div class="table-scroll"><table class="grid">
                  <caption class="visually-hidden">What the rule would have done</caption>
                  <thead><tr><th scope="col">Ticket</th><th scope="col">Matches</th><th scope="col">Why</th><th scope="col">Would do</th></tr></thead>
                  <tbody>
                    ${results.map(
                      (x) => html`<tr key=${x.ticketId} data-dry=${x.number}>
                        <td><a href=${`${base.replace(/\/v1\/orgs\//, '/o/').replace(/\/rules$/, '')}/t/${x.ticketId}`}>#${x.number}</a></td>
                        <td>${x.matched ? 'Yes' : 'No'}</td>
                        <td>${x.reason}</td>
                        <td>${x.actions.length ? x.actions.join('; ') : '—'}</td>
                      </tr>`,
                    )}
                  </tbody>
                </table></div>`
              : null
          }`
        : null
    }
  </div>`;
}
