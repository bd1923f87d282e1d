// @ts-check
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { ErrorFor, invalid, useForm, useLoad } from './forms.js';
import { html } from './html.js';

/**
 * @typedef {{ id: string, name: string, slug: string, requireTotp: boolean, businessCalendarId: string | null, inactivityCloseHours: number | null, solvedCloseHours: number | null, reassignOfflineMinutes: number | null }} Organization
 */

/**
 * The organization: name, whether staff must use two-factor sign-in, the business calendar SLA
 * clocks follow, after how long a ticket waiting on the player closes, and how long a solved
 * ticket waits for the player to answer before it closes by itself, and after how long offline an
 * assignee's open team tickets go to a member who is online. Only what changed is
 * sent, so saving the name never touches a setting someone else just changed.
 * @param {import('./settings.js').SectionProps} props
 */
export function OrgSettings({ org }) {
  const base = `/v1/orgs/${org.id}`;
  const current = useLoad(async () => /** @type {Organization} */ (await api('GET', base)), [base]);
  const calendars = useLoad(
    async () =>
      /** @type {{ calendars: { id: string, name: string }[] }} */ (await api('GET', `${base}/sla/calendars`))
        .calendars,
    [base],
  );
  const form = useForm('save');
  const [name, setName] = useState('');
  const [requireTotp, setRequireTotp] = useState(false);
  const [calendar, setCalendar] = useState('');
  const [hours, setHours] = useState('');
  const [solvedHours, setSolvedHours] = useState('');
  const [reassignMinutes, setReassignMinutes] = useState('');
  const [saved, setSaved] = useState('');
  useEffect(() => {
    const o = current.data;
    if (!o) return;
    setName(o.name);
    setRequireTotp(o.requireTotp);
    setCalendar(o.businessCalendarId ?? '');
    setHours(o.inactivityCloseHours === null ? '' : String(o.inactivityCloseHours));
    setSolvedHours(o.solvedCloseHours === null ? '' : String(o.solvedCloseHours));
    setReassignMinutes(o.reassignOfflineMinutes === null ? '' : String(o.reassignOfflineMinutes));
  }, [current.data]);

  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    const o = current.data;
    if (!o) return;
    setSaved('');
    /** @type {Record<string, unknown>} */
    const body = {};
    if (name !== o.name) body.name = name;
    if (requireTotp !== o.requireTotp) body.requireTotp = requireTotp;
    if (calendar !== (o.businessCalendarId ?? '')) body.businessCalendarId = calendar || null;
    const h = hours.trim() === '' ? null : Number(hours);
    if (h !== o.inactivityCloseHours) body.inactivityCloseHours = h;
    const sh = solvedHours.trim() === '' ? null : Number(solvedHours);
    if (sh !== o.solvedCloseHours) body.solvedCloseHours = sh;
    const rm = reassignMinutes.trim() === '' ? null : Number(reassignMinutes);
    if (rm !== o.reassignOfflineMinutes) body.reassignOfflineMinutes = rm;
    if (!Object.keys(body).length) {
      setSaved('Nothing changed.');
      return;
    }
    if (await form.run('save', () => api('PATCH', base, body))) setSaved('Saved.');
    await current.reload();
  };

  if (current.error)
    return html`<p class="error" role="alert">The organization could not be loaded: ${current.error}</p>`;
  if (!current.data) return html`<p role="status">Loading…</p>`;
  return html`<section aria-labelledby="org-h">
    <h1 id="org-h">Organization</h1>
    <form class="card stack" onSubmit=${submit}>
      <div class="field">
        <label for="org-name">Name</label>
        <input id="org-name" value=${name} maxlength="100" onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} ...${invalid('name', form.errors)} />
        <${ErrorFor} id="name" errors=${form.errors} />
      </div>
      <div class="field">
        <label><input type="checkbox" checked=${requireTotp} onChange=${(/** @type {any} */ e) => setRequireTotp(e.currentTarget.checked)} ...${invalid('requireTotp', form.errors)} />
          Staff must use two-factor sign-in</label>
        <${ErrorFor} id="requireTotp" errors=${form.errors} />
      </div>
      <div class="field">
        <label for="org-cal">Business calendar <span class="muted">(SLA clocks run in its hours)</span></label>
        <select id="org-cal" value=${calendar} onChange=${(/** @type {any} */ e) => setCalendar(e.currentTarget.value)} ...${invalid('businessCalendarId', form.errors)}>
          <option value="">None: around the clock</option>
          ${(calendars.data ?? []).map((c) => html`<option value=${c.id}>${c.name}</option>`)}
        </select>
        <${ErrorFor} id="businessCalendarId" errors=${form.errors} />
        ${calendars.error ? html`<p class="error">The calendars could not be loaded: ${calendars.error}</p>` : null}
      </div>
      <div class="field">
        <label for="org-idle">Close tickets waiting on the player after (hours) <span class="muted">(empty: never)</span></label>
        <input id="org-idle" type="number" min="1" max="8760" value=${hours} onInput=${(/** @type {any} */ e) => setHours(e.currentTarget.value)} ...${invalid('inactivityCloseHours', form.errors)} />
        <${ErrorFor} id="inactivityCloseHours" errors=${form.errors} />
      </div>
      <div class="field">
        <label for="org-solved">Close solved tickets the player has not answered after (hours) <span class="muted">(empty: never; the player is told)</span></label>
        <input id="org-solved" type="number" min="1" max="8760" value=${solvedHours} onInput=${(/** @type {any} */ e) => setSolvedHours(e.currentTarget.value)} ...${invalid('solvedCloseHours', form.errors)} />
        <${ErrorFor} id="solvedCloseHours" errors=${form.errors} />
      </div>
      <div class="field">
        <label for="org-reassign">Hand on tickets of assignees offline for (minutes) <span class="muted">(empty: never; they go to a team member who is online and in their working hours)</span></label>
        <input id="org-reassign" type="number" min="5" max="10080" value=${reassignMinutes} onInput=${(/** @type {any} */ e) => setReassignMinutes(e.currentTarget.value)} ...${invalid('reassignOfflineMinutes', form.errors)} />
        <${ErrorFor} id="reassignOfflineMinutes" errors=${form.errors} />
      </div>
      <div><button class="primary" disabled=${form.busy === 'save'}>Save</button></div>
      <${ErrorFor} id="save" errors=${form.errors} />
      ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
    </form>
  </section>`;
}
