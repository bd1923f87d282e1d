// @ts-check
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { ConfirmButton, ErrorFor, invalid, useForm, useLoad } from './forms.js';
import { html } from './html.js';

/**
 * @typedef {{ key: string, label: string, style: 'short' | 'paragraph', required: boolean, placeholder?: string, minLength?: number, maxLength?: number }} Question
 * @typedef {{ id: string, name: string, description: string | null, emoji: string | null, questions: Question[], teamId: string | null, ticketMode: 'thread' | 'forum' | 'channel', position: number, archivedAt: string | null }} Category
 * @typedef {{ id: string, name: string }} Team
 */

/** A Discord modal holds at most five inputs, so a category asks at most five questions (the API says so too). */
const MAX_QUESTIONS = 5;
const MODES = /** @type {const} */ ([
  ['thread', 'A private thread'],
  ['forum', 'A forum post'],
  ['channel', 'A channel of its own'],
]);

/**
 * Ticket categories and their intake forms (the questions a player answers when opening a
 * ticket of that kind, shown in Discord as a modal). Shown to `categories.manage`.
 * @param {import('./settings.js').SectionProps} props
 */
export function CategoriesSettings({ org }) {
  const base = `/v1/orgs/${org.id}`;
  const categories = useLoad(
    async () => /** @type {{ categories: Category[] }} */ (await api('GET', `${base}/categories`)).categories,
    [base],
  );
  const teams = useLoad(
    async () => /** @type {{ teams: Team[] }} */ (await api('GET', `${base}/teams`)).teams,
    [base],
  );
  const [fresh, setFresh] = useState(0);
  return html`<section aria-labelledby="cat-h">
      <h1 id="cat-h">Categories and forms</h1>
      <p class="muted">Each category is a kind of ticket players choose from, with up to five questions they answer first.</p>
      ${categories.error ? html`<p class="error" role="alert">The categories could not be loaded: ${categories.error}</p>` : null}
      ${
        categories.data
          ? categories.data.length
            ? html`<ul class="cards">
                ${categories.data.map(
                  (c) => html`<li key=${c.id} class="card" data-category=${c.id}>
                    <${CategoryEditor} base=${base} category=${c} teams=${teams.data ?? []} onSaved=${categories.reload} />
                  </li>`,
                )}
              </ul>`
            : html`<p class="muted">No categories yet.</p>`
          : html`<p role="status">Loading…</p>`
      }
    </section>
    <section aria-labelledby="cat-new-h">
      <h2 id="cat-new-h">New category</h2>
      <div class="card">
        <${CategoryEditor}
          key=${fresh}
          base=${base}
          category=${null}
          teams=${teams.data ?? []}
          onSaved=${async () => {
            setFresh((n) => n + 1);
            await categories.reload();
          }}
        />
      </div>
    </section>`;
}

/**
 * One category's form: creates when `category` is null, otherwise saves changes or archives.
 * @param {{ base: string, category: Category | null, teams: Team[], onSaved: () => Promise<void> }} props
 */
