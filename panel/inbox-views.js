// @ts-check
import { useEffect, useState } from 'preact/hooks';
import { api, describeError } from './api.js';
import { html } from './html.js';

/** @typedef {{ id: string, name: string, filters: Record<string, string> }} SavedView */

/** Whether a view's filters are the ones on screen (both without empty values). */
const same = (/** @type {Record<string, string>} */ a, /** @type {Record<string, string>} */ b) => {
  const norm = (/** @type {Record<string, string>} */ x) =>
    JSON.stringify(
      Object.entries(x)
        .filter(([, v]) => v)
        .sort(([p], [q]) => p.localeCompare(q)),
    );
  return norm(a) === norm(b);
};

/**
 * Saved views: the member's named sets of inbox filters, kept by the API (per member, so they
 * follow the member to any browser). Choosing one puts its filters in the URL; the one matching
 * the filters on screen shows as chosen, and can be renamed or deleted.
 * @param {{ orgId: string, filters: Record<string, string>, onApply: (f: Record<string, string>) => void }} props
 */
export function SavedViews({ orgId, filters, onApply }) {
  const [views, setViews] = useState(/** @type {SavedView[] | null} */ (null));
  /** Which form is open: naming a new view, renaming the chosen one, or none. */
  const [naming, setNaming] = useState(/** @type {'' | 'new' | 'rename'} */ (''));
  const [name, setName] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const base = `/v1/orgs/${orgId}/views`;

  useEffect(() => {
    api('GET', base).then(
      (r) => setViews(r.views),
      (err) => setError(`Saved views could not be loaded: ${describeError(err)}`),
    );
  }, [base]);

  const current = views?.find((v) => same(v.filters, filters));

  /** @param {Event} e */
  const save = async (e) => {
    e.preventDefault();
    if (!name.trim()) return setError('Give the view a name.');
    setBusy(true);
    setError('');
    try {
      const view =
        naming === 'rename' && current
          ? await api('PATCH', `${base}/${current.id}`, { name: name.trim() })
          : await api('POST', base, { name: name.trim(), filters });
      setViews((vs) =>
        [...(vs ?? []).filter((v) => v.id !== view.id), view].sort((a, b) => a.name.localeCompare(b.name)),
      );
      setNaming('');
      setName('');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    if (!current) return;
    setBusy(true);
    setError('');
    try {
      await api('DELETE', `${base}/${current.id}`);
      setViews((vs) => (vs ?? []).filter((v) => v.id !== current.id));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return html`<div class="views">
    <label class="filter"
      >Saved view
      <select
        id="saved-view"
        value=${current?.id ?? ''}
        disabled=${!views}
        onChange=${(/** @type {any} */ e) => {
          const v = views?.find((x) => x.id === e.currentTarget.value);
          if (v) onApply(v.filters);
        }}
      >
        <option value="">${current ? 'None' : 'Current filters'}</option>
        ${(views ?? []).map((v) => html`<option value=${v.id}>${v.name}</option>`)}
      </select></label
    >
    ${
      naming
        ? html`<form class="view-name" onSubmit=${save}>
            <label class="filter"
              >View name
              <input
                id="view-name"
                value=${name}
                maxlength="60"
                aria-invalid=${error ? 'true' : 'false'}
                aria-describedby=${error ? 'views-error' : undefined}
                onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)}
            /></label>
            <button type="submit" class="primary" disabled=${busy}>${naming === 'rename' ? 'Rename' : 'Save'}</button>
            <button type="button" onClick=${() => {
              setNaming('');
              setError('');
            }}>Cancel</button>
          </form>`
        : html`<button type="button" onClick=${() => {
            setName('');
            setNaming('new');
          }}>Save view…</button>`
    }
    ${
      current && !naming
        ? html`<button type="button" onClick=${() => {
            setName(current.name);
            setNaming('rename');
          }}>Rename view “${current.name}”…</button>
            <button type="button" disabled=${busy} onClick=${remove}>Delete view “${current.name}”</button>`
        : null
    }
    ${error ? html`<p class="error" id="views-error" role="alert">${error}</p>` : null}
  </div>`;
}
