// @ts-check
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { ConfirmButton, ErrorFor, invalid, useForm, useLoad } from './forms.js';
import { html } from './html.js';

/**
 * @typedef {{ id: string, shortcut: string, title: string, body: string, teamId: string | null }} Canned
 * @typedef {{ id: string, name: string }} Team
 */

/** The variables a canned reply may use (the API fills them from the ticket when it is sent). */
const VARIABLES = ['player', 'ticket', 'subject', 'agent', 'category'];
/** Example values for the preview, sent to the API's renderer so the preview is what it would send. */
const SAMPLE = {
  player: 'Alex',
  ticket: '#1042',
  subject: 'Lost my items',
  agent: 'Sam',
  category: 'Bug report',
};

/**
 * Canned replies: shortcut, title, body with variables, optional team; each with a preview of
 * its variables filled (`POST .../render`). Shown to `canned.manage`.
 * @param {import('./settings.js').SectionProps} props
 */
export function CannedSettings({ org }) {
  const base = `/v1/orgs/${org.id}`;
  const replies = useLoad(
    async () =>
      /** @type {{ cannedReplies: Canned[] }} */ (await api('GET', `${base}/canned-replies`)).cannedReplies,
    [base],
  );
  const teams = useLoad(
    async () => /** @type {{ teams: Team[] }} */ (await api('GET', `${base}/teams`)).teams,
    [base],
  );
  const [fresh, setFresh] = useState(0);
  return html`<section aria-labelledby="canned-h">
      <h1 id="canned-h">Canned replies</h1>
      <p class="muted">
        Answers staff send often. The body may use ${VARIABLES.map((v, i) => html`${i ? ', ' : ''}<code>{${v}}</code>`)}: they are
        filled from the ticket when the reply is sent.
      </p>
      ${replies.error ? html`<p class="error" role="alert">The canned replies could not be loaded: ${replies.error}</p>` : null}
      ${
        replies.data
          ? replies.data.length
            ? html`<ul class="cards">
                ${replies.data.map(
                  (c) => html`<li key=${c.id} class="card" data-canned=${c.shortcut}>
                    <${CannedEditor} base=${base} reply=${c} teams=${teams.data ?? []} onSaved=${replies.reload} />
                  </li>`,
                )}
              </ul>`
            : html`<p class="muted">No canned replies yet.</p>`
          : html`<p role="status">Loading…</p>`
      }
    </section>
    <section aria-labelledby="canned-new-h">
      <h2 id="canned-new-h">New canned reply</h2>
      <div class="card">
        <${CannedEditor}
          key=${fresh}
          base=${base}
          reply=${null}
          teams=${teams.data ?? []}
          onSaved=${async () => {
            setFresh((n) => n + 1);
            await replies.reload();
          }}
        />
      </div>
    </section>`;
}

/**
 * One reply's form: creates when `reply` is null; the shortcut is fixed once made (the API
 * changes title, body and team only).
 * @param {{ base: string, reply: Canned | null, teams: Team[], onSaved: () => Promise<void> }} props
 */
function CannedEditor({ base, reply, teams, onSaved }) {
  const p = reply ? reply.id.slice(0, 8) : 'new';
  const id = (/** @type {string} */ f) => `${f}-${p}`;
  const form = useForm(id('save'));
  const [shortcut, setShortcut] = useState(reply?.shortcut ?? '');
  const [title, setTitle] = useState(reply?.title ?? '');
  const [body, setBody] = useState(reply?.body ?? '');
  const [teamId, setTeamId] = useState(reply?.teamId ?? '');
  const [saved, setSaved] = useState('');
  const [preview, setPreview] = useState('');

  /** @param {Event} e */
  const save = async (e) => {
    e.preventDefault();
    setSaved('');
    const ok = await form.run(id('save'), async () => {
      if (reply)
        await api('PATCH', `${base}/canned-replies/${reply.id}`, { title, body, teamId: teamId || null });
      else
        await api('POST', `${base}/canned-replies`, { shortcut, title, body, ...(teamId ? { teamId } : {}) });
    });
    if (ok) {
      setSaved(reply ? 'Saved.' : '');
      setPreview('');
      await onSaved();
    }
  };
  const showPreview = async () => {
    if (!reply) return;
    await form.run(id('preview'), async () => {
      /** @type {{ body: string }} */
      const r = await api('POST', `${base}/canned-replies/${reply.id}/render`, { variables: SAMPLE });
      setPreview(r.body);
    });
  };
  const del = async () => {
    if (reply && (await form.run(id('delete'), () => api('DELETE', `${base}/canned-replies/${reply.id}`))))
      await onSaved();
  };
  const errors = Object.fromEntries(
    Object.entries(form.errors).map(([k, v]) => [k.endsWith(p) ? k : id(k), v]),
  );
  const name = reply ? `/${reply.shortcut}` : 'new reply';

  return html`<form class="stack" onSubmit=${save} aria-label=${reply ? `Canned reply ${reply.shortcut}` : 'New canned reply'}>
    <div class="row">
      <div class="field">
        <label for=${id('shortcut')}>Shortcut</label>
        <input id=${id('shortcut')} value=${shortcut} readonly=${!!reply} onInput=${(/** @type {any} */ e) => setShortcut(e.currentTarget.value)} ...${invalid(id('shortcut'), errors)} />
        <${ErrorFor} id=${id('shortcut')} errors=${errors} />
      </div>
      <div class="field">
        <label for=${id('title')}>Title</label>
        <input id=${id('title')} value=${title} onInput=${(/** @type {any} */ e) => setTitle(e.currentTarget.value)} ...${invalid(id('title'), errors)} />
        <${ErrorFor} id=${id('title')} errors=${errors} />
      </div>
      <div class="field">
        <label for=${id('teamId')}>Team</label>
        <select id=${id('teamId')} value=${teamId} onChange=${(/** @type {any} */ e) => setTeamId(e.currentTarget.value)} ...${invalid(id('teamId'), errors)}>
          <option value="">Everyone</option>
          ${teams.map((t) => html`<option value=${t.id}>${t.name}</option>`)}
        </select>
        <${ErrorFor} id=${id('teamId')} errors=${errors} />
      </div>
    </div>
    <div class="field wide-field">
      <label for=${id('body')}>Body</label>
      <textarea id=${id('body')} rows="4" value=${body} onInput=${(/** @type {any} */ e) => setBody(e.currentTarget.value)} ...${invalid(id('body'), errors)}></textarea>
      <${ErrorFor} id=${id('body')} errors=${errors} />
    </div>
    <div class="row">
      <button class="primary" disabled=${form.busy === id('save')}>${reply ? 'Save' : 'Create canned reply'}</button>
      ${
        reply
          ? html`<button type="button" onClick=${showPreview} aria-label=${`Preview ${name}`}>Preview</button>
              <${ConfirmButton} label="Delete" name=${`Delete ${name}`} confirm=${`Delete ${name}`} onConfirm=${del} />`
          : null
      }
    </div>
    <${ErrorFor} id=${id('save')} errors=${errors} />
    <${ErrorFor} id=${id('preview')} errors=${errors} />
    <${ErrorFor} id=${id('delete')} errors=${errors} />
    ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
    ${
      preview
        ? html`<figure class="preview">
            <figcaption class="muted">Preview, with example values (player Alex, ticket #1042, agent Sam…)</figcaption>
            <div class="body">${preview}</div>
          </figure>`
        : null
    }
  </form>`;
}
