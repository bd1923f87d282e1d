// @ts-check
import { useState } from 'preact/hooks';
import { ApiError, api, describeError } from './api.js';
import { ConfirmButton, ErrorFor, invalid, useLoad } from './forms.js';
import { html } from './html.js';
import { ago } from './labels.js';

/**
 * @typedef {{ for: 'pending' | 'player_reply' | 'staff_reply', hours: number }} Wait
 * @typedef {{ id: string, name: string, trigger: string, match: 'all' | 'any', conditions: Record<string, unknown>[],
 *   actions: Record<string, unknown>[], wait: Wait | null, position: number, enabled: boolean }} Rule
 * @typedef {{ ticketId: string, number: number, matched: boolean, reason: string, actions: string[] }} DryResult
 * @typedef {{ id: number, ticketId: string, ticketNumber: number, ruleId: string | null, ruleName: string, trigger: string, depth: number,
 *   outcome: string, reason: string | null, actions: string[], createdAt: string }} Run
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
const triggerWords = (/** @type {string} */ t) => TRIGGERS.find(([k]) => k === t)?.[1] ?? t;
const WAITS = /** @type {const} */ ([
  ['pending', 'pending (waiting on the player)'],
  ['player_reply', 'no player message'],
  ['staff_reply', "the player's last message unanswered"],
]);
const OUTCOMES = /** @type {Record<string, string>} */ ({
  applied: 'Applied',
  not_matched: 'Did not match',
  skipped: 'Skipped',
  failed: 'Failed',
});

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

/**
 * A rule's form: creates when `rule` is null, else sends the whole rule as a change. The JSON
 * fields are parsed here only to send them; what they may hold is the API's to say.
 * @param {{ base: string, rule: Rule | null, onSaved: () => Promise<void> }} props
 */
function RuleEditor({ base, rule, onSaved }) {
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
function DryRun({ base, idp, body }) {
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

/**
 * The run log, newest first: each rule considered for an event on a ticket, what it did or why
 * not. Filtered by rule; older pages on demand (the API's `before`).
 * @param {{ base: string, orgId: string, rules: Rule[] }} props
 */
function RunLog({ base, orgId, rules }) {
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
