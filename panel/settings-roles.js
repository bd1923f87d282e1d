// @ts-check
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { ConfirmButton, ErrorFor, invalid, useForm, useLoad } from './forms.js';
import { html } from './html.js';

/**
 * @typedef {{ id: string, key: string, name: string, description: string | null, isSystem: boolean, permissions: string[], members: number }} Role
 */

/**
 * Roles and what each may do: create a custom role, rename or change the permissions of any
 * role but the owner's (fixed), delete a custom role nobody holds. The API refuses granting a
 * permission the editor does not hold (403 naming it): that refusal shows under the role's Save
 * button and the boxes go back to what was saved. Shown to `roles.manage`.
 * @param {import('./settings.js').SectionProps} props
 */
export function RolesSettings({ org, perms }) {
  const base = `/v1/orgs/${org.id}`;
  const roles = useLoad(
    async () => /** @type {{ roles: Role[] }} */ (await api('GET', `${base}/roles`)).roles,
    [base],
  );
  const catalog = useLoad(
    async () => /** @type {{ permissions: string[] }} */ (await api('GET', '/v1/permissions')).permissions,
    [],
  );
  const [fresh, setFresh] = useState(0);
  const all = catalog.data ?? [];
  return html`<section aria-labelledby="roles-h">
      <h1 id="roles-h">Roles</h1>
      <p class="muted">
        A role is a set of permissions. You can grant only permissions your own role holds; the owner role always holds all of them.
      </p>
      ${roles.error ? html`<p class="error" role="alert">The roles could not be loaded: ${roles.error}</p>` : null}
      ${catalog.error ? html`<p class="error" role="alert">The permissions could not be loaded: ${catalog.error}</p>` : null}
      ${
        roles.data && catalog.data
          ? html`<ul class="cards">
              ${roles.data.map(
                (r) => html`<li key=${r.id} class="card" data-role=${r.key}>
                  <${RoleEditor} base=${base} role=${r} all=${all} mine=${perms} onSaved=${roles.reload} />
                </li>`,
              )}
            </ul>`
          : html`<p role="status">Loading…</p>`
      }
    </section>
    <section aria-labelledby="role-new-h">
      <h2 id="role-new-h">New role</h2>
      <div class="card">
        <${RoleEditor}
          key=${fresh}
          base=${base}
          role=${null}
          all=${all}
          mine=${perms}
          onSaved=${async () => {
            setFresh((n) => n + 1);
            await roles.reload();
          }}
        />
      </div>
    </section>`;
}

/**
 * One role's form; creates when `role` is null. Permissions the editor lacks are still offered
 * (marked), so the API's refusal is visible rather than the box silently missing.
 * @param {{ base: string, role: Role | null, all: string[], mine: Set<string>, onSaved: () => Promise<void> }} props
 */
function RoleEditor({ base, role, all, mine, onSaved }) {
  const p = role ? role.key : 'newrole';
  const id = (/** @type {string} */ f) => `${f}-${p}`;
  const form = useForm(id('save'));
  const fixed = role?.key === 'owner';
  const [key, setKey] = useState(role?.key ?? '');
  const [name, setName] = useState(role?.name ?? '');
  const [description, setDescription] = useState(role?.description ?? '');
  const [chosen, setChosen] = useState(() => new Set(role?.permissions ?? []));
  const [saved, setSaved] = useState('');

  /** @param {string} perm @param {boolean} on */
  const toggle = (perm, on) => {
    const next = new Set(chosen);
    if (on) next.add(perm);
    else next.delete(perm);
    setChosen(next);
  };
  /** @param {Event} e */
  const save = async (e) => {
    e.preventDefault();
    setSaved('');
    const permissions = [...chosen].sort();
    const ok = await form.run(id('save'), async () => {
      if (role)
        await api('PATCH', `${base}/roles/${role.id}`, {
          name,
          description: description.trim() ? description : null,
          permissions,
        });
      else
        await api('POST', `${base}/roles`, {
          key,
          name,
          ...(description.trim() ? { description } : {}),
          permissions,
        });
    });
    if (ok) {
      setSaved(role ? 'Saved.' : '');
      await onSaved();
    } else if (role) setChosen(new Set(role.permissions));
  };
  const del = async () => {
    if (role && (await form.run(id('delete'), () => api('DELETE', `${base}/roles/${role.id}`))))
      await onSaved();
  };
  const errors = Object.fromEntries(
    Object.entries(form.errors).map(([k, v]) => [k.endsWith(p) ? k : id(k), v]),
  );
  const title = role ? role.name : 'new role';

  return html`<form class="stack" onSubmit=${save} aria-label=${role ? `Role ${role.name}` : 'New role'}>
    ${
      role
        ? html`<p class="muted">
            <code>${role.key}</code>${role.isSystem ? ' · built in' : ' · custom'} · ${role.members}
            ${role.members === 1 ? ' member' : ' members'}
          </p>`
        : html`<div class="field">
            <label for=${id('key')}>Key <span class="muted">(lowercase, used by the API and Discord role mappings)</span></label>
            <input id=${id('key')} value=${key} onInput=${(/** @type {any} */ e) => setKey(e.currentTarget.value)} ...${invalid(id('key'), errors)} />
            <${ErrorFor} id=${id('key')} errors=${errors} />
          </div>`
    }
    <div class="row">
      <div class="field">
        <label for=${id('name')}>Role name</label>
        <input id=${id('name')} value=${name} disabled=${fixed} onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} ...${invalid(id('name'), errors)} />
        <${ErrorFor} id=${id('name')} errors=${errors} />
      </div>
      <div class="field">
        <label for=${id('description')}>Description</label>
        <input id=${id('description')} value=${description} disabled=${fixed} onInput=${(/** @type {any} */ e) => setDescription(e.currentTarget.value)} ...${invalid(id('description'), errors)} />
        <${ErrorFor} id=${id('description')} errors=${errors} />
      </div>
    </div>
    <fieldset>
      <legend>Permissions${fixed ? ' (fixed: the owner holds all)' : ''}</legend>
      <div class="checks">
        ${all.map(
          (perm) => html`<label key=${perm}>
            <input
              type="checkbox"
              checked=${chosen.has(perm)}
              disabled=${fixed}
              onChange=${(/** @type {any} */ e) => toggle(perm, e.currentTarget.checked)}
            />
            <code>${perm}</code>${mine.has(perm) ? null : html` <span class="muted">(you don't hold it)</span>`}
          </label>`,
        )}
      </div>
      <${ErrorFor} id=${id('permissions')} errors=${errors} />
    </fieldset>
    ${
      fixed
        ? null
        : html`<div class="row">
            <button class="primary" disabled=${form.busy === id('save')}>${role ? 'Save' : 'Create role'}</button>
            ${
              role && !role.isSystem
                ? html`<${ConfirmButton}
                    label="Delete"
                    name=${`Delete ${title}`}
                    confirm=${`Delete ${title}`}
                    disabled=${role.members > 0}
                    onConfirm=${del}
                  />`
                : null
            }
          </div>`
    }
    <${ErrorFor} id=${id('save')} errors=${errors} />
    <${ErrorFor} id=${id('delete')} errors=${errors} />
    ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
  </form>`;
}
