// @ts-check
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { ErrorFor, useForm, useLoad } from './forms.js';
import { html } from './html.js';

/**
 * @typedef {{ id: string, name: string }} Category
 * @typedef {{ mode?: string, channelId?: string, forumTagId?: string, overflowCategoryIds?: string[] }} CategorySettings
 */

const MODES = /** @type {const} */ ([
  ['', 'The server’s default (private threads)'],
  ['thread', 'Private thread in a text channel'],
  ['forum', 'Post in a forum channel'],
  ['channel', 'A channel of its own under a channel category'],
]);
const FIELDS = /** @type {const} */ (['mode', 'channelId', 'forumTagId', 'overflow']);

/** @param {CategorySettings | undefined} c @returns {Record<string, string>} */
const valuesOf = (c) => ({
  mode: c?.mode ?? '',
  channelId: c?.channelId ?? '',
  forumTagId: c?.forumTagId ?? '',
  overflow: (c?.overflowCategoryIds ?? []).join(', '),
});

/**
 * Where each ticket category's tickets go in one server: the ticket mode, its channel (text
 * channel, forum or channel category), the forum tag and overflow channel categories. A field
 * emptied is cleared in the API (null in the merge patch), so a setting can go back to none.
 * @param {{ base: string, guildId: string, settings: Record<string, CategorySettings>, onSaved: () => Promise<void> }} props
 */
export function CategoryTargets({ base, guildId, settings, onSaved }) {
  const g = guildId;
  const categories = useLoad(
    async () => /** @type {{ categories: Category[] }} */ (await api('GET', `${base}/categories`)).categories,
    [base],
  );
  const [values, setValues] = useState(
    /** @type {Record<string, Record<string, string>>} */ (
      Object.fromEntries(Object.entries(settings).map(([cid, c]) => [cid, valuesOf(c)]))
    ),
  );
  const [saved, setSaved] = useState('');
  const form = useForm(`cats-${g}`);
  /** @param {string} cid @param {string} field @param {string} v */
  const set = (cid, field, v) =>
    setValues({ ...values, [cid]: { ...(values[cid] ?? valuesOf(undefined)), [field]: v } });

  const save = async () => {
    setSaved('');
    /** @type {Record<string, Record<string, unknown> | null>} */
    const patch = {};
    for (const [cid, v] of Object.entries(values)) {
      const before = valuesOf(settings[cid]);
      /** @type {Record<string, unknown>} */
      const change = {};
      for (const f of FIELDS) {
        const now = (v[f] ?? '').trim();
        if (now === before[f]) continue;
        const key = f === 'overflow' ? 'overflowCategoryIds' : f;
        const value = f === 'overflow' ? now.split(/[\s,]+/).filter(Boolean) : now;
        change[key] = now === '' ? null : value;
      }
      if (Object.keys(change).length) patch[cid] = change;
    }
    if (!Object.keys(patch).length) return setSaved('Nothing changed.');
    if (
      await form.run(`cats-${g}`, () => api('PATCH', `${base}/guilds/${g}/settings`, { categories: patch }))
    ) {
      setSaved('Saved.');
      await onSaved();
    }
  };
  // A 422 names `categories.<id>.<field>`: the first segment, so it shows under this section.
  const errors = {
    ...form.errors,
    ...(form.errors.categories ? { [`cats-${g}`]: form.errors.categories } : {}),
  };

  return html`<fieldset class="stack category-targets">
    <legend>Ticket categories in this server <span class="muted">(Discord ids; empty a field to clear it)</span></legend>
    ${categories.error ? html`<p class="error" role="alert">The categories could not be loaded: ${categories.error}</p>` : null}
    ${
      categories.data
        ? categories.data.length
          ? categories.data.map((c) => {
              const v = values[c.id] ?? valuesOf(undefined);
              const fid = (/** @type {string} */ f) => `cat-${f}-${c.id}-${g}`;
              const input = (/** @type {string} */ f, /** @type {string} */ label) => html`<div class="field">
                <label for=${fid(f)}>${label}</label>
                <input id=${fid(f)} inputmode="numeric" value=${v[f]} onInput=${(/** @type {any} */ e) => set(c.id, f, e.currentTarget.value)} />
              </div>`;
              return html`<div class="stack category-target" key=${c.id} data-category=${c.id} role="group" aria-label=${`Category ${c.name}`}>
                <h3 class="small-h">${c.name}</h3>
                <div class="field">
                  <label for=${fid('mode')}>Ticket mode</label>
                  <select id=${fid('mode')} value=${v.mode} onChange=${(/** @type {any} */ e) => set(c.id, 'mode', e.currentTarget.value)}>
                    ${MODES.map(([m, label]) => html`<option value=${m}>${label}</option>`)}
                  </select>
                </div>
                ${input('channelId', 'Channel, forum or channel category id')}
                ${v.mode === 'forum' || v.forumTagId ? input('forumTagId', 'Forum tag id') : null}
                ${v.mode === 'channel' || v.overflow ? input('overflow', 'Overflow channel category ids, comma-separated') : null}
              </div>`;
            })
          : html`<p class="muted">No ticket category yet.</p>`
        : html`<p role="status">Loading…</p>`
    }
    <div><button type="button" onClick=${save} disabled=${form.busy === `cats-${g}`}>Save categories</button></div>
    <${ErrorFor} id=${`cats-${g}`} errors=${errors} />
    ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
  </fieldset>`;
}
