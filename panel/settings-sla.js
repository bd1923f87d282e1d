// @ts-check
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { ConfirmButton, ErrorFor, invalid, useForm, useLoad } from './forms.js';
import { html } from './html.js';
import { label, PRIORITIES } from './labels.js';

/**
 * @typedef {{ id: string, name: string, priority: string | null, categoryId: string | null, teamId: string | null, firstResponseMinutes: number | null, nextResponseMinutes: number | null, resolutionMinutes: number | null, businessCalendarId: string | null, warnBeforeMinutes: number | null, escalatePriority: boolean, escalationTeamId: string | null, position: number, enabled: boolean }} Policy
 * @typedef {Partial<Record<string, [number, number][]>>} WeeklyHours
 * @typedef {{ id: string, name: string, timezone: string, weeklyHours: WeeklyHours, holidays: string[] }} Calendar
 * @typedef {{ id: string, name: string }} Named
 * @typedef {{ teams: Named[], categories: Named[], calendars: Calendar[] }} Choices
 */

const DAYS = /** @type {const} */ ([
  ['mon', 'Monday'],
  ['tue', 'Tuesday'],
  ['wed', 'Wednesday'],
  ['thu', 'Thursday'],
  ['fri', 'Friday'],
  ['sat', 'Saturday'],
  ['sun', 'Sunday'],
]);

