// @ts-check
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { ConfirmButton, ErrorFor, invalid, useForm, useLoad } from './forms.js';
import { html } from './html.js';
import { PresenceDot, usePresence } from './presence.js';

/**
 * @typedef {{ id: string, name: string, description: string | null }} Team
 * @typedef {Team & { memberIds: string[] }} TeamDetail
 * @typedef {{ userId: string, displayName: string }} Member
 */

/**
 * Teams: create, rename or describe, delete, and who is in each. Shown to `teams.manage`; the
 * member names come from `GET .../members` (`members.read`, which every default role holds).
 * @param {import('./settings.js').SectionProps} props
 */
export function TeamsSettings({ org }) {
  const base = `/v1/orgs/${org.id}`;
  const teams = useLoad(
    async () => /** @type {{ teams: Team[] }} */ (await api('GET', `${base}/teams`)).teams,
    [base],
  );
  const members = useLoad(
    async () => /** @type {{ members: Member[] }} */ (await api('GET', `${base}/members`)).members,
    [base],
  );
  const form = useForm('create');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [saved, setSaved] = useState('');

  /** @param {Event} e */
  const create = async (e) => {
    e.preventDefault();
    setSaved('');
    const ok = await form.run('create', async () => {
      await api('POST', `${base}/teams`, { name, ...(description.trim() ? { description } : {}) });
    });
    if (ok) {
      setSaved(`Team ${name.trim()} created.`);
      setName('');
      setDescription('');
      await teams.reload();
    }
  };

  return html`<section aria-labelledby="teams-h">
      <h1 id="teams-h">Teams</h1>
      <p class="muted">Teams group staff: categories route their tickets to a team, and SLA policies can escalate to one.</p>
      ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
      ${teams.error ? html`<p class="error" role="alert">The teams could not be loaded: ${teams.error}</p>` : null}
      ${
        teams.data
          ? teams.data.length
            ? html`<ul class="cards">
                ${teams.data.map(
                  (t) =>
                    html`<${TeamCard}
                      key=${t.id}
                      base=${base}
                      orgId=${org.id}
                      team=${t}
                      members=${members.data ?? []}
                      onChanged=${teams.reload}
                    />`,
                )}
              </ul>`
            : html`<p class="muted">No teams yet.</p>`
          : html`<p role="status">Loading…</p>`
      }
    </section>
    <section aria-labelledby="team-new-h">
      <h2 id="team-new-h">New team</h2>
      <form class="card stack" onSubmit=${create}>
        <div class="field">
          <label for="team-name">Name</label>
          <input id="team-name" value=${name} onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} ...${invalid('name', form.errors)} />
          <${ErrorFor} id="name" errors=${form.errors} />
        </div>
        <div class="field">
          <label for="team-desc">Description <span class="muted">(optional)</span></label>
          <input id="team-desc" value=${description} onInput=${(/** @type {any} */ e) => setDescription(e.currentTarget.value)} ...${invalid('description', form.errors)} />
          <${ErrorFor} id="description" errors=${form.errors} />
        </div>
        <div><button class="primary" disabled=${form.busy === 'create'}>Create team</button></div>
        <${ErrorFor} id="create" errors=${form.errors} />
      </form>
    </section>`;
}

/**
 * One team: its name and description saved together, its members with add and remove.
 * @param {{ base: string, orgId: string, team: Team, members: Member[], onChanged: () => Promise<void> }} props
 */
