import { useEffect, useState } from 'preact/hooks';
import { api, describeError } from './api.js';
import { html } from './html.js';
import { DAYS, formatRanges, parseRanges } from './week-hours.js';

/**
 * A member's working hours in the organization (`.../members/{userId}/working-hours`): automatic
 * assignment gives them tickets only within these. Each day is typed as shifts, `09:00-17:00`,
 * several separated by commas, empty for a day off; a night shift is split at midnight (end
 * `24:00`). "Always" stores none. Shown under the bell's preferences for the member's own hours,
 * and on the members page for anyone's, to whoever holds members.manage (`name` given: whose).
 *
 * @typedef {{ timeZone: string, week: Partial<Record<string, [number, number][]>> }} Hours
 */

/** @param {{ orgId: string, userId: string, name?: string }} props */
export function WorkingHoursForm({ orgId, userId, name }) {
  const path = `/v1/orgs/${orgId}/members/${userId}/working-hours`;
  const [loaded, setLoaded] = useState(false);
  const [always, setAlways] = useState(true);
  const [timeZone, setTimeZone] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  const [days, setDays] = useState(/** @type {Record<string, string>} */ ({}));
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');

  /** @param {Hours | null} h */
  const show = (h) => {
    setAlways(h === null);
    if (h) {
      setTimeZone(h.timeZone);
      setDays(Object.fromEntries(DAYS.map(([d]) => [d, formatRanges(h.week[d])])));
    }
  };
  useEffect(() => {
    api('GET', path).then(
      (r) => {
        show(r.workingHours);
        setLoaded(true);
      },
      (err) => setError(describeError(err)),
    );
  }, [path]);
  if (!loaded) return error ? html`<p class="error" role="alert">${error}</p>` : null;

  const save = async (/** @type {Event} */ e) => {
    e.preventDefault();
    setStatus('');
    /** @type {Record<string, [number, number][]>} */
    const week = {};
    for (const [d, label] of DAYS) {
      let shifts;
      try {
        shifts = parseRanges(days[d] ?? '');
      } catch (err) {
        setError(
          `${label}: ${/** @type {Error} */ (err).message}; shifts are written 09:00-17:00, separated by commas`,
        );
        return;
      }
      if (shifts.length) week[d] = shifts;
    }
    try {
      const r = await api('PUT', path, { workingHours: always ? null : { timeZone, week } });
      show(r.workingHours);
      setError('');
      setStatus('Saved');
    } catch (err) {
      setError(describeError(err));
    }
  };

  return html`<form class="working-hours" aria-label=${name ? `Working hours of ${name}` : 'Working hours'} onSubmit=${save}>
    <fieldset>
      <legend>
        ${name ? `Working hours of ${name} (automatic assignment gives them tickets only within them)` : 'Working hours (automatic assignment gives you tickets only within them)'}
      </legend>
      <label
        ><input type="checkbox" checked=${always} onChange=${(/** @type {any} */ e) => setAlways(e.currentTarget.checked)} />
        Always</label
      >
      ${
        always
          ? null
          : html`<label
                >Time zone
                <input value=${timeZone} onInput=${(/** @type {any} */ e) => setTimeZone(e.currentTarget.value)}
              /></label>
              ${DAYS.map(
                ([d, label]) => html`<label key=${d}
                  >${label}
                  <input
                    value=${days[d] ?? ''}
                    placeholder="day off"
                    onInput=${(/** @type {any} */ e) => setDays({ ...days, [d]: e.currentTarget.value })}
                /></label>`,
              )}`
      }
    </fieldset>
    <div>
      <button type="submit">Save working hours</button>
      ${status ? html` <span role="status">${status}</span>` : null}
    </div>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
  </form>`;
}