function CategoryEditor({ base, category, teams, onSaved }) {
  const p = category ? category.id.slice(0, 8) : 'new';
  const id = (/** @type {string} */ f) => `${f}-${p}`;
  const form = useForm(id('save'));
  const [name, setName] = useState(category?.name ?? '');
  const [description, setDescription] = useState(category?.description ?? '');
  const [emoji, setEmoji] = useState(category?.emoji ?? '');
  const [teamId, setTeamId] = useState(category?.teamId ?? '');
  const [mode, setMode] = useState(category?.ticketMode ?? 'thread');
  const [questions, setQuestions] = useState(/** @type {Question[]} */ (category?.questions ?? []));
  const [saved, setSaved] = useState('');

  /** @param {number} i @param {Partial<Question>} change */
  const editQ = (i, change) => setQuestions(questions.map((q, j) => (j === i ? { ...q, ...change } : q)));
  const addQ = () =>
    setQuestions([
      ...questions,
      { key: `q${questions.length + 1}`, label: '', style: 'short', required: true },
    ]);

  /** @param {Event} e */
  const save = async (e) => {
    e.preventDefault();
    setSaved('');
    // Whole questions, so limits set through the API (minLength, maxLength) survive an edit here.
    const qs = questions.map(({ placeholder, ...q }) => ({
      ...q,
      ...(placeholder?.trim() ? { placeholder } : {}),
    }));
    const ok = await form.run(id('save'), async () => {
      if (category)
        await api('PATCH', `${base}/categories/${category.id}`, {
          name,
          description: description.trim() ? description : null,
          emoji: emoji.trim() ? emoji : null,
          teamId: teamId || null,
          ticketMode: mode,
          questions: qs,
        });
      else
        await api('POST', `${base}/categories`, {
          name,
          ...(description.trim() ? { description } : {}),
          ...(emoji.trim() ? { emoji } : {}),
          ...(teamId ? { teamId } : {}),
          ticketMode: mode,
          questions: qs,
        });
    });
    if (ok) {
      setSaved(category ? 'Saved.' : '');
      await onSaved();
    }
  };
  const archive = async () => {
    if (category && (await form.run(id('archive'), () => api('DELETE', `${base}/categories/${category.id}`))))
      await onSaved();
  };
  // A 422 names the body's field (`name`, `questions`); this form's controls carry its prefix.
  const errors = Object.fromEntries(
    Object.entries(form.errors).map(([k, v]) => [k.endsWith(p) ? k : id(k), v]),
  );
  const title = category ? category.name : 'new category';

  return html`<form class="stack" onSubmit=${save} aria-label=${category ? `Category ${category.name}` : 'New category'}>
    <div class="field">
      <label for=${id('name')}>Name</label>
      <input id=${id('name')} value=${name} onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} ...${invalid(id('name'), errors)} />
      <${ErrorFor} id=${id('name')} errors=${errors} />
    </div>
    <div class="field">
      <label for=${id('description')}>Description <span class="muted">(optional)</span></label>
      <input id=${id('description')} value=${description} onInput=${(/** @type {any} */ e) => setDescription(e.currentTarget.value)} ...${invalid(id('description'), errors)} />
      <${ErrorFor} id=${id('description')} errors=${errors} />
    </div>
    <div class="row">
      <div class="field">
        <label for=${id('emoji')}>Emoji <span class="muted">(optional)</span></label>
        <input id=${id('emoji')} size="6" value=${emoji} onInput=${(/** @type {any} */ e) => setEmoji(e.currentTarget.value)} ...${invalid(id('emoji'), errors)} />
        <${ErrorFor} id=${id('emoji')} errors=${errors} />
      </div>
      <div class="field">
        <label for=${id('teamId')}>Team</label>
        <select id=${id('teamId')} value=${teamId} onChange=${(/** @type {any} */ e) => setTeamId(e.currentTarget.value)} ...${invalid(id('teamId'), errors)}>
          <option value="">No team</option>
          ${teams.map((t) => html`<option value=${t.id}>${t.name}</option>`)}
        </select>
        <${ErrorFor} id=${id('teamId')} errors=${errors} />
      </div>
      <div class="field">
        <label for=${id('ticketMode')}>In Discord, each ticket is</label>
        <select id=${id('ticketMode')} value=${mode} onChange=${(/** @type {any} */ e) => setMode(e.currentTarget.value)} ...${invalid(id('ticketMode'), errors)}>
          ${MODES.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
        </select>
        <${ErrorFor} id=${id('ticketMode')} errors=${errors} />
      </div>
    </div>
    <fieldset class="stack" aria-describedby=${errors[id('questions')] ? `err-${id('questions')}` : undefined}>
      <legend>Form questions (${questions.length} of ${MAX_QUESTIONS})</legend>
      ${questions.length ? null : html`<p class="muted">No questions: players open the ticket straight away.</p>`}
      ${questions.map(
        (q, i) => html`<div class="question" key=${i} data-question=${i}>
          <div class="field">
            <label for=${id(`q${i}-label`)}>Question ${i + 1}</label>
            <input id=${id(`q${i}-label`)} value=${q.label} maxlength="45" onInput=${(/** @type {any} */ e) => editQ(i, { label: e.currentTarget.value })} />
          </div>
          <div class="field">
            <label for=${id(`q${i}-key`)}>Key <span class="muted">(in the ticket's fields)</span></label>
            <input id=${id(`q${i}-key`)} value=${q.key} onInput=${(/** @type {any} */ e) => editQ(i, { key: e.currentTarget.value })} />
          </div>
          <div class="field">
            <label for=${id(`q${i}-style`)}>Answer</label>
            <select id=${id(`q${i}-style`)} value=${q.style} onChange=${(/** @type {any} */ e) => editQ(i, { style: e.currentTarget.value })}>
              <option value="short">One line</option>
              <option value="paragraph">Paragraph</option>
            </select>
          </div>
          <label class="check">
            <input type="checkbox" checked=${q.required} onChange=${(/** @type {any} */ e) => editQ(i, { required: e.currentTarget.checked })} />
            Required
          </label>
          <button type="button" class="subtle" aria-label=${`Remove question ${i + 1}`} onClick=${() => setQuestions(questions.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>`,
      )}
      <div><button type="button" disabled=${questions.length >= MAX_QUESTIONS} onClick=${addQ}>Add question</button></div>
      <${ErrorFor} id=${id('questions')} errors=${errors} />
    </fieldset>
    <div class="row">
      <button class="primary" disabled=${form.busy === id('save')}>${category ? 'Save' : 'Create category'}</button>
      ${category ? html`<${ConfirmButton} label="Archive" name=${`Archive ${title}`} confirm=${`Archive ${title}`} onConfirm=${archive} />` : null}
    </div>
    <${ErrorFor} id=${id('save')} errors=${errors} />
    <${ErrorFor} id=${id('archive')} errors=${errors} />
    ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
  </form>`;
}
