// @ts-check
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { ConfirmButton, ErrorFor, invalid, useForm } from './forms.js';
import { html } from './html.js';
import { DAYS, formatRanges, parseRanges } from './week-hours.js';

/**
 * The SLA settings' business calendars: the editor of one calendar (time zone, working hours
 * per weekday, holidays) and the choice of the default calendar.
 * @typedef {import('./settings-sla.js').Calendar} Calendar
 * @typedef {import('./settings-sla.js').WeeklyHours} WeeklyHours
 */

/**
 * The calendar for policies that name none.
 * @param {{ base: string, calendars: Calendar[], current: string | null, onSaved: () => Promise<void> }} props
 */
export function DefaultCalendar({ base, calendars, current, onSaved }) {
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
 * One business calendar: time zone, working hours per weekday (several ranges a day allowed,
 * typed as "09:00-12:00, 13:00-18:00") and holidays.
 * @param {{ base: string, calendar: Calendar | null, onSaved: () => Promise<void> }} props
 */
export function CalendarEditor({ base, calendar, onSaved }) {
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