/** 540 → "09:00". @param {number} m */
const hhmm = (m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

/** A day's ranges as typed: "09:00-12:00, 13:00-18:00". @param {[number, number][] | undefined} ranges */
export const formatRanges = (ranges) => (ranges ?? []).map(([s, e]) => `${hhmm(s)}-${hhmm(e)}`).join(', ');

/**
 * "09:00-12:00, 13:00-18:00" → [[540, 720], [780, 1080]]; empty → no hours that day. Throws a
 * sentence naming what is wrong, shown under the day's field; the API checks overlaps and order.
 * @param {string} text
 * @returns {[number, number][]}
 */
export function parseRanges(text) {
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return parts.map((part) => {
    const m = part.match(/^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/);
    if (!m) throw new Error(`"${part}" is not a range like 09:00-17:00`);
    const start = Number(m[1]) * 60 + Number(m[2]);
    const end = Number(m[3]) * 60 + Number(m[4]);
    if (Number(m[2]) > 59 || Number(m[4]) > 59 || start > 1440 || end > 1440)
      throw new Error(`"${part}" is not a time of day`);
    return /** @type {[number, number]} */ ([start, end]);
  });
}

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
 * The calendar for policies that name none.
 * @param {{ base: string, calendars: Calendar[], current: string | null, onSaved: () => Promise<void> }} props
 */
function DefaultCalendar({ base, calendars, current, onSaved }) {
  const form = useForm('default-cal');
  const [saved, setSaved] = useState('');
  /** @param {string} v */
  const change = async (v) => {
    setSaved('');
    if (
      await form.run('default-cal', () =>
        api('PUT', `${base}/sla/default-calendar`, { calendarId: v || null }),
      )
    )
      setSaved('Saved.');
    await onSaved();
  };
  return html`<div class="field">
    <label for="default-cal">Default calendar <span class="muted">(for policies without their own)</span></label>
    <select id="default-cal" value=${current ?? ''} onChange=${(/** @type {any} */ e) => change(e.currentTarget.value)} ...${invalid('default-cal', form.errors)}>
      <option value="">Around the clock</option>
      ${calendars.map((cal) => html`<option value=${cal.id}>${cal.name}</option>`)}
    </select>
    <${ErrorFor} id="default-cal" errors=${form.errors} />
    ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
  </div>`;
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

/**
 * One business calendar: time zone, working hours per weekday (several ranges a day allowed,
 * typed as "09:00-12:00, 13:00-18:00") and holidays.
 * @param {{ base: string, calendar: Calendar | null, onSaved: () => Promise<void> }} props
 */
function CalendarEditor({ base, calendar, onSaved }) {
  const p = calendar ? calendar.id.slice(0, 8) : 'newcal';
  const id = (/** @type {string} */ f) => `${f}-${p}`;
  const form = useForm(id('save'));
  const [name, setName] = useState(calendar?.name ?? '');
  const [timezone, setTimezone] = useState(
    calendar?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC',
  );
  const [days, setDays] = useState(
    /** @type {Record<string, string>} */ (
      Object.fromEntries(
        DAYS.map(([d]) => [
          d,
          calendar ? formatRanges(calendar.weeklyHours[d]) : ['sat', 'sun'].includes(d) ? '' : '09:00-17:00',
        ]),
      )
    ),
  );
  const [holidays, setHolidays] = useState((calendar?.holidays ?? []).join(', '));
  const [saved, setSaved] = useState('');

  /** @param {Event} e */
  const save = async (e) => {
    e.preventDefault();
    setSaved('');
    /** @type {Record<string, string>} */
    const bad = {};
    /** @type {WeeklyHours} */
    const weeklyHours = {};
    for (const [d] of DAYS) {
      try {
        const ranges = parseRanges(days[d] ?? '');
        if (ranges.length) weeklyHours[d] = ranges;
      } catch (err) {
        bad[id(`day-${d}`)] = /** @type {Error} */ (err).message;
      }
    }
    if (Object.keys(bad).length) {
      form.setErrors(bad);
      return;
    }
    const body = {
      name,
      timezone,
      weeklyHours,
      holidays: holidays
        .split(/[\s,]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    };
    const ok = await form.run(id('save'), async () => {
      if (calendar) await api('PATCH', `${base}/sla/calendars/${calendar.id}`, body);
      else await api('POST', `${base}/sla/calendars`, body);
    });
    if (ok) {
      setSaved(calendar ? 'Saved.' : '');
      await onSaved();
    }
  };
  const del = async () => {
    if (
      calendar &&
      (await form.run(id('delete'), () => api('DELETE', `${base}/sla/calendars/${calendar.id}`)))
    )
      await onSaved();
  };
  // 422 paths: `weeklyHours.mon.0` goes under that day, anything else under its field.
  const errors = Object.fromEntries(
    Object.entries(form.errors).map(([k, v]) => [k.endsWith(p) ? k : id(k), v]),
  );
  const title = calendar ? calendar.name : 'new calendar';

  return html`<form class="stack" onSubmit=${save} aria-label=${calendar ? `Calendar ${calendar.name}` : 'New calendar'}>
    <div class="row">
      <div class="field">
        <label for=${id('name')}>Calendar name</label>
        <input id=${id('name')} value=${name} onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} ...${invalid(id('name'), errors)} />
        <${ErrorFor} id=${id('name')} errors=${errors} />
      </div>
      <div class="field">
        <label for=${id('timezone')}>Time zone</label>
        <input id=${id('timezone')} value=${timezone} placeholder="Europe/Berlin" onInput=${(/** @type {any} */ e) => setTimezone(e.currentTarget.value)} ...${invalid(id('timezone'), errors)} />
        <${ErrorFor} id=${id('timezone')} errors=${errors} />
      </div>
    </div>
    <fieldset class="hours" aria-describedby=${errors[id('weeklyHours')] ? `err-${id('weeklyHours')}` : undefined}>
      <legend>Working hours <span class="muted">(e.g. 09:00-12:00, 13:00-18:00; empty for a day off)</span></legend>
      ${DAYS.map(
        ([d, day]) => html`<div class="field" key=${d}>
          <label for=${id(`day-${d}`)}>${day}</label>
          <input id=${id(`day-${d}`)} value=${days[d]} onInput=${(/** @type {any} */ e) => setDays({ ...days, [d]: e.currentTarget.value })} ...${invalid(id(`day-${d}`), errors)} />
          <${ErrorFor} id=${id(`day-${d}`)} errors=${errors} />
        </div>`,
      )}
      <${ErrorFor} id=${id('weeklyHours')} errors=${errors} />
    </fieldset>
    <div class="field">
      <label for=${id('holidays')}>Holidays <span class="muted">(dates like 2026-12-25, separated by commas)</span></label>
      <input id=${id('holidays')} value=${holidays} onInput=${(/** @type {any} */ e) => setHolidays(e.currentTarget.value)} ...${invalid(id('holidays'), errors)} />
      <${ErrorFor} id=${id('holidays')} errors=${errors} />
    </div>
    <div class="row">
      <button class="primary" disabled=${form.busy === id('save')}>${calendar ? 'Save calendar' : 'Create calendar'}</button>
      ${calendar ? html`<${ConfirmButton} label="Delete" name=${`Delete ${title}`} confirm=${`Delete ${title}`} onConfirm=${del} />` : null}
    </div>
    <${ErrorFor} id=${id('save')} errors=${errors} />
    <${ErrorFor} id=${id('delete')} errors=${errors} />
    ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
  </form>`;
}
