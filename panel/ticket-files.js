// @ts-check
import { useRef, useState } from 'preact/hooks';
import { describeError, uploadFile } from './api.js';
import { html } from './html.js';

/** @typedef {{ id: string, filename: string, contentType: string, sizeBytes: number, createdAt: string, url: string }} Attachment */

/** "12 KB", "3.4 MB". @param {number} n */
const size = (n) =>
  n < 1024 ? `${n} B` : n < 1048576 ? `${Math.round(n / 1024)} KB` : `${(n / 1048576).toFixed(1)} MB`;

/**
 * A ticket's files: images shown as previews, every file downloadable through the short-lived
 * signed link the API gives with the ticket (fresh on every load of the ticket).
 * @param {{ attachments: Attachment[] }} props
 */
export function Attachments({ attachments }) {
  if (!attachments.length) return null;
  return html`<section class="files" aria-labelledby="files-title">
    <h2 id="files-title">Attachments (${attachments.length})</h2>
    <ul class="file-list">
      ${attachments.map(
        (a) => html`<li key=${a.id}>
          ${a.contentType.startsWith('image/') ? html`<img class="preview" src=${a.url} alt=${`Preview of ${a.filename}`} loading="lazy" />` : null}
          <a href=${a.url} download=${a.filename}>Download ${a.filename}</a>
          <span class="muted"> · ${size(a.sizeBytes)}</span>
        </li>`,
      )}
    </ul>
  </section>`;
}

/**
 * The composer's file button: uploads each chosen file to the ticket through the API's
 * attachment route; a refused file (too large, a type not allowed) is named with the reason.
 * @param {{ base: string, onUploaded: () => void }} props
 */
export function AttachButton({ base, onUploaded }) {
  const input = useRef(/** @type {HTMLInputElement | null} */ (null));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [done, setDone] = useState('');

  /** @param {Event} e */
  const upload = async (e) => {
    const files = [
      .../** @type {FileList} */ (/** @type {HTMLInputElement} */ (e.currentTarget).files ?? []),
    ];
    if (!files.length) return;
    setBusy(true);
    setError('');
    setDone('');
    const failed = [];
    for (const f of files) {
      try {
        await uploadFile(`${base}/attachments`, f);
      } catch (err) {
        failed.push(`${f.name}: ${describeError(err)}`);
      }
    }
    setBusy(false);
    if (input.current) input.current.value = '';
    if (failed.length) setError(failed.join(' '));
    const ok = files.length - failed.length;
    if (ok) {
      setDone(`${ok} file${ok === 1 ? '' : 's'} attached.`);
      onUploaded();
    }
  };

  return html`<div class="attach">
    <label for="attach-file" class="button-like">Attach files</label>
    <input id="attach-file" ref=${input} type="file" multiple class="file-input" disabled=${busy} onChange=${upload}
      aria-describedby=${error ? 'err-attach' : undefined} />
    ${busy ? html`<span role="status">Uploading…</span>` : null}
    ${done ? html`<span role="status" class="muted">${done}</span>` : null}
    ${error ? html`<p class="error" id="err-attach" role="alert">${error}</p>` : null}
  </div>`;
}
