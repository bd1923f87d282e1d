// @ts-check
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { ConfirmButton, ErrorFor, invalid, useForm, useLoad } from './forms.js';
import { html } from './html.js';
import { label, PRIORITIES } from './labels.js';
import { CalendarEditor, DefaultCalendar } from './settings-sla-calendars.js';

/**
 * @typedef {{ id: string, name: string, priority: string | null, categoryId: string | null, teamId: string | null, firstResponseMinutes: number | null, nextResponseMinutes: number | null, resolutionMinutes: number | null, businessCalendarId: string | null, warnBeforeMinutes: number | null, escalatePriority: boolean, escalationTeamId: string | null, position: number, enabled: boolean }} Policy
 * @typedef {Partial<Record<string, [number, number][]>>} WeeklyHours
 * @typedef {{ id: string, name: string, timezone: string, weeklyHours: WeeklyHours, holidays: string[] }} Calendar
 * @typedef {{ id: string, name: string }} Named
 * @typedef {{ teams: Named[], categories: Named[], calendars: Calendar[] }} Choices
 */

/** A minutes field's text as the API's number or null. @param {string} v */
const minutesOrNull = (v) => (v.trim() === '' ? null : Number(v));

/**
 * SLA policies (response and resolution targets by priority, category or team) and the business
 * calendars their clocks count in. Shown to `sla.manage`.
 * @param {import('./settings.js').SectionProps} props
 */
export function SlaSettings({ org }) {
  const base = `/v1/orgs/${org.id}`;
  const policies = useLoad(
    async () => /** @type {{ policies: Policy[] }} */ (await api('GET', `${base}/sla/policies`)).policies,
    [base],
  );
  const choices = useLoad(async () => {
    const [t, c, cal, def] = await Promise.all([
      api('GET', `${base}/teams`),
      api('GET', `${base}/categories`),
      api('GET', `${base}/sla/calendars`),
      api('GET', `${base}/sla/default-calendar`),
    ]);
    return {
      teams: /** @type {Named[]} */ (t.teams),
      categories: /** @type {Named[]} */ (c.categories),
      calendars: /** @type {Calendar[]} */ (cal.calendars),
      defaultCalendarId: /** @type {string | null} */ (def.calendarId),
    };
  }, [base]);
  const [freshPolicy, setFreshPolicy] = useState(0);
  const [freshCal, setFreshCal] = useState(0);
  const c = choices.data;

  return html`<section aria-labelledby="sla-h">
      <h1 id="sla-h">SLA policies</h1>
      <p class="muted">
        The first enabled policy that matches a ticket (lowest position first) sets its response and resolution targets, in
        minutes of the calendar's working time.
      </p>
      ${policies.error ? html`<p class="error" role="alert">The policies could not be loaded: ${policies.error}</p>` : null}
      ${choices.error ? html`<p class="error" role="alert">${choices.error}</p>` : null}
      ${
        policies.data && c
          ? html`${
              policies.data.length
                ? html`<ul class="cards">
                    ${policies.data.map(
                      (p) => html`<li key=${p.id} class="card" data-policy=${p.id}>
                        <${PolicyEditor} base=${base} policy=${p} choices=${c} onSaved=${policies.reload} />
                      </li>`,
                    )}
                  </ul>`
                : html`<p class="muted">No SLA policies yet.</p>`
            }
            <h2 id="sla-new-h">New policy</h2>
            <div class="card">
              <${PolicyEditor}
                key=${freshPolicy}
                base=${base}
                policy=${null}
                choices=${c}
                onSaved=${async () => {
                  setFreshPolicy((n) => n + 1);
                  await policies.reload();
                }}
              />
            </div>`
          : html`<p role="status">Loading…</p>`
      }
    </section>
    <section aria-labelledby="cal-h">
      <h2 id="cal-h">Business calendars</h2>
      ${
        c
          ? html`<${DefaultCalendar} base=${base} calendars=${c.calendars} current=${c.defaultCalendarId} onSaved=${choices.reload} />
            ${
              c.calendars.length
                ? html`<ul class="cards">
                    ${c.calendars.map(
                      (cal) => html`<li key=${cal.id} class="card" data-calendar=${cal.id}>
                        <${CalendarEditor} base=${base} calendar=${cal} onSaved=${choices.reload} />
                      </li>`,
                    )}
                  </ul>`
                : html`<p class="muted">No calendars: targets count around the clock.</p>`
            }
            <h3 class="small-h">New calendar</h3>
            <div class="card">
              <${CalendarEditor}
                key=${freshCal}
                base=${base}
                calendar=${null}
                onSaved=${async () => {
                  setFreshCal((n) => n + 1);
                  await choices.reload();
                }}
              />
            </div>`
          : null
      }
    </section>`;
}

/**
 * One policy: creates when `policy` is null; saving sends the whole policy (the API's PUT).
 * @param {{ base: string, policy: Policy | null, choices: Choices, onSaved: () => Promise<void> }} props
 */