function TeamCard({ base, orgId, team, members, onChanged }) {
  const presence = usePresence(orgId);
  const url = `${base}/teams/${team.id}`;
  const detail = useLoad(async () => /** @type {TeamDetail} */ (await api('GET', url)), [url]);
  const form = useForm('save');
  const [name, setName] = useState(team.name);
  const [description, setDescription] = useState(team.description ?? '');
  const [adding, setAdding] = useState('');
  const [saved, setSaved] = useState('');
  const id = (/** @type {string} */ f) => `${f}-${team.id}`;
  const who = (/** @type {string} */ userId) =>
    members.find((m) => m.userId === userId)?.displayName ?? userId;

  /** @param {Event} e */
  const save = async (e) => {
    e.preventDefault();
    setSaved('');
    const ok = await form.run(id('save'), async () => {
      await api('PATCH', url, { name, description: description.trim() ? description : null });
    });
    if (ok) {
      setSaved('Saved.');
      await onChanged();
    }
  };
  const add = async () => {
    if (!adding) return;
    setSaved('');
    if (await form.run(id('add'), () => api('PUT', `${url}/members/${adding}`))) setAdding('');
    await detail.reload();
  };
  /** @param {string} userId */
  const remove = async (userId) => {
    setSaved('');
    await form.run(id(`remove-${userId}`), () => api('DELETE', `${url}/members/${userId}`));
    await detail.reload();
  };
  const del = async () => {
    if (await form.run(id('delete'), () => api('DELETE', url))) await onChanged();
  };
  // A 422 names `name` or `description`; this card's controls carry the team id in their ids.
  const errors = Object.fromEntries(
    Object.entries(form.errors).map(([k, v]) => [k === 'name' || k === 'description' ? id(k) : k, v]),
  );
  const inTeam = detail.data?.memberIds ?? [];
  const outside = members.filter((m) => !inTeam.includes(m.userId));

  return html`<li class="card stack" data-team=${team.id}>
    <form class="stack" onSubmit=${save} aria-label=${`Team ${team.name}`}>
      <div class="field">
        <label for=${id('name')}>Team name</label>
        <input id=${id('name')} value=${name} onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} ...${invalid(id('name'), errors)} />
        <${ErrorFor} id=${id('name')} errors=${errors} />
      </div>
      <div class="field">
        <label for=${id('description')}>Description</label>
        <input id=${id('description')} value=${description} onInput=${(/** @type {any} */ e) => setDescription(e.currentTarget.value)} ...${invalid(id('description'), errors)} />
        <${ErrorFor} id=${id('description')} errors=${errors} />
      </div>
      <div class="row">
        <button class="primary" disabled=${form.busy === id('save')}>Save</button>
        <${ConfirmButton} label="Delete" name=${`Delete team ${team.name}`} confirm=${`Delete ${team.name}`} onConfirm=${del} />
      </div>
      <${ErrorFor} id=${id('save')} errors=${errors} />
      <${ErrorFor} id=${id('delete')} errors=${errors} />
      ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
    </form>
    <div>
      <h3 class="small-h">Members of ${team.name}</h3>
      ${detail.error ? html`<p class="error" role="alert">${detail.error}</p>` : null}
      ${
        inTeam.length
          ? html`<ul class="chips">
              ${inTeam.map(
                (u) => html`<li key=${u}>
                  <${PresenceDot} state=${presence(u)} name=${who(u)} /> ${who(u)}
                  <button type="button" class="subtle" aria-label=${`Take ${who(u)} off ${team.name}`} onClick=${() => remove(u)}>Remove</button>
                  <${ErrorFor} id=${id(`remove-${u}`)} errors=${errors} />
                </li>`,
              )}
            </ul>`
          : detail.data
            ? html`<p class="muted">Nobody yet.</p>`
            : null
      }
      <div class="row">
        <label class="visually-hidden" for=${id('add')}>Add a member to ${team.name}</label>
        <select id=${id('add')} value=${adding} onChange=${(/** @type {any} */ e) => setAdding(e.currentTarget.value)} ...${invalid(id('add'), errors)}>
          <option value="">Choose a member…</option>
          ${outside.map((m) => html`<option value=${m.userId}>${m.displayName}</option>`)}
        </select>
        <button type="button" disabled=${!adding || form.busy === id('add')} onClick=${add}>Add to team</button>
      </div>
      <${ErrorFor} id=${id('add')} errors=${errors} />
    </div>
  </li>`;
}
