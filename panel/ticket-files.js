// @ts-check
import { useRef, useState } from 'preact/hooks';
import { describeError, uploadFile } from './api.js';
import { html } from './html.js';

/**
 * @typedef {{ id: string, filename: string, contentType: string, sizeBytes: number, url: string }} FileLink
 * @typedef {FileLink & { createdAt: string }} Attachment
 */

/** "12 KB", "3.4 MB". @param {number} n */
const size = (n) =>
  n < 1024 ? `${n} B` : n < 1048576 ? `${Math.round(n / 1024)} KB` : `${(n / 1048576).toFixed(1)} MB`;

/**
 * Where the panel's CSP lets an image load from (`img-src 'self' ... https://cdn.discordapp.com`):
 * a link elsewhere (a Discord file not copied yet, behind a proxy) would be refused by the
 * browser, so it gets the download link only.
 * @param {string} url
 */
function previewable(url) {
  try {
    const u = new URL(url, location.href);
    return u.origin === location.origin || u.origin === 'https://cdn.discordapp.com';
  } catch {
    return false;
  }
}

/**
 * Files as a list: an image also shown as a small preview, every file downloadable through the
 * short-lived signed link the API gives with it (fresh on every load).
 * @param {{ files: FileLink[], label?: string, alt?: (f: FileLink) => string }} props
 */
export function FileList({ files, label, alt = (f) => f.filename }) {
  if (!files.length) return null;
  return html`<ul class="file-list" aria-label=${label}>
    ${files.map(
      (a) => html`<li key=${a.id}>
        ${a.contentType.startsWith('image/') && previewable(a.url) ? html`<img class="preview" src=${a.url} alt=${alt(a)} loading="lazy" />` : null}
        <a href=${a.url} download=${a.filename}>Download ${a.filename}</a>
        <span class="muted"> · ${size(a.sizeBytes)}</span>
      </li>`,
    )}
  </ul>`;
}

/**
 * A ticket's files under their own heading.
 * @param {{ attachments: Attachment[] }} props
 */
export function Attachments({ attachments }) {
  if (!attachments.length) return null;
  return html`<section class="files" aria-labelledby="files-title">
    <h2 id="files-title">Attachments (${attachments.length})</h2>
    <${FileList} files=${attachments} alt=${(/** @type {FileLink} */ f) => `Preview of ${f.filename}`} />
  </section>`;
}

/**
 * The composer's file button: uploads each chosen file to the ticket through the API's
 * attachment route; a refused file (too large, a type not allowed) is named with the reason.
 * `onUploaded` gets the files stored: in the reply tab they wait to go with the reply (the API
 * takes their ids), in the note tab they stay on the ticket for staff. `room` is how many more
 * files may be chosen (a reply carries at most 10).
 * @param {{ base: string, onUploaded: (files: Attachment[]) => void, room?: number, note?: string }} props
 */
export function AttachButton({ base, onUploaded, room = Number.POSITIVE_INFINITY, note = 'attached' }) {
  const input = useRef(/** @type {HTMLInputElement | null} */ (null));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [done, setDone] = useState('');

  /** @param {Event} e */
  const upload = async (e) => {
    const chosen = [
      .../** @type {FileList} */ (/** @type {HTMLInputElement} */ (e.currentTarget).files ?? []),
    ];
    if (!chosen.length) return;
    const files = chosen.slice(0, Math.max(room, 0));
    setBusy(true);
    setError('');
    setDone('');
    const failed = chosen.slice(files.length).map((f) => `${f.name}: a reply carries at most 10 files.`);
    /** @type {Attachment[]} */
    const stored = [];
    for (const f of files) {
      try {
        stored.push(/** @type {Attachment} */ (await uploadFile(`${base}/attachments`, f)));
      } catch (err) {
        failed.push(`${f.name}: ${describeError(err)}`);
      }
    }
    setBusy(false);
    if (input.current) input.current.value = '';
    if (failed.length) setError(failed.join(' '));
    if (stored.length) {
      setDone(`${stored.length} file${stored.length === 1 ? '' : 's'} ${note}.`);
      onUploaded(stored);
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

/**
 * The files waiting to go with the reply, each removable before sending (a removed one stays
 * on the ticket for staff only).
 * @param {{ files: FileLink[], onRemove: (id: string) => void }} props
 */
export function PendingFiles({ files, onRemove }) {
  if (!files.length) return null;
  return html`<ul class="file-list pending-files" aria-label="Files sent with this reply">
    ${files.map(
      (f) => html`<li key=${f.id}>
        ${f.filename} <span class="muted"> · ${size(f.sizeBytes)}</span>
        ${' '}<button type="button" class="link" aria-label=${`Remove ${f.filename} from the reply`} onClick=${() => onRemove(f.id)}>Remove</button>
      </li>`,
    )}
  </ul>`;
}