function PolicyEditor({ base, policy, choices, onSaved }) {
  const p = policy ? policy.id.slice(0, 8) : 'newpol';
  const id = (/** @type {string} */ f) => `${f}-${p}`;
  const form = useForm(id('save'));
  const str = (/** @type {number | null | undefined} */ n) => (n == null ? '' : String(n));
  const [v, setV] = useState({
    name: policy?.name ?? '',
    priority: policy?.priority ?? '',
    categoryId: policy?.categoryId ?? '',
    teamId: policy?.teamId ?? '',
    firstResponseMinutes: str(policy?.firstResponseMinutes),
    nextResponseMinutes: str(policy?.nextResponseMinutes),
    resolutionMinutes: str(policy?.resolutionMinutes),
    businessCalendarId: policy?.businessCalendarId ?? '',
    warnBeforeMinutes: str(policy?.warnBeforeMinutes),
    escalatePriority: policy?.escalatePriority ?? false,
    escalationTeamId: policy?.escalationTeamId ?? '',
    position: str(policy?.position ?? 0),
    enabled: policy?.enabled ?? true,
  });
  const [saved, setSaved] = useState('');
  /** @param {string} k */
  const set = (k) => (/** @type {any} */ e) =>
    setV({
      ...v,
      [k]: e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value,
    });

  /** @param {Event} e */
  const save = async (e) => {
    e.preventDefault();
    setSaved('');
    const body = {
      name: v.name,
      priority: v.priority || null,
      categoryId: v.categoryId || null,
      teamId: v.teamId || null,
      firstResponseMinutes: minutesOrNull(v.firstResponseMinutes),
      nextResponseMinutes: minutesOrNull(v.nextResponseMinutes),
      resolutionMinutes: minutesOrNull(v.resolutionMinutes),
      businessCalendarId: v.businessCalendarId || null,
      warnBeforeMinutes: minutesOrNull(v.warnBeforeMinutes),
      escalatePriority: v.escalatePriority,
      escalationTeamId: v.escalationTeamId || null,
      position: Number(v.position || 0),
      enabled: v.enabled,
    };
    const ok = await form.run(id('save'), async () => {
      if (policy) await api('PUT', `${base}/sla/policies/${policy.id}`, body);
      else await api('POST', `${base}/sla/policies`, body);
    });
    if (ok) {
      setSaved(policy ? 'Saved.' : '');
      await onSaved();
    }
  };
  const del = async () => {
    if (policy && (await form.run(id('delete'), () => api('DELETE', `${base}/sla/policies/${policy.id}`))))
      await onSaved();
  };
  // A refine on the whole body ("set at least one target") has an empty path: it lands on save.
  const errors = Object.fromEntries(
    Object.entries(form.errors).map(([k, v]) => [k.endsWith(p) ? k : id(k), v]),
  );
  /** @param {string} k @param {string} text @param {any} control */
  const field = (k, text, control) => html`<div class="field">
    <label for=${id(k)}>${text}</label>
    ${control}
    <${ErrorFor} id=${id(k)} errors=${errors} />
  </div>`;
  /** @param {string} k @param {Named[]} list @param {string} none */
  const pick = (
    k,
    list,
    none,
  ) => html`<select id=${id(k)} value=${/** @type {any} */ (v)[k]} onChange=${set(k)} ...${invalid(id(k), errors)}>
    <option value="">${none}</option>
    ${list.map((x) => html`<option value=${x.id}>${x.name}</option>`)}
  </select>`;
  /** @param {string} k */
  const minutes = (k) =>
    html`<input id=${id(k)} type="number" min="1" inputmode="numeric" value=${/** @type {any} */ (v)[k]} onInput=${set(k)} ...${invalid(id(k), errors)} />`;
  const title = policy ? policy.name : 'new policy';

  return html`<form class="stack" onSubmit=${save} aria-label=${policy ? `Policy ${policy.name}` : 'New policy'}>
    <div class="row">
      ${field('name', 'Name', html`<input id=${id('name')} value=${v.name} onInput=${set('name')} ...${invalid(id('name'), errors)} />`)}
      ${field('position', 'Position', html`<input id=${id('position')} type="number" min="0" value=${v.position} onInput=${set('position')} ...${invalid(id('position'), errors)} />`)}
      <label class="check"><input type="checkbox" checked=${v.enabled} onChange=${set('enabled')} /> Enabled</label>
    </div>
    <fieldset class="row">
      <legend>Applies to</legend>
      ${field(
        'priority',
        'Priority',
        html`<select id=${id('priority')} value=${v.priority} onChange=${set('priority')} ...${invalid(id('priority'), errors)}>
          <option value="">Any priority</option>
          ${PRIORITIES.map((x) => html`<option value=${x}>${label(x)}</option>`)}
        </select>`,
      )}
      ${field('categoryId', 'Category', pick('categoryId', choices.categories, 'Any category'))}
      ${field('teamId', 'Team', pick('teamId', choices.teams, 'Any team'))}
    </fieldset>
    <fieldset class="row">
      <legend>Targets (minutes; leave empty for none)</legend>
      ${field('firstResponseMinutes', 'First response', minutes('firstResponseMinutes'))}
      ${field('nextResponseMinutes', 'Next response', minutes('nextResponseMinutes'))}
      ${field('resolutionMinutes', 'Resolution', minutes('resolutionMinutes'))}
      ${field('warnBeforeMinutes', 'Warn before breach', minutes('warnBeforeMinutes'))}
      ${field('businessCalendarId', 'Calendar', pick('businessCalendarId', choices.calendars, 'The default calendar'))}
    </fieldset>
    <fieldset class="row">
      <legend>On breach</legend>
      <label class="check"><input type="checkbox" checked=${v.escalatePriority} onChange=${set('escalatePriority')} /> Raise the priority one step</label>
      ${field('escalationTeamId', 'Move to team', pick('escalationTeamId', choices.teams, 'Keep the team'))}
    </fieldset>
    <div class="row">
      <button class="primary" disabled=${form.busy === id('save')}>${policy ? 'Save' : 'Create policy'}</button>
      ${policy ? html`<${ConfirmButton} label="Delete" name=${`Delete ${title}`} confirm=${`Delete ${title}`} onConfirm=${del} />` : null}
    </div>
    <${ErrorFor} id=${id('save')} errors=${errors} />
    <${ErrorFor} id=${id('delete')} errors=${errors} />
    ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
  </form>`;
}
